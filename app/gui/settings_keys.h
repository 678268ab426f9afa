// QSettings keys of the application, in one place (each panel saves and restores its own).
#pragma once

#include <QString>

namespace qs::gui::keys {

inline const QString kGeometry = QStringLiteral("window/geometry");
inline const QString kWindowState = QStringLiteral("window/state");
inline const QString kRecentFiles = QStringLiteral("files/recent");  // QStringList, newest first
inline const QString kLastModelDir = QStringLiteral("files/lastModelDir");
inline const QString kLastDataDir = QStringLiteral("files/lastDataDir");
inline const QString kLastProjectDir = QStringLiteral("files/lastProjectDir");
inline const QString kLastPlanDir = QStringLiteral("files/lastPlanDir");
inline const QString kLanguage = QStringLiteral("ui/language");  // "" = system, "en", "zh_CN"
inline const QString kLogScale = QStringLiteral("ui/histogramLogScale");
inline const QString kCalibration = QStringLiteral("defaults/calibration");  // JSON of CalibSettings
inline const QString kEngineThreads = QStringLiteral("defaults/engineThreads");

inline constexpr int kMaxRecentFiles = 8;

}  // namespace qs::gui::keys
