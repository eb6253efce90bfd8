// ConfigForm: per-field validation with the reason next to the field, JSON round trips
// in the DistillConfig layout, unknown keys refused, variant parameter pages.
#include <QtTest/QtTest>

#include "test_registry.h"
#include "test_util.h"
#include "widgets/config_form.h"

#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QTableWidget>

using attnlab::ConfigForm;

class ConfigFormTest : public QObject {
  Q_OBJECT

 private:
  // The label showing `message` next to a field, if visible.
  static bool messageShown(const ConfigForm& form, const QString& message) {
    for (QLabel* l : form.findChildren<QLabel*>())
      if (l->text() == message && l->isVisibleTo(&form)) return true;
    return false;
  }

 private Q_SLOTS:
  void defaultsAreValidAndMatchDistillConfig() {
    ConfigForm form;
    QVERIFY2(form.validate(), qPrintable(form.errors().value(form.errors().firstKey())));
    const QJsonObject cfg = form.config();
    QCOMPARE(cfg, ConfigForm::defaults());
    QCOMPARE(cfg.size(), 24);  // every DistillConfig::to_json() key
    QCOMPARE(cfg.value("variant_spec").toObject(), QJsonObject());  // untouched: engine defaults
  }

  void rejectsInvalidValues_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("reason");
    QTest::newRow("lr negative") << "lr" << "-1" << "(0, 10)";
    QTest::newRow("lr text") << "lr" << "fast" << "number";
    QTest::newRow("batch zero") << "batch" << "0" << "≥ 1";
    QTest::newRow("seq_len not int") << "seq_len" << "12.5" << "integer";
    QTest::newRow("seq_len too short") << "seq_len" << "1" << "≥ 2";
    QTest::newRow("min_lr_ratio > 1") << "min_lr_ratio" << "1.5" << "≤ 1";
    QTest::newRow("layers syntax") << "layers" << "0,x" << "layer indices";
    QTest::newRow("layers reversed") << "layers" << "5-2" << "reversed";
    QTest::newRow("device") << "device" << "tpu" << "cpu or cuda";
    QTest::newRow("warmup > steps") << "warmup" << "500" << "exceeds";
    QTest::newRow("model folder") << "model" << "/nonexistent/model" << "not found";
  }
  void rejectsInvalidValues() {
    QFETCH(QString, key);
    QFETCH(QString, text);
    QFETCH(QString, reason);
    ConfigForm form;
    QSignalSpy validity(&form, &ConfigForm::validityChanged);
    form.setFieldText(key, text);
    QVERIFY(!form.validate());
    QVERIFY(!form.isValid());
    const QString msg = form.fieldError(key);
    QVERIFY2(msg.contains(reason), qPrintable(key + ": " + msg));
    QVERIFY2(messageShown(form, msg), "the reason is shown next to the field");
    QCOMPARE(validity.count(), 1);
    QCOMPARE(validity.at(0).at(0).toBool(), false);
    // Fixing the value clears the message.
    form.setFieldText(key, ConfigForm::defaults().value(key).isString()
                               ? ConfigForm::defaults().value(key).toString()
                               : QString::number(ConfigForm::defaults().value(key).toDouble()));
    QVERIFY(form.validate());
    QVERIFY(form.fieldError(key).isEmpty());
  }

  void typingIntoAFieldValidatesImmediately() {
    ConfigForm form;
    form.show();
    auto* lr = qobject_cast<QLineEdit*>(form.editor("lr"));
    QVERIFY(lr);
    lr->selectAll();
    QTest::keyClicks(lr, "12");
    QVERIFY(!form.isValid());
    QVERIFY(form.fieldError("lr").contains("(0, 10)"));
  }

  void externalValidatorMessageGoesToItsField() {
    ConfigForm form;
    form.setExternalValidator([](const QJsonObject& c) {
      return c.value("batch").toInteger() == 3 ? QStringLiteral("config field 'batch': odd batches are unlucky")
                                               : QString();
    });
    form.setFieldText("batch", "3");
    QVERIFY(!form.validate());
    QCOMPARE(form.fieldError("batch"), QStringLiteral("odd batches are unlucky"));
  }

  void roundTripsAConfiguration() {
    QJsonObject cfg = ConfigForm::defaults();
    cfg["variant"] = "performer";
    cfg["variant_spec"] = QJsonObject{{"features", 64}, {"redraw_every", 10}};
    cfg["layers"] = "0,2-3";
    cfg["lr"] = 0.005;
    cfg["steps"] = 1000;
    cfg["out"] = "/tmp/somewhere";
    ConfigForm form;
    QString err;
    QVERIFY2(form.setConfig(cfg, &err), qPrintable(err));
    QVERIFY(form.validate());
    QCOMPARE(form.config(), cfg);
    // The saved text parses back to the same object (and keeps doubles as doubles).
    const QByteArray text = ConfigForm::toJsonText(form.config());
    QVERIFY(text.contains("\"lr\": 0.005"));
    QVERIFY(text.contains("\"weight_decay\": 0.0"));
    QVERIFY(text.contains("\"steps\": 1000,"));
    QCOMPARE(QJsonDocument::fromJson(text).object(), cfg);
  }

  void maskMixCandidatesChecklist() {
    ConfigForm form;
    QCOMPARE(form.maskMixCandidates().join(','), QStringLiteral("local:5,local:10,local:32,sink:4,stride:8,self"));
    QJsonObject cfg = ConfigForm::defaults();
    cfg["variant_spec"] = QJsonObject{{"candidates", "self,local:20,sink:2"}, {"per_head", true}};
    QVERIFY(form.setConfig(cfg));
    QCOMPARE(form.maskMixCandidates(), (QStringList{"self", "local:20", "sink:2"}));
    QCOMPARE(form.config().value("variant_spec").toObject(), cfg.value("variant_spec").toObject());
    // Unchecking every candidate is refused with a reason.
    auto* table = qobject_cast<QTableWidget*>(form.editor("candidates"));
    QVERIFY(table);
    for (int r = 0; r < table->rowCount(); ++r) table->item(r, 0)->setCheckState(Qt::Unchecked);
    QVERIFY(!form.validate());
    QVERIFY(form.fieldError("candidates").contains("at least one"));
  }

  void unknownKeysAreRefused() {
    ConfigForm form;
    const QJsonObject before = form.config();
    QString err;
    QVERIFY(!form.setConfig(QJsonObject{{"bogus", 1}}, &err));
    QVERIFY(err.contains("bogus"));
    QCOMPARE(form.config(), before);
    QVERIFY(!form.setConfig(QJsonObject{{"steps", "many"}}, &err));
    QVERIFY(err.contains("steps"));
  }

  void unknownSpecKeysSurviveAsJson() {
    QJsonObject cfg = ConfigForm::defaults();
    cfg["variant"] = "nsa";
    cfg["variant_spec"] = QJsonObject{{"block", 16}, {"future_key", true}};
    ConfigForm form;
    QVERIFY(form.setConfig(cfg));
    QCOMPARE(form.config().value("variant_spec").toObject(), cfg.value("variant_spec").toObject());
  }

  void saveAndLoadFile() {
    const auto dir = attnlab::testing::temp_dir("form");
    const QString path = QString::fromStdString((dir / "cfg.json").string());
    ConfigForm a;
    a.setFieldText("steps", "77");
    a.setFieldText("window.window", "16");
    QString err;
    QVERIFY(a.saveFile(path, &err));
    ConfigForm b;
    QVERIFY2(b.loadFile(path, &err), qPrintable(err));
    QCOMPARE(b.config(), a.config());
    QCOMPARE(b.config().value("steps").toInteger(), 77);
  }
};

ATTNLAB_TEST(ConfigFormTest, "config_form")
#include "test_config_form.moc"
