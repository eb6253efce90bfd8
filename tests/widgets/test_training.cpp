// End to end with the engine and a tiny random GPT-2: the controller runs a distillation on
// its worker thread, metrics reach the plots, pause/stop act between steps, closing the
// window mid-run leaves a resumable checkpoint, a run directory replays into the same
// curves, the inspector fills the attention heatmap and the prompt panel, and screenshot
// mode writes images. The form's JSON is byte-identical to DistillConfig::to_json().
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "test_registry.h"
#include "test_util.h"

#include "common/fs.h"
#include "model/gpt2.h"
#include "train/distill.h"

#include <QDir>
#include <QImage>
#include <QStandardPaths>

#include "gui/attention_tab.h"
#include "gui/inspector.h"
#include "gui/main_window.h"
#include "gui/screenshot.h"
#include "gui/training_controller.h"
#include "widgets/attention_heatmap.h"
#include "widgets/coefficient_grid.h"
#include "widgets/config_form.h"
#include "widgets/loss_plot.h"
#include "widgets/metrics_plots.h"
#include "widgets/prompt_panel.h"
#include "widgets/run_reader.h"

using namespace attnlab;

namespace {
constexpr int kRunTimeoutMs = 180000;  // a tiny run takes seconds; the first tokenisation more
}

class TrainingTest : public QObject {
  Q_OBJECT

 private:
  QString root_, model_, finishedRun_;

  QJsonObject config(qint64 steps, const QString& out) const {
    QJsonObject c = ConfigForm::defaults();
    c["model"] = model_;
    c["steps"] = steps;
    c["seq_len"] = 32;
    c["batch"] = 2;
    c["warmup"] = 1;
    c["eval_every"] = 2;
    c["eval_batches"] = 1;
    c["checkpoint_every"] = 0;
    c["threads"] = 2;
    c["out"] = out;
    return c;
  }
  static bool hasEvent(const QSignalSpy& spy, const QString& kind, qint64* step = nullptr) {
    for (const auto& args : spy) {
      const auto e = args.at(0).value<RunEvent>();
      if (e.kind == kind) {
        if (step) *step = e.step;
        return true;
      }
    }
    return false;
  }
  static qint64 lastTrainStep(const QSignalSpy& spy) {
    return spy.isEmpty() ? 0 : spy.last().at(0).value<TrainPoint>().step;
  }

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    root_ = QString::fromStdString(attnlab::testing::temp_dir("gui-training").string());
    TrainingController::setRunsRoot(root_ + "/runs");
    Gpt2Config cfg;  // GPT-2's vocabulary (the bundled tokenizer), everything else tiny
    cfg.n_positions = 64;
    cfg.n_embd = 32;
    cfg.n_layer = 2;
    cfg.n_head = 2;
    const auto dir = std::filesystem::path(root_.toStdString()) / "tiny-model";
    save_gpt2(random_gpt2(cfg, 7), dir, torch::kFloat32, resources_dir() / "tokenizer");
    model_ = QString::fromStdString(dir.string());
  }

  void formJsonIsDistillConfigJson() {
    QCOMPARE(ConfigForm::defaults(), TrainingController::defaultConfig());
    QCOMPARE(ConfigForm::toJsonText(ConfigForm::defaults()).toStdString(), DistillConfig{}.to_json().dump(2));
    ConfigForm form;
    form.setExternalValidator(&TrainingController::validateConfig);
    QJsonObject c = config(5, root_ + "/x");
    c["variant_spec"] = QJsonObject{{"candidates", "local:4,self"}, {"init_weight", 2.0}};
    QVERIFY(form.setConfig(c));
    QVERIFY2(form.validate(), qPrintable(form.errors().value(form.errors().firstKey())));
    const QByteArray text = ConfigForm::toJsonText(form.config());
    const auto cfg = DistillConfig::from_json(nlohmann::json::parse(text.toStdString()), "form");
    QCOMPARE(QByteArray::fromStdString(cfg.to_json().dump(2)), text);
    // The engine's own checks surface in the form, next to the field they name.
    QVERIFY(!TrainingController::validateConfig(QJsonObject{{"schedule", "zigzag"}}).isEmpty());
  }

  void tinyRunReachesThePlots() {
    MainWindow w(false);
    const QString out = root_ + "/run-a";
    QVERIFY(w.configForm()->setConfig(config(5, out)));
    QSignalSpy finished(w.controller(), &TrainingController::runFinished);
    QSignalSpy points(w.controller(), &TrainingController::trainPoint);
    QString err;
    QVERIFY2(w.startRun(&err), qPrintable(err));
    QVERIFY(w.controller()->isActive());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QCOMPARE(finished.at(0).at(0).toString(), QStringLiteral("finished"));
    QCOMPARE(points.count(), 5);
    w.flushPlots();
    QCOMPARE(w.lossPlot()->trainCurve(0).size(), 5);
    QCOMPARE(w.lossPlot()->trainCurve(0).last().x(), 5.0);
    QVERIFY(w.lossPlot()->validCurve(0).size() >= 2);  // steps 2, 4 and the final one
    QCOMPARE(w.metricsPlots()->series(0, "lr").size(), 5);
    QVERIFY(!w.metricsPlots()->series(0, "ppl_custom").isEmpty());
    QCOMPARE(w.coefficientGrid()->layerCount(), 2);  // mask-mix weights of both layers
    QTRY_VERIFY(w.statusText().contains("step 5 / 5"));
    QVERIFY(QFileInfo::exists(out + "/checkpoints/latest.json"));
    finishedRun_ = out;
  }

  void runDirectoryReplaysIntoTheSameCurves() {
    if (finishedRun_.isEmpty()) QSKIP("needs tinyRunReachesThePlots");
    // Live curves: feed the points exactly as the controller delivers them.
    const RunRecord rec = loadRun(finishedRun_);
    LossPlot live;
    live.addRun("live");
    for (const TrainPoint& p : rec.train) live.appendTrain(0, {p});
    for (const ValidPoint& p : rec.valid) live.appendValid(0, {p});
    live.flush();
    MainWindow w(false);
    QString err;
    QVERIFY2(w.openRun(finishedRun_, &err), qPrintable(err));
    QCOMPARE(w.lossPlot()->trainCurve(0), live.trainCurve(0));
    QCOMPARE(w.lossPlot()->smoothedCurve(0), live.smoothedCurve(0));
    QCOMPARE(w.lossPlot()->validCurve(0), live.validCurve(0));
    QCOMPARE(w.configForm()->config().value("steps").toInteger(), 5);
  }

  void pauseAndStopActBetweenSteps() {
    TrainingController c;
    QSignalSpy points(&c, &TrainingController::trainPoint);
    QSignalSpy events(&c, &TrainingController::runEvent);
    QSignalSpy finished(&c, &TrainingController::runFinished);
    QString err;
    QVERIFY2(c.start(config(100000, root_ + "/run-b"), &err), qPrintable(err));
    QTRY_VERIFY_WITH_TIMEOUT(points.count() >= 2, kRunTimeoutMs);

    c.pause();
    QCOMPARE(c.state(), TrainingController::State::Paused);
    qint64 pausedAt = -1;
    QTRY_VERIFY_WITH_TIMEOUT(hasEvent(events, "paused", &pausedAt), 60000);
    QCOMPARE(lastTrainStep(points), pausedAt);  // no step after the pause took effect
    const int before = points.count();

    c.unpause();
    QTRY_VERIFY_WITH_TIMEOUT(points.count() > before, 60000);
    QCOMPARE(points.at(before).at(0).value<TrainPoint>().step, pausedAt + 1);

    QCoreApplication::processEvents();  // deliver the points already queued
    const int atStop = points.count();
    c.stop();
    QCOMPARE(c.state(), TrainingController::State::Stopping);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    QCOMPARE(finished.at(0).at(0).toString(), QStringLiteral("stopped"));
    QVERIFY2(points.count() - atStop <= 1, "stop takes effect within one step");
    QVERIFY(!c.isActive());
    QVERIFY(QFileInfo::exists(root_ + "/run-b/checkpoints/latest.json"));
  }

  void closingDuringARunLeavesAResumableCheckpoint() {
    const QString out = root_ + "/run-c";
    qint64 stoppedAt = 0;
    {
      MainWindow w(false);
      QVERIFY(w.configForm()->setConfig(config(100000, out)));
      w.show();
      QSignalSpy points(w.controller(), &TrainingController::trainPoint);
      QVERIFY(w.startRun());
      QTRY_VERIFY_WITH_TIMEOUT(points.count() >= 2, kRunTimeoutMs);
      QVERIFY(!w.close());  // refused for now: the run stops first
      QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->isActive(), 60000);
      QTRY_VERIFY(!w.isVisible());  // closed once the worker returned
      QCOMPARE(w.controller()->lastStatus(), QStringLiteral("stopped"));
      stoppedAt = lastTrainStep(points);
    }
    QFile latest(out + "/checkpoints/latest.json");
    QVERIFY(latest.open(QIODevice::ReadOnly));
    QCOMPARE(QJsonDocument::fromJson(latest.readAll()).object().value("step").toInteger(), stoppedAt);

    TrainingController c;
    QSignalSpy started(&c, &TrainingController::runStarted);
    QSignalSpy finished(&c, &TrainingController::runFinished);
    QString err;
    QVERIFY2(c.resume(out, stoppedAt + 2, &err), qPrintable(err));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kRunTimeoutMs);
    QCOMPARE(finished.at(0).at(0).toString(), QStringLiteral("finished"));
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).value<RunStartInfo>().startStep, stoppedAt);
    QCOMPARE(loadRun(out).train.last().step, stoppedAt + 2);
  }

  void inspectorFillsHeatmapAndPromptPanel() {
    if (finishedRun_.isEmpty()) QSKIP("needs tinyRunReachesThePlots");
    MainWindow w(false);
    QSignalSpy loaded(w.inspector(), &Inspector::modelLoaded);
    QSignalSpy tokens(w.inspector(), &Inspector::tokensReady);
    QSignalSpy overview(w.inspector(), &Inspector::overviewReady);
    QVERIFY(w.openRun(finishedRun_));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
    w.attentionTab()->compute();
    QTRY_VERIFY_WITH_TIMEOUT(w.attentionTab()->hasMaps(), 60000);
    QCOMPARE(tokens.count(), 1);
    // The overview fills in one layer at a time (2 layers: two deliveries), after the maps of
    // the selected layer; then every thumbnail is there.
    QTRY_VERIFY_WITH_TIMEOUT(!w.inspector()->busy(), 60000);
    QCOMPARE(overview.count(), 2);
    const auto first = overview.at(0).at(0).value<OverviewPair>();
    const auto full = overview.at(1).at(0).value<OverviewPair>();
    QCOMPARE(first.ref.maps.size(), 2 * first.ref.heads);
    QVERIFY(!first.ref.maps.first().isEmpty() && first.ref.maps.last().isEmpty());
    for (const auto& m : full.custom.maps) QCOMPARE(m.size(), full.custom.size * full.custom.size);
    w.attentionTab()->setLayerHead(1, 0);  // from the cached hidden states
    QTRY_COMPARE_WITH_TIMEOUT(w.attentionTab()->shownLayer(), 1, 60000);
    const QStringList labels = tokens.at(0).at(1).toStringList();
    const int T = labels.size();
    QCOMPARE(T, 32);
    QCOMPARE(w.attentionTab()->referenceMap()->cellCount(), T * T);
    QCOMPARE(w.attentionTab()->customMap()->cellCount(), T * T);
    const auto ticks = w.attentionTab()->referenceMap()->xTickLabels();
    QCOMPARE(ticks.size(), T);
    for (int i = 0; i < T; ++i) QCOMPARE(ticks.value(i), labels[i]);

    PromptPanel* p = w.promptPanel();
    p->setPrompt("The history of");
    p->requestGenerate();
    QVERIFY(p->busy());
    QTRY_VERIFY_WITH_TIMEOUT(!p->busy(), 60000);
    QVERIFY(!p->completion().refTokens.isEmpty());
    QVERIFY(!p->completion().customTokens.isEmpty());
    QCOMPARE(p->completion().customTokenKl.size(), p->completion().customTokens.size());
    QVERIFY(p->referenceText().startsWith("The history of"));
    QVERIFY(p->customText().startsWith("The history of"));
  }

  void screenshotModeWritesImages() {
    if (finishedRun_.isEmpty()) QSKIP("needs tinyRunReachesThePlots");
    MainWindow w(false);
    ScreenshotOptions opt;
    opt.file = root_ + "/shots/attnlab.png";
    opt.runDir = finishedRun_;
    opt.width = 1000;
    opt.height = 700;
    QString err;
    const QStringList files = takeScreenshots(w, opt, &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    QCOMPARE(files.size(), MainWindow::TabCount + 1);
    QVERIFY(files.contains(opt.file));
    QVERIFY(files.contains(root_ + "/shots/attnlab-attention.png"));
    for (const QString& f : files) {
      const QImage img(f);
      QVERIFY2(!img.isNull() && img.width() >= 1000 && QFileInfo(f).size() > 5000, qPrintable(f));
    }
  }
};

ATTNLAB_TEST(TrainingTest, "training")
#include "test_training.moc"
