// Colors for charts derived from the application palette, so every view follows the system's light or
// dark scheme (never hard-coded black on white). Series hues are fixed (a reader learns "orange = clip
// range") but their lightness is adapted to the background.
#pragma once

#include <QColor>
#include <QPalette>

namespace qs::ui {

enum class SeriesRole {
  Distribution,  // float histogram
  Grid,          // quantization levels
  Clip,          // clipping markers
  Isolated,      // isolated error
  Cumulative,    // cumulative error
  Weights,       // weight-related series
  Activations,   // activation-related series
  PlanA,
  PlanB,
  Highlight,  // the selection
};

bool isDark(const QPalette& p);
QColor seriesColor(SeriesRole role, const QPalette& p);

}  // namespace qs::ui
