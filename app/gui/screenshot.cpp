#include "gui/screenshot.h"

#include <time.h>

#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QPixmap>
#include <QTabWidget>
#include <QTextStream>
#include <QTimer>
#include <algorithm>
#include <functional>

#include "gui/attention_tab.h"
#include "gui/inspector.h"
#include "gui/main_window.h"
#include "gui/training_controller.h"
#include "widgets/config_form.h"
#include "widgets/prompt_panel.h"

namespace attnlab {

bool waitUntil(const std::function<bool()>& pred, int timeoutMs, int tickMs) {
  QElapsedTimer t;
  t.start();
  while (!pred()) {
    if (t.elapsed() > timeoutMs) return false;
    QEventLoop loop;
    QTimer::singleShot(tickMs, &loop, &QEventLoop::quit);
    loop.exec();
  }
  return true;
}

QStringList takeScreenshots(MainWindow& w, const ScreenshotOptions& opt, QString* error) {
  QStringList written;
  auto fail = [&](const QString& msg) {
    if (error && error->isEmpty()) *error = msg;
  };
  w.resize(opt.width, opt.height);
  w.show();

  bool loaded = false, loadFailed = false;
  QString loadError;
  QObject::connect(w.inspector(), &Inspector::modelLoaded, &w, [&] { loaded = true; });
  QObject::connect(w.inspector(), &Inspector::failed, &w, [&](const QString& what, const QString& msg) {
    if (what == QLatin1String("load")) {
      loadFailed = true;
      loadError = msg;
    }
  });

  QString runDir = opt.runDir;
  if (runDir.isEmpty() && opt.steps > 0) {
    ConfigForm* form = w.configForm();
    QString err;
    if (!opt.configFile.isEmpty() && !form->loadFile(opt.configFile, &err)) {
      fail(err);
      return written;
    }
    QJsonObject cfg = form->config();
    cfg["steps"] = opt.steps;
    // Show a few validation points and a checkpoint even for a short run.
    const qint64 every = std::max<qint64>(1, opt.steps / 4);
    if (cfg.value("eval_every").toInteger() > opt.steps || cfg.value("eval_every").toInteger() == 0) cfg["eval_every"] = every;
    if (cfg.value("warmup").toInteger() > opt.steps) cfg["warmup"] = std::max<qint64>(0, opt.steps / 10);
    if (!form->setConfig(cfg, &err)) {
      fail(err);
      return written;
    }
    w.tabs()->setCurrentIndex(MainWindow::TrainingTab);
    // Throughput with the live window (compare with `attnlab --headless`: the GUI's cost).
    ThroughputMean rate;
    // CPU time of this (GUI) thread and of the whole process over the run: the window's
    // share of the work, a direct bound on what it can take from training.
    auto cpuSeconds = [](clockid_t clock) {
      timespec ts{};
      clock_gettime(clock, &ts);
      return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
    };
    const double gui0 = cpuSeconds(CLOCK_THREAD_CPUTIME_ID), proc0 = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    auto rateConn = QObject::connect(w.controller(), &TrainingController::trainPoint, &w,
                                     [&](const TrainPoint& p) { rate.add(p); });
    if (!w.startRun(&err)) {
      fail(QStringLiteral("cannot start the run: ") + err);
      return written;
    }
    if (!waitUntil([&] { return !w.controller()->isActive(); }, opt.timeoutMs)) {
      w.controller()->stop();
      w.controller()->waitForIdle();
      fail(QStringLiteral("the run did not finish in time"));
    }
    if (w.controller()->lastStatus().startsWith(QLatin1String("failed"))) fail(w.controller()->lastStatus());
    QObject::disconnect(rateConn);
    const double gui = cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - gui0, proc = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - proc0;
    QTextStream(stderr) << "live window run: " << rate.lastStep << " steps, mean tokens/s (steps > 2) "
                        << rate.mean() << "; GUI thread CPU " << gui << " s of the process's " << proc << " s ("
                        << (proc > 0 ? 100.0 * gui / proc : 0.0) << " %)\n";
    runDir = w.controller()->runDir();
  }
  if (!runDir.isEmpty()) {
    loaded = loadFailed = false;
    QString err;
    if (!w.openRun(runDir, &err)) fail(err);
  } else if (!opt.configFile.isEmpty()) {
    QString err;
    if (!w.configForm()->loadFile(opt.configFile, &err)) fail(err);
  }

  // Attention and prompt need a model pair: the run's, or one built from the form.
  if (!w.inspector()->hasModel() && runDir.isEmpty()) w.inspector()->loadConfig(w.configForm()->config());
  constexpr int kStageMs = 5 * 60 * 1000;
  if (waitUntil([&] { return loaded || loadFailed; }, kStageMs) && loaded) {
    w.tabs()->setCurrentIndex(MainWindow::AttentionTabIndex);
    w.attentionTab()->compute();
    if (!waitUntil([&] { return w.attentionTab()->hasMaps(); }, kStageMs)) fail(QStringLiteral("attention maps timed out"));
    w.attentionTab()->setLayerHead(std::max(0, w.inspector()->info().variantLayers.value(0, 0)), 0);
    PromptPanel* p = w.promptPanel();
    p->setPrompt(opt.prompt);
    p->requestGenerate();
    if (!waitUntil([&] { return !p->busy(); }, kStageMs)) fail(QStringLiteral("generation timed out"));
  } else {
    fail(QStringLiteral("no model pair to inspect: ") + loadError);
  }
  // Let the overview request land too.
  waitUntil([&] { return !w.inspector()->busy(); }, kStageMs);

  const QFileInfo fi(opt.file);
  QDir().mkpath(fi.absolutePath());
  const QString stem = QDir(fi.absolutePath()).filePath(fi.completeBaseName());
  const QString ext = fi.suffix().isEmpty() ? QStringLiteral("png") : fi.suffix();
  auto shoot = [&](const QString& path) {
    w.flushPlots();
    waitUntil([] { return false; }, 300);  // queued replots and layouts settle
    const QPixmap pm = w.grab();
    if (pm.isNull() || !pm.save(path)) fail(QStringLiteral("could not write ") + path);
    else written << path;
  };
  for (int t = 0; t < MainWindow::TabCount; ++t) {
    w.tabs()->setCurrentIndex(t);
    shoot(stem + QLatin1Char('-') + MainWindow::tabKey(static_cast<MainWindow::Tab>(t)) + QLatin1Char('.') + ext);
  }
  w.tabs()->setCurrentIndex(MainWindow::TrainingTab);
  shoot(fi.absoluteFilePath());
  return written;
}

}  // namespace attnlab
