// Text for numbers, shapes and sizes as the views show them, and conversions between the engine's
// std::string and Qt's QString (UTF-8 both ways: ONNX names are UTF-8).
#pragma once

#include <QString>
#include <cstdint>
#include <optional>
#include <string>

#include "core/tensor/shape.h"

namespace qs::ui {

inline QString qstr(const std::string& s) { return QString::fromStdString(s); }
inline std::string sstr(const QString& s) { return s.toStdString(); }

// "[16, 8, 3, 3]" (or "16×8×3×3" with `compact`).
QString formatShape(const Shape& s, bool compact = false);
// 44,114 with the locale's group separator.
QString formatCount(int64_t n);
// 1.2 M, 3.4 G (MACs and parameter counts in the table's tooltips and summaries).
QString formatSi(double v);
// "176.5 KiB"
QString formatBytes(double bytes);
// "38.2 dB", "∞" for +inf (no error at all), "–" for NaN (not measured).
QString formatDb(double db);
// A float range "[-1.23, 4.56]".
QString formatRange(double lo, double hi);
// 97.80 %
QString formatPercent(double fraction, int decimals = 2);
// "12 s", "3 min 20 s" for ETAs.
QString formatDuration(double seconds);

}  // namespace qs::ui
