// attnlab: the Qt GUI. Everything but argument handling lives in attnlab_app_core.
//   attnlab                                  interactive
//   attnlab --config run.json [--steps N]    preload a configuration
//   attnlab --run DIR                        open a run directory
//   attnlab --screenshot out.png --steps N [--config FILE] | --run DIR
//                                            run/open, fill every tab, save PNGs, exit
//   attnlab --headless --config FILE [--steps N]
//                                            the same controller and worker thread, no
//                                            window: the baseline for GUI-overhead checks
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QIcon>
#include <QJsonObject>
#include <QTextStream>
#include <cstdlib>
#include <cstring>
#include <functional>

#ifdef Q_OS_UNIX
#include <unistd.h>
#endif

#include "common/alloc.h"
#include "gui/attention_tab.h"
#include "gui/inspector.h"
#include "gui/main_window.h"
#include "gui/screenshot.h"
#include "gui/training_controller.h"
#include "widgets/config_form.h"

namespace {

bool waitFor(const std::function<bool()>& done, int timeoutMs) { return attnlab::waitUntil(done, timeoutMs, 5); }

/// attnlab --bench-attention T --config FILE: what a user waits for in the Attention tab.
int benchAttention(const QString& configFile, int T) {
  QTextStream out(stdout), err(stderr);
  if (T < 2) {
    err << "attnlab: --bench-attention needs T >= 2\n";
    return 2;
  }
  attnlab::MainWindow w(/*persistSettings=*/false);
  w.resize(1600, 1000);
  w.show();
  QString why;
  if (!configFile.isEmpty() && !w.configForm()->loadFile(configFile, &why)) {
    err << "attnlab: " << why << '\n';
    return 2;
  }
  bool loaded = false;
  QString failure;
  QObject::connect(w.inspector(), &attnlab::Inspector::modelLoaded, &w, [&] { loaded = true; });
  QObject::connect(w.inspector(), &attnlab::Inspector::failed, &w,
                   [&](const QString& what, const QString& msg) { failure = what + ": " + msg; });
  QElapsedTimer t;
  t.start();
  w.inspector()->loadConfig(w.configForm()->config());
  if (!waitFor([&] { return loaded || !failure.isEmpty(); }, 600000) || !loaded) {
    err << "attnlab: " << failure << '\n';
    return 1;
  }
  const qint64 loadMs = t.elapsed();
  auto* tab = w.attentionTab();
  w.tabs()->setCurrentIndex(attnlab::MainWindow::AttentionTabIndex);
  tab->setValidationInput(T);
  waitFor([] { return false; }, 200);
  t.restart();
  tab->compute();
  if (!waitFor([&] { return tab->hasMaps() || !failure.isEmpty(); }, 600000) || !tab->hasMaps()) {
    err << "attnlab: " << failure << '\n';
    return 1;
  }
  w.grab();  // paint everything now
  const qint64 firstMs = t.elapsed();
  t.restart();
  tab->setLayerHead(0, 1);
  w.grab();
  const qint64 headMs = t.elapsed();
  const int nLayer = w.inspector()->info().nLayer;
  const int other = nLayer > 1 ? 1 : 0;
  t.restart();
  tab->setLayerHead(other, 0);  // while the overview is still filling in
  waitFor([&] { return tab->shownLayer() == other || !failure.isEmpty(); }, 600000);
  w.grab();
  const qint64 layerMs = t.elapsed();
  waitFor([&] { return !w.inspector()->busy(); }, 600000);  // the rest of the overview
  const qint64 overviewMs = firstMs + headMs + t.elapsed();
  t.restart();
  tab->setLayerHead(nLayer - 1, 0);  // every layer's input is cached now: one block per model
  waitFor([&] { return tab->shownLayer() == nLayer - 1 || !failure.isEmpty(); }, 600000);
  w.grab();
  const qint64 cachedMs = t.elapsed();
  out << "attention view, T = " << T << " (" << nLayer << " layers x " << w.inspector()->info().nHead
      << " heads): model pair load " << loadMs << " ms; Compute -> maps shown " << firstMs << " ms; head switch "
      << headMs << " ms; layer switch during the overview " << layerMs << " ms; overview of all layers done after "
      << overviewMs << " ms; layer switch after it (cached inputs) " << cachedMs << " ms\n";
  return failure.isEmpty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef Q_OS_LINUX
  // libgomp reads OMP_WAIT_POLICY when it loads, before main(): re-exec once with it set
  // (spinning OpenMP threads otherwise fight OpenBLAS for the cores; see build notes).
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("ATTNLAB_NO_REEXEC")) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // falls through only if exec fails
  }
#endif
  attnlab::tune_allocator();  // large tensors reuse heap memory instead of mmap/munmap per step
  // Screenshots and headless runs need no display: fall back to the offscreen platform.
  bool noWindowNeeded = false;
  for (int i = 1; i < argc; ++i)
    for (const char* flag : {"--screenshot", "--headless", "--bench-attention", "--help", "-h", "--version", "-v"})
      noWindowNeeded |= !std::strcmp(argv[i], flag);
  if (noWindowNeeded && !std::getenv("QT_QPA_PLATFORM") && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY"))
    setenv("QT_QPA_PLATFORM", "offscreen", 1);
  QApplication app(argc, argv);
  // The icon lives in attnlab_app_core, a static library: its resource initialiser is only
  // linked in when referenced (without this the window had no icon: "Cannot open ':/attnlab.svg'").
  Q_INIT_RESOURCE(attnlab);
  QApplication::setOrganizationName(QStringLiteral("AttnLab"));
  QApplication::setApplicationName(QStringLiteral("attnlab"));
  QApplication::setApplicationVersion(QStringLiteral("0.1.0"));
  QApplication::setWindowIcon(QIcon(QStringLiteral(":/attnlab.svg")));

  QCommandLineParser cli;
  cli.setApplicationDescription(QStringLiteral("AttnLab: distil GPT-2 attention into cheaper variants"));
  cli.addHelpOption();
  cli.addVersionOption();
  const QCommandLineOption shotOpt("screenshot", "Render the window and every tab to FILE and FILE-<tab>.png, then exit.", "FILE");
  const QCommandLineOption stepsOpt("steps", "Steps of the run (with --screenshot: run this many steps first).", "N");
  const QCommandLineOption configOpt("config", "Preload this run configuration (JSON).", "FILE");
  const QCommandLineOption runOpt("run", "Open this run directory.", "DIR");
  const QCommandLineOption rootOpt("runs-root", "Folder for new runs with no explicit output directory.", "DIR");
  const QCommandLineOption headlessOpt("headless", "Run --config through the controller without any window, print tokens/s, exit.");
  const QCommandLineOption benchAttnOpt(
      "bench-attention",
      "Benchmark: with the window, time from Compute to the displayed maps for a validation block of T tokens "
      "(model pair from --config), then a head switch and a layer switch; prints milliseconds, exits.",
      "T");
  cli.addOptions({shotOpt, stepsOpt, configOpt, runOpt, rootOpt, headlessOpt, benchAttnOpt});
  cli.process(app);

  QTextStream err(stderr);
  if (cli.isSet(rootOpt)) attnlab::TrainingController::setRunsRoot(QDir(cli.value(rootOpt)).absolutePath());
  bool stepsOk = true;
  const qint64 steps = cli.isSet(stepsOpt) ? cli.value(stepsOpt).toLongLong(&stepsOk) : 0;
  if (!stepsOk || steps < 0) {
    err << "attnlab: --steps needs a positive integer\n";
    return 2;
  }

  if (cli.isSet(headlessOpt)) {
    // No widget is created: only the controller, its worker thread and queued signals.
    attnlab::ConfigForm form;  // parses and validates the file exactly like the GUI
    QString why;
    if (!form.loadFile(cli.value(configOpt), &why)) {
      err << "attnlab: " << why << '\n';
      return 2;
    }
    QJsonObject cfg = form.config();
    if (steps > 0) cfg["steps"] = steps;
    attnlab::TrainingController controller;
    attnlab::ThroughputMean rate;
    QObject::connect(&controller, &attnlab::TrainingController::trainPoint,
                     [&](const attnlab::TrainPoint& p) { rate.add(p); });
    QObject::connect(&controller, &attnlab::TrainingController::runFinished, &app, &QCoreApplication::quit);
    if (!controller.start(cfg, &why)) {
      err << "attnlab: " << why << '\n';
      return 2;
    }
    app.exec();
    QTextStream(stdout) << "run " << controller.runDir() << ": " << controller.lastStatus() << ", " << rate.lastStep
                        << " steps, mean tokens/s (steps > 2) " << rate.mean() << '\n';
    return controller.lastStatus() == QLatin1String("finished") ? 0 : 1;
  }

  if (cli.isSet(benchAttnOpt)) return benchAttention(cli.value(configOpt), cli.value(benchAttnOpt).toInt());

  if (cli.isSet(shotOpt)) {
    attnlab::MainWindow w(/*persistSettings=*/false);
    attnlab::ScreenshotOptions opt;
    opt.file = cli.value(shotOpt);
    opt.steps = steps;
    opt.configFile = cli.value(configOpt);
    opt.runDir = cli.value(runOpt);
    QString why;
    const QStringList files = attnlab::takeScreenshots(w, opt, &why);
    QTextStream out(stdout);
    for (const QString& f : files) out << f << '\n';
    if (!why.isEmpty()) err << "attnlab: " << why << '\n';
    return files.isEmpty() ? 1 : (why.isEmpty() ? 0 : 3);
  }

  attnlab::MainWindow w;
  if (cli.isSet(configOpt)) {
    QString why;
    if (!w.configForm()->loadFile(cli.value(configOpt), &why)) err << "attnlab: " << why << '\n';
  }
  if (steps > 0) w.configForm()->setFieldText(QStringLiteral("steps"), QString::number(steps));
  if (cli.isSet(runOpt)) {
    QString why;
    if (!w.openRun(cli.value(runOpt), &why)) err << "attnlab: " << why << '\n';
  }
  w.show();
  return app.exec();
}
