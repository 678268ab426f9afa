// translations/quantscope_zh_CN.ts is complete: every message translated (plural forms too), no string in
// the sources missing from it (lupdate run on the sources finds nothing new), and the compiled .qm in the
// application's resources translates the window's strings.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <QTranslator>
#include <QXmlStreamReader>

namespace {

struct TsStats {
  int messages = 0;
  int unfinished = 0;
  int empty = 0;
  int obsolete = 0;
  QStringList missing;  // sources of unfinished or empty messages
};

TsStats readTs(const QString& path) {
  TsStats s;
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return s;
  QXmlStreamReader x(&f);
  QString source;
  while (!x.atEnd()) {
    x.readNext();
    if (!x.isStartElement()) continue;
    if (x.name() == QLatin1String("message")) ++s.messages;
    if (x.name() == QLatin1String("source")) source = x.readElementText();
    if (x.name() == QLatin1String("translation")) {
      const QString type = x.attributes().value(QLatin1String("type")).toString();
      if (type == QLatin1String("obsolete") || type == QLatin1String("vanished")) ++s.obsolete;
      const bool unfinished = type == QLatin1String("unfinished");
      // Plural messages hold <numerusform> children; others the text itself.
      QString text;
      bool any_form_empty = false;
      while (!(x.isEndElement() && x.name() == QLatin1String("translation")) && !x.atEnd()) {
        x.readNext();
        if (x.isCharacters()) text += x.text();
        if (x.isStartElement() && x.name() == QLatin1String("numerusform")) {
          const QString form = x.readElementText();
          any_form_empty = any_form_empty || form.trimmed().isEmpty();
          text += form;
        }
      }
      if (unfinished) ++s.unfinished;
      if (text.trimmed().isEmpty() || any_form_empty) ++s.empty;
      if (unfinished || text.trimmed().isEmpty() || any_form_empty) s.missing << source;
    }
  }
  return s;
}

const QString kTs = QStringLiteral(QS_SOURCE_DIR "/translations/quantscope_zh_CN.ts");

}  // namespace

class TestTranslations : public QObject {
  Q_OBJECT

 private slots:
  void committedTsIsComplete() {
    const TsStats s = readTs(kTs);
    QVERIFY(s.messages > 100);
    QVERIFY2(s.missing.isEmpty(),
             qPrintable(QStringLiteral("untranslated: ") + s.missing.mid(0, 10).join(QStringLiteral(" | "))));
    QCOMPARE(s.obsolete, 0);
  }

  // lupdate over the sources adds every tr() string not yet in the file as unfinished: there must be none.
  void sourcesHaveNoNewStrings() {
    QTemporaryDir dir;
    const QString copy = dir.filePath(QStringLiteral("check.ts"));
    QVERIFY(QFile::copy(kTs, copy));
    QFile::setPermissions(copy, QFile::ReadOwner | QFile::WriteOwner);
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(QStringLiteral(QS_LUPDATE),
            {QStringLiteral("-I"), QStringLiteral(QS_SOURCE_DIR), QStringLiteral("-no-obsolete"),
             QStringLiteral("-locations"), QStringLiteral("none"), QStringLiteral(QS_SOURCE_DIR "/app/gui"),
             QStringLiteral(QS_SOURCE_DIR "/widgets"), QStringLiteral("-ts"), copy});
    QVERIFY(p.waitForFinished(120000));
    QCOMPARE(p.exitCode(), 0);
    const TsStats s = readTs(copy);
    QVERIFY2(s.missing.isEmpty(), qPrintable(QStringLiteral("strings without a translation: ") +
                                             s.missing.mid(0, 10).join(QStringLiteral(" | "))));
    QCOMPARE(s.messages, readTs(kTs).messages);
  }

  void compiledTranslationIsInTheApplication() {
    QTranslator t;
    QVERIFY(t.load(QStringLiteral(":/i18n/quantscope_zh_CN.qm")));
    const QString file = t.translate("qs::gui::MainWindow", "&File");
    QVERIFY(!file.isEmpty());
    QVERIFY(file != QLatin1String("&File"));
    // Plural forms resolve (Chinese has one form).
    const QString n = t.translate("qs::ui::PlanDocument", "%n tensors → %1", nullptr, 3);
    QVERIFY(!n.isEmpty());
    QVERIFY(!t.translate("qs::ui::LayerTableModel", "W bits").isEmpty());
  }
};

QTEST_MAIN(TestTranslations)
#include "tst_translations.moc"
