#include "app/gui/language.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QLocale>
#include <QTranslator>

namespace qs::gui {

QStringList availableLanguages() { return {QStringLiteral("en"), QStringLiteral("zh_CN")}; }

QString languageName(const QString& code) {
  if (code == QLatin1String("zh_CN")) return QStringLiteral("简体中文");
  return QStringLiteral("English");
}

QString installLanguage(QCoreApplication* app, const QString& code_in) {
  QString code = code_in;
  if (code.isEmpty()) {
    // The system's first UI language that has a translation.
    code = QStringLiteral("en");
    for (const QString& l : QLocale::system().uiLanguages()) {
      const QString n = QString(l).replace(QLatin1Char('-'), QLatin1Char('_'));
      if (n.startsWith(QLatin1String("zh"))) {
        code = QStringLiteral("zh_CN");
        break;
      }
      if (n.startsWith(QLatin1String("en"))) break;
    }
  }
  if (code == QLatin1String("en")) return code;
  auto* ours = new QTranslator(app);
  if (!ours->load(QStringLiteral(":/i18n/quantscope_") + code + QStringLiteral(".qm"))) {
    delete ours;
    return QStringLiteral("en");
  }
  app->installTranslator(ours);
  // Qt's own strings (standard buttons, file dialogs) when Qt's translations are installed.
  auto* qt = new QTranslator(app);
  if (qt->load(QStringLiteral("qtbase_") + code, QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
    app->installTranslator(qt);
  else
    delete qt;
  QLocale::setDefault(QLocale(code));
  return code;
}

}  // namespace qs::gui
