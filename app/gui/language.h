// User interface language: English (the source strings) or a translation compiled from translations/*.ts
// into the executable (":/i18n/quantscope_<lang>.qm"). Chosen in Settings ▸ Language (kept in QSettings,
// applied at the next start) or with --lang.
#pragma once

#include <QString>
#include <QStringList>

class QCoreApplication;

namespace qs::gui {

// Language codes with a translation, "en" first.
QStringList availableLanguages();
// The native name of a language ("English", "简体中文").
QString languageName(const QString& code);
// Installs the translators for `code` ("" = the system's language, "en" = none). Returns the code used.
QString installLanguage(QCoreApplication* app, const QString& code);

}  // namespace qs::gui
