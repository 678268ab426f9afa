#include "widgets/common/palette.h"

namespace qs::ui {

bool isDark(const QPalette& p) { return p.color(QPalette::Window).lightnessF() < 0.5; }

QColor seriesColor(SeriesRole role, const QPalette& p) {
  const bool dark = isDark(p);
  // Hues from the Okabe–Ito palette (distinguishable with the common color-vision deficiencies).
  auto pick = [dark](QColor light, QColor darkBg) { return dark ? darkBg : light; };
  switch (role) {
    case SeriesRole::Distribution:
      return pick(QColor(0, 114, 178), QColor(86, 180, 233));
    case SeriesRole::Grid:
      return pick(QColor(90, 90, 90), QColor(190, 190, 190));
    case SeriesRole::Clip:
      return pick(QColor(213, 94, 0), QColor(240, 150, 60));
    case SeriesRole::Isolated:
      return pick(QColor(0, 158, 115), QColor(60, 200, 160));
    case SeriesRole::Cumulative:
      return pick(QColor(204, 121, 167), QColor(230, 160, 200));
    case SeriesRole::Weights:
      return pick(QColor(0, 114, 178), QColor(86, 180, 233));
    case SeriesRole::Activations:
      return pick(QColor(230, 159, 0), QColor(240, 190, 70));
    case SeriesRole::PlanA:
      return pick(QColor(0, 114, 178), QColor(86, 180, 233));
    case SeriesRole::PlanB:
      return pick(QColor(213, 94, 0), QColor(240, 150, 60));
    case SeriesRole::Highlight:
      return p.color(QPalette::Highlight);
  }
  return p.color(QPalette::Text);
}

}  // namespace qs::ui
