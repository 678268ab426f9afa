#include "app/gui/icons.h"

#include <QApplication>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace qs::gui {

QIcon themedIcon(const char* theme_name, QStyle::StandardPixmap fallback) {
  return QIcon::fromTheme(QLatin1String(theme_name), QApplication::style()->standardIcon(fallback));
}

QIcon appIcon() {
  // A histogram with a quantization staircase over it: what the application is about.
  QIcon icon;
  for (int size : {16, 24, 32, 48, 64, 128, 256}) {
    QPixmap pm(size, size);
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    p.setRenderHint(QPainter::Antialiasing);
    const double s = size / 16.0;
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(0, 114, 178));
    p.drawRoundedRect(QRectF(0.5 * s, 0.5 * s, 15 * s, 15 * s), 3 * s, 3 * s);
    p.setBrush(QColor(255, 255, 255, 200));
    const double bars[] = {2, 5, 9, 12, 8, 4, 2};
    for (int i = 0; i < 7; ++i)
      p.drawRect(QRectF((2 + 1.7 * i) * s, (14 - bars[i]) * s, 1.4 * s, bars[i] * s));
    QPainterPath stairs;
    stairs.moveTo(2 * s, 12 * s);
    for (int i = 0; i < 4; ++i) {
      stairs.lineTo((2 + 3 * (i + 1)) * s, (12 - 2.5 * i) * s);
      stairs.lineTo((2 + 3 * (i + 1)) * s, (12 - 2.5 * (i + 1)) * s);
    }
    p.setPen(QPen(QColor(240, 150, 60), 1.2 * s));
    p.setBrush(Qt::NoBrush);
    p.drawPath(stairs);
    p.end();
    icon.addPixmap(pm);
  }
  return icon;
}

}  // namespace qs::gui
