#include "widgets/common/format.h"

#include <QCoreApplication>
#include <QLocale>
#include <QStringList>
#include <cmath>

namespace qs::ui {

QString formatShape(const Shape& s, bool compact) {
  QStringList parts;
  for (int64_t d : s) parts << QString::number(d);
  if (compact) return parts.isEmpty() ? QStringLiteral("scalar") : parts.join(QChar(0x00D7));
  return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}

QString formatCount(int64_t n) { return QLocale().toString(static_cast<qlonglong>(n)); }

QString formatSi(double v) {
  const double a = std::abs(v);
  if (a >= 1e9) return QLocale().toString(v / 1e9, 'f', 2) + QStringLiteral(" G");
  if (a >= 1e6) return QLocale().toString(v / 1e6, 'f', 2) + QStringLiteral(" M");
  if (a >= 1e3) return QLocale().toString(v / 1e3, 'f', 1) + QStringLiteral(" k");
  return QLocale().toString(v, 'f', 0);
}

QString formatBytes(double bytes) {
  const double a = std::abs(bytes);
  if (a >= 1024.0 * 1024 * 1024) return QLocale().toString(bytes / (1024.0 * 1024 * 1024), 'f', 2) + " GiB";
  if (a >= 1024.0 * 1024) return QLocale().toString(bytes / (1024.0 * 1024), 'f', 2) + " MiB";
  if (a >= 1024.0) return QLocale().toString(bytes / 1024.0, 'f', 1) + " KiB";
  return QLocale().toString(bytes, 'f', 0) + " B";
}

QString formatDb(double db) {
  if (std::isnan(db)) return QStringLiteral("\u2013");
  if (std::isinf(db)) return db > 0 ? QStringLiteral("\u221E") : QStringLiteral("-\u221E");
  return QLocale().toString(db, 'f', 1) + QStringLiteral(" dB");
}

QString formatRange(double lo, double hi) {
  return QStringLiteral("[%1, %2]").arg(QLocale().toString(lo, 'g', 4), QLocale().toString(hi, 'g', 4));
}

QString formatPercent(double fraction, int decimals) {
  if (std::isnan(fraction)) return QStringLiteral("\u2013");
  return QLocale().toString(100.0 * fraction, 'f', decimals) + QStringLiteral(" %");
}

QString formatDuration(double seconds) {
  if (!(seconds >= 0) || std::isinf(seconds)) return QStringLiteral("\u2013");
  const auto s = static_cast<qint64>(std::llround(seconds));
  if (s < 60) return QCoreApplication::translate("qs::ui", "%1 s").arg(s);
  if (s < 3600) return QCoreApplication::translate("qs::ui", "%1 min %2 s").arg(s / 60).arg(s % 60);
  return QCoreApplication::translate("qs::ui", "%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

}  // namespace qs::ui
