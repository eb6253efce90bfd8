#include "gui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QIcon>
#include <QInputDialog>
#include <QJsonDocument>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStyle>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>
#include <cmath>

#ifdef Q_OS_UNIX
#include <unistd.h>
#endif

#include "gui/attention_tab.h"
#include "gui/hub_service.h"
#include "gui/inspector.h"
#include "widgets/coefficient_grid.h"
#include "widgets/config_form.h"
#include "widgets/download_dialog.h"
#include "widgets/loss_plot.h"
#include "widgets/metrics_plots.h"
#include "widgets/prompt_panel.h"
#include "widgets/run_reader.h"
#include "widgets/runs_browser.h"

namespace attnlab {

namespace {

/// Resident memory of this process in MiB (Linux /proc), 0 when unknown.
double residentMiB() {
#ifdef Q_OS_LINUX
  QFile f(QStringLiteral("/proc/self/statm"));
  if (!f.open(QIODevice::ReadOnly)) return 0;
  const QList<QByteArray> parts = f.readAll().split(' ');
  if (parts.size() < 2) return 0;
  return parts[1].toDouble() * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
#else
  return 0;
#endif
}

QString duration(double s) {
  if (!(s >= 0) || !std::isfinite(s)) return QStringLiteral("–");
  const qint64 t = static_cast<qint64>(s + 0.5);
  if (t >= 3600) return QStringLiteral("%1:%2:%3").arg(t / 3600).arg(t / 60 % 60, 2, 10, QLatin1Char('0')).arg(t % 60, 2, 10, QLatin1Char('0'));
  return QStringLiteral("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'));
}

}  // namespace

QString MainWindow::tabKey(Tab t) {
  static const char* keys[] = {"setup", "training", "coefficients", "attention", "prompt", "runs"};
  return t >= 0 && t < TabCount ? QString::fromLatin1(keys[t]) : QString();
}

MainWindow::MainWindow(bool persistSettings, QWidget* parent) : QMainWindow(parent), persist_(persistSettings) {
  setWindowTitle(tr("AttnLab — attention distillation workbench"));
  setWindowIcon(QIcon::fromTheme(QStringLiteral("attnlab"), QIcon(QStringLiteral(":/attnlab.svg"))));
  controller_ = new TrainingController(this);
  inspector_ = new Inspector(this);

  // Setup
  form_ = new ConfigForm;
  form_->setVariantKinds(TrainingController::variantKinds());
  form_->setExternalValidator(&TrainingController::validateConfig);
  // Model / data pickers: bundled, Hugging Face cache and data cache entries (scanned off the
  // GUI thread; again after every download).
  hub_ = new HubService(this);
  connect(hub_, &HubService::modelsListed, this,
          [this](const KnownEntries& m) { form_->setKnownModels(m.dirs, m.labels); });
  connect(hub_, &HubService::dataListed, this, [this](const KnownEntries& d) { form_->setKnownData(d.dirs, d.labels); });
  hub_->refresh();
  auto* setupScroll = new QScrollArea;
  setupScroll->setWidgetResizable(true);
  setupScroll->setWidget(form_);

  // Training
  loss_ = new LossPlot;
  metrics_ = new MetricsPlots;
  eventLog_ = new QPlainTextEdit;
  eventLog_->setReadOnly(true);
  eventLog_->setMaximumBlockCount(2000);
  eventLog_->setPlaceholderText(tr("Run events (checkpoints, NaN skips, redraws, pruning) appear here"));
  auto* lower = new QSplitter(Qt::Horizontal);
  lower->addWidget(metrics_);
  lower->addWidget(eventLog_);
  lower->setStretchFactor(0, 4);
  lower->setStretchFactor(1, 1);
  auto* training = new QSplitter(Qt::Vertical);
  training->addWidget(loss_);
  training->addWidget(lower);
  training->setStretchFactor(0, 3);
  training->setStretchFactor(1, 2);

  coefs_ = new CoefficientGrid;
  attention_ = new AttentionTab(inspector_);
  prompt_ = new PromptPanel;
  prompt_->setModelReady(true);
  runs_ = new RunsBrowser;

  tabs_ = new QTabWidget;
  tabs_->addTab(setupScroll, tr("Setup"));
  tabs_->addTab(training, tr("Training"));
  tabs_->addTab(coefs_, tr("Coefficients"));
  tabs_->addTab(attention_, tr("Attention"));
  tabs_->addTab(prompt_, tr("Prompt"));
  tabs_->addTab(runs_, tr("Runs"));
  setCentralWidget(tabs_);

  buildActions();

  stateLabel_ = new QLabel(tr("Idle"));
  stepLabel_ = new QLabel;
  progress_ = new QProgressBar;
  progress_->setMaximumWidth(180);
  progress_->setTextVisible(false);
  rateLabel_ = new QLabel;
  etaLabel_ = new QLabel;
  memLabel_ = new QLabel;
  for (QWidget* w : std::initializer_list<QWidget*>{stateLabel_, stepLabel_, progress_, rateLabel_, etaLabel_, memLabel_})
    statusBar()->addPermanentWidget(w);
  statusTimer_ = new QTimer(this);
  statusTimer_->setInterval(500);
  connect(statusTimer_, &QTimer::timeout, this, &MainWindow::updateStatusBar);
  statusTimer_->start();

  connect(controller_, &TrainingController::runStarted, this, &MainWindow::runStarted);
  connect(controller_, &TrainingController::trainPoint, this, &MainWindow::runTrainPoint);
  connect(controller_, &TrainingController::validPoint, this, &MainWindow::runValidPoint);
  connect(controller_, &TrainingController::coefficients, this, &MainWindow::runCoefficients);
  connect(controller_, &TrainingController::runEvent, this, &MainWindow::runEvent);
  connect(controller_, &TrainingController::runFinished, this, &MainWindow::runFinished);
  connect(controller_, &TrainingController::stateChanged, this, &MainWindow::runStateChanged);
  connect(inspector_, &Inspector::modelLoaded, this, &MainWindow::inspectorModelLoaded);
  connect(inspector_, &Inspector::failed, this, &MainWindow::inspectorFailed);
  connect(inspector_, &Inspector::completionReady, prompt_, &PromptPanel::showCompletion);
  connect(prompt_, &PromptPanel::generateRequested, this, [this](const QString& p, const GenerationSettings& s) {
    if (!inspector_->hasModel()) loadModelFromForm();
    inspector_->requestCompletion(p, s);  // queued behind the load on the inspector's thread
  });
  connect(prompt_, &PromptPanel::cancelRequested, this, [this] {
    inspector_->cancel();
    prompt_->showError(tr("Cancelled."));
  });
  connect(attention_, &AttentionTab::modelNeeded, this, &MainWindow::loadModelFromForm);
  connect(runs_, &RunsBrowser::runActivated, this, [this](const QString& dir) {
    QString err;
    if (openRun(dir, &err)) tabs_->setCurrentIndex(TrainingTab);
    else statusBar()->showMessage(err, 8000);
  });
  connect(form_, &ConfigForm::configChanged, this, &MainWindow::configChanged);
  connect(form_, &ConfigForm::validityChanged, this, [this](bool ok) { actStart_->setEnabled(ok && !controller_->isActive()); });

  resetLivePlots(tr("live"));
  resize(1360, 880);
  if (persist_) loadSettings();
  updateStatusBar();
}

MainWindow::~MainWindow() = default;

DownloadDialog* MainWindow::downloadDialog() {
  if (download_) return download_;
  download_ = new DownloadDialog(this);
  connect(download_, &DownloadDialog::downloadRequested, hub_, [this](DownloadDialog::Kind kind, const QString& name) {
    hub_->download(kind == DownloadDialog::Kind::Model ? QStringLiteral("model") : QStringLiteral("dataset"), name);
  });
  connect(download_, &DownloadDialog::cancelRequested, hub_, &HubService::cancel);
  connect(hub_, &HubService::progress, download_, &DownloadDialog::setProgress);
  connect(hub_, &HubService::finished, download_, &DownloadDialog::setFinished);
  connect(hub_, &HubService::failed, download_, &DownloadDialog::setFailed);
  connect(download_, &DownloadDialog::downloaded, this, [this](DownloadDialog::Kind kind, const QString& path) {
    const bool model = kind == DownloadDialog::Kind::Model;
    if (controller_->isActive()) {
      statusBar()->showMessage(tr("Downloaded %1 (a run is active: choose it in Setup afterwards)").arg(path), 15000);
      return;
    }
    form_->setFieldText(model ? QStringLiteral("model") : QStringLiteral("data"), path);
    statusBar()->showMessage(tr("Downloaded %1; selected in Setup").arg(path), 15000);
  });
  return download_;
}

void MainWindow::buildActions() {
  auto* tb = addToolBar(tr("Run"));
  tb->setObjectName(QStringLiteral("runToolbar"));
  tb->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  actStart_ = tb->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("Start"));
  actStart_->setShortcut(QKeySequence(Qt::Key_F5));
  actStart_->setToolTip(tr("Start a distillation run with the Setup configuration (F5)"));
  actPause_ = tb->addAction(style()->standardIcon(QStyle::SP_MediaPause), tr("Pause"));
  actPause_->setCheckable(true);
  actStop_ = tb->addAction(style()->standardIcon(QStyle::SP_MediaStop), tr("Stop"));
  actStop_->setToolTip(tr("Stop after the current step; a checkpoint is written so the run can be resumed"));
  tb->addSeparator();
  actOpen_ = tb->addAction(style()->standardIcon(QStyle::SP_DirOpenIcon), tr("Open run…"));
  actResume_ = tb->addAction(style()->standardIcon(QStyle::SP_BrowserReload), tr("Resume run…"));
  tb->addSeparator();
  actDownload_ = tb->addAction(style()->standardIcon(QStyle::SP_ArrowDown), tr("Download…"));
  actDownload_->setToolTip(tr("Download a GPT-2 model or WikiText from the Hugging Face Hub into the local cache"));
  connect(actDownload_, &QAction::triggered, this, [this] {
    auto* d = downloadDialog();
    d->show();
    d->raise();
    d->activateWindow();
  });
  connect(actStart_, &QAction::triggered, this, &MainWindow::startTriggered);
  connect(actPause_, &QAction::toggled, this, &MainWindow::pauseToggled);
  connect(actStop_, &QAction::triggered, this, &MainWindow::stopTriggered);
  connect(actOpen_, &QAction::triggered, this, &MainWindow::openRunTriggered);
  connect(actResume_, &QAction::triggered, this, &MainWindow::resumeRunTriggered);
  actPause_->setEnabled(false);
  actStop_->setEnabled(false);
}

QString MainWindow::statusText() const {
  return QStringList{stateLabel_->text(), stepLabel_->text(), rateLabel_->text(), etaLabel_->text(), memLabel_->text()}.join(
      QStringLiteral(" | "));
}

void MainWindow::resetLivePlots(const QString& name) {
  loss_->clear();
  metrics_->clear();
  coefs_->clear();
  loss_->addRun(name);
  metrics_->addRun(name);
}

bool MainWindow::startRun(QString* error) {
  if (!form_->validate()) {
    if (error) *error = tr("the configuration has errors: %1").arg(form_->errors().first());
    return false;
  }
  QString why;
  if (!controller_->start(form_->config(), &why)) {
    if (error) *error = why;
    return false;
  }
  if (persist_) saveSettings();
  return true;
}

void MainWindow::startTriggered() {
  QString err;
  if (!startRun(&err)) {
    statusBar()->showMessage(err, 10000);
    QMessageBox::warning(this, tr("Cannot start"), err);
    return;
  }
  tabs_->setCurrentIndex(TrainingTab);
}

void MainWindow::pauseToggled(bool paused) { controller_->setPaused(paused); }
void MainWindow::stopTriggered() { controller_->stop(); }

void MainWindow::openRunTriggered() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open run directory"), TrainingController::runsRoot());
  if (dir.isEmpty()) return;
  QString err;
  if (!openRun(dir, &err)) QMessageBox::warning(this, tr("Cannot open run"), err);
}

void MainWindow::resumeRunTriggered() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Resume run"), TrainingController::runsRoot());
  if (dir.isEmpty()) return;
  bool ok = false;
  const RunRecord rec = loadRun(dir);
  const qint64 steps = QInputDialog::getInt(this, tr("Resume run"), tr("Total steps"),
                                            rec.config.value(QStringLiteral("steps")).toInt(200), 1, 1 << 30, 1, &ok);
  if (!ok) return;
  QString err;
  if (!controller_->resume(dir, steps, &err)) QMessageBox::warning(this, tr("Cannot resume"), err);
  else tabs_->setCurrentIndex(TrainingTab);
}

bool MainWindow::openRun(const QString& dir, QString* error) {
  const RunRecord rec = loadRun(dir);
  if (rec.config.isEmpty() && rec.train.isEmpty()) {
    if (error) *error = tr("%1 is not a run directory (no config.json or metrics.jsonl)").arg(dir);
    return false;
  }
  if (controller_->isActive()) {
    if (error) *error = tr("a run is active: stop it before opening another one");
    return false;
  }
  resetLivePlots(rec.name);
  loss_->setRun(0, rec);
  metrics_->setRun(0, rec);
  coefs_->setRun(rec);
  eventLog_->clear();
  for (const RunEvent& e : rec.events)
    eventLog_->appendPlainText(QStringLiteral("step %1: %2").arg(e.step).arg(e.kind));
  if (!rec.train.isEmpty()) last_ = rec.train.back();
  total_ = rec.config.value(QStringLiteral("steps")).toInteger(last_.step);
  runs_->addRunDir(dir);
  QJsonObject cfg = rec.config;
  cfg.remove(QStringLiteral("attnlab_version"));
  form_->setConfig(cfg);
  inspector_->loadRun(dir);
  flushPlots();
  setWindowTitle(tr("AttnLab — %1").arg(rec.name));
  return true;
}

void MainWindow::flushPlots() {
  loss_->flush();
  metrics_->flush();
  coefs_->flush();
}

void MainWindow::configChanged() {}

void MainWindow::loadModelFromForm() {
  if (!form_->validate()) {
    inspectorFailed(QStringLiteral("load"), tr("Fix the Setup form first: %1").arg(form_->errors().first()));
    return;
  }
  inspector_->loadConfig(form_->config());
}

// ---- engine events --------------------------------------------------------------------------

void MainWindow::runStarted(const RunStartInfo& info) {
  const QString name = QFileInfo(info.runDir).fileName();
  resetLivePlots(name);
  eventLog_->clear();
  total_ = info.totalSteps;
  sessionStartStep_ = info.startStep;
  sessionStartElapsed_ = 0;
  rateEma_ = 0;
  last_ = {};
  last_.step = info.startStep;
  if (info.startStep > 0) {
    // Resumed: show the history up to the checkpoint.
    RunRecord rec = loadRun(info.runDir);
    RunRecord upto;
    for (const TrainPoint& p : rec.train)
      if (p.step <= info.startStep) upto.train << p;
    for (const ValidPoint& p : rec.valid)
      if (p.step <= info.startStep) upto.valid << p;
    for (const CoefSnapshot& c : rec.coefs)
      if (c.step <= info.startStep) coefs_->appendSnapshot(c);
    loss_->setRun(0, upto);
    metrics_->setRun(0, upto);
    if (!upto.train.isEmpty()) sessionStartElapsed_ = upto.train.back().elapsedS;
  }
  eventLog_->appendPlainText(tr("%1 run %2: %3 layers × %4 heads, %5 trainable parameters, density %6")
                                 .arg(info.startStep > 0 ? tr("Resumed") : tr("Started"), info.runDir)
                                 .arg(info.nLayer)
                                 .arg(info.nHead)
                                 .arg(info.trainableParameters)
                                 .arg(info.density, 0, 'f', 3));
  form_->setConfig(info.config);
  setWindowTitle(tr("AttnLab — %1").arg(name));
}

void MainWindow::runTrainPoint(const TrainPoint& p) {
  // Append only; the plots redraw on their own timers (bounded rate).
  loss_->appendTrain(0, {p});
  metrics_->appendTrain(0, {p});
  last_ = p;
  if (p.tokensPerS > 0) rateEma_ = rateEma_ == 0 ? p.tokensPerS : 0.9 * rateEma_ + 0.1 * p.tokensPerS;
  if (p.skipped) eventLog_->appendPlainText(tr("step %1: non-finite loss, step skipped").arg(p.step));
}

void MainWindow::runValidPoint(const ValidPoint& p) {
  loss_->appendValid(0, {p});
  metrics_->appendValid(0, {p});
  eventLog_->appendPlainText(tr("step %1: valid KL %2, ppl %3 → %4, top-1 %5 %")
                                 .arg(p.step)
                                 .arg(p.kl, 0, 'g', 4)
                                 .arg(p.pplRef, 0, 'f', 2)
                                 .arg(p.pplCustom, 0, 'f', 2)
                                 .arg(100 * p.top1, 0, 'f', 1));
}

void MainWindow::runCoefficients(const CoefSnapshot& c) { coefs_->appendSnapshot(c); }

void MainWindow::runEvent(const RunEvent& e) {
  coefs_->appendEvent(e);
  QString detail;
  QJsonObject d = e.detail;
  d.remove(QStringLiteral("step"));
  if (!d.isEmpty()) detail = QStringLiteral(" ") + QString::fromUtf8(QJsonDocument(d).toJson(QJsonDocument::Compact));
  eventLog_->appendPlainText(QStringLiteral("step %1: %2%3").arg(e.step).arg(e.kind, detail));
}

void MainWindow::runFinished(const QString& status) {
  eventLog_->appendPlainText(tr("Run %1.").arg(status));
  statusBar()->showMessage(tr("Run %1: %2").arg(status, controller_->runDir()), 15000);
  flushPlots();
  const QString dir = controller_->runDir();
  if (!dir.isEmpty() && QFileInfo::exists(QDir(dir).filePath(QStringLiteral("config.json")))) {
    runs_->addRunDir(dir);
    if (!closeAfterStop_ && QFileInfo::exists(QDir(dir).filePath(QStringLiteral("checkpoints/latest.json"))))
      inspector_->loadRun(dir);  // inspect the model that was just trained
  }
  if (closeAfterStop_) close();
}

void MainWindow::runStateChanged(TrainingController::State s) {
  const bool active = s != TrainingController::State::Idle;
  actStart_->setEnabled(!active && form_->isValid());
  actResume_->setEnabled(!active);
  actOpen_->setEnabled(!active);
  actPause_->setEnabled(s == TrainingController::State::Running || s == TrainingController::State::Paused);
  actStop_->setEnabled(s == TrainingController::State::Running || s == TrainingController::State::Paused);
  {
    const QSignalBlocker block(actPause_);
    actPause_->setChecked(s == TrainingController::State::Paused);
  }
  form_->setLocked(active);
  switch (s) {
    case TrainingController::State::Idle: stateLabel_->setText(tr("Idle")); break;
    case TrainingController::State::Running: stateLabel_->setText(tr("Running")); break;
    case TrainingController::State::Paused: stateLabel_->setText(tr("Paused")); break;
    case TrainingController::State::Stopping: stateLabel_->setText(tr("Stopping…")); break;
  }
  updateStatusBar();
}

void MainWindow::inspectorModelLoaded(const ModelPairInfo& info) {
  statusBar()->showMessage(tr("Inspecting %1 (%2, %3 layers × %4 heads)").arg(info.source, info.variant).arg(info.nLayer).arg(info.nHead), 8000);
}

void MainWindow::inspectorFailed(const QString& what, const QString& message) {
  if (what == QLatin1String("generate")) prompt_->showError(message);
  else statusBar()->showMessage(tr("%1 failed: %2").arg(what, message), 15000);
}

void MainWindow::updateStatusBar() {
  const qint64 step = last_.step;
  stepLabel_->setText(total_ > 0 ? tr("step %1 / %2").arg(step).arg(total_) : tr("step %1").arg(step));
  progress_->setRange(0, static_cast<int>(std::max<qint64>(1, total_)));
  progress_->setValue(static_cast<int>(std::min(step, std::max<qint64>(1, total_))));
  rateLabel_->setText(rateEma_ > 0 ? tr("%1 tok/s").arg(rateEma_, 0, 'f', 0) : QString());
  const qint64 done = step - sessionStartStep_;
  QString eta;
  if (controller_->isActive() && done > 0 && total_ > step) {
    const double perStep = (last_.elapsedS - sessionStartElapsed_) / static_cast<double>(done);
    eta = tr("ETA %1").arg(duration(perStep * static_cast<double>(total_ - step)));
  }
  etaLabel_->setText(eta);
  const double mib = residentMiB();
  memLabel_->setText(mib > 0 ? tr("%1 MiB").arg(mib, 0, 'f', 0) : QString());
}

// ---- closing and settings ---------------------------------------------------------------------

void MainWindow::closeEvent(QCloseEvent* e) {
  if (controller_->isActive()) {
    // Stop within one step; the engine writes a checkpoint; close when the worker returns.
    closeAfterStop_ = true;
    controller_->stop();
    statusBar()->showMessage(tr("Stopping the run and writing a checkpoint…"));
    e->ignore();
    return;
  }
  if (persist_) saveSettings();
  e->accept();
}

void MainWindow::loadSettings() {
  QSettings s;
  restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
  restoreState(s.value(QStringLiteral("window/state")).toByteArray());
  const QByteArray cfg = s.value(QStringLiteral("config/last")).toByteArray();
  if (!cfg.isEmpty()) {
    const QJsonDocument doc = QJsonDocument::fromJson(cfg);
    if (doc.isObject()) form_->setConfig(doc.object());
  }
  prompt_->setHistory(s.value(QStringLiteral("prompt/history")).toStringList());
  const QString root = s.value(QStringLiteral("runs/root")).toString();
  if (!root.isEmpty()) TrainingController::setRunsRoot(root);
  for (const QString& d : s.value(QStringLiteral("runs/recent")).toStringList())
    if (QFileInfo::exists(QDir(d).filePath(QStringLiteral("metrics.jsonl")))) runs_->addRunDir(d);
  tabs_->setCurrentIndex(s.value(QStringLiteral("window/tab"), 0).toInt());
}

void MainWindow::saveSettings() {
  QSettings s;
  s.setValue(QStringLiteral("window/geometry"), saveGeometry());
  s.setValue(QStringLiteral("window/state"), saveState());
  s.setValue(QStringLiteral("window/tab"), tabs_->currentIndex());
  s.setValue(QStringLiteral("config/last"), ConfigForm::toJsonText(form_->config()));
  s.setValue(QStringLiteral("prompt/history"), prompt_->history());
  QStringList recent;
  for (int i = 0; i < runs_->runCount() && recent.size() < 20; ++i) recent << runs_->run(i).dir;
  s.setValue(QStringLiteral("runs/recent"), recent);
}

}  // namespace attnlab
