// LibTorch (through the engine headers) first: Qt's `slots`/`signals` macros break ATen.
#include "attention/variant.h"
#include "common/error.h"
#include "train/distill.h"

#include "gui/training_controller.h"

#include <QDateTime>
#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QJsonDocument>
#include <QStandardPaths>
#include <QThread>
#include <QTimer>

#include "widgets/config_form.h"

namespace attnlab {

namespace {

QJsonObject toQt(const nlohmann::json& j) {
  return QJsonDocument::fromJson(QByteArray::fromStdString(j.dump())).object();
}

QString qstr(const std::string& s) { return QString::fromStdString(s); }

// The engine's observer, adapted to the worker's signals. Runs on the training thread; the
// signals are queued to the GUI thread (the controller lives there).
class SignalObserver : public DistillObserver {
 public:
  explicit SignalObserver(TrainingWorker* w) : w_(w) {}

  void on_start(const RunInfo& info) override {
    RunStartInfo s;
    s.runDir = qstr(info.run_dir);
    s.config = toQt(info.config.to_json());
    s.startStep = info.start_step;
    s.totalSteps = info.config.steps;
    s.nLayer = info.n_layer;
    s.nHead = info.n_head;
    s.trainableParameters = info.trainable_parameters;
    s.density = info.density;
    total_ = info.config.steps;
    Q_EMIT w_->started(s);
  }
  void on_step(const StepMetrics& m) override {
    TrainPoint p;
    p.step = m.step;
    p.totalSteps = m.total_steps > 0 ? m.total_steps : total_;
    p.tokens = m.tokens;
    p.kl = m.kl;
    p.reg = m.reg;
    p.loss = m.loss;
    p.lr = m.lr;
    p.gradNorm = m.grad_norm;
    p.tokensPerS = m.tokens_per_s;
    p.elapsedS = m.elapsed_s;
    p.skipped = m.skipped;
    step_ = m.step;
    Q_EMIT w_->trainPoint(p);
  }
  void on_eval(const EvalMetrics& e) override {
    ValidPoint p;
    p.step = e.step;
    p.tokens = e.tokens;
    p.kl = e.kl;
    p.pplRef = e.ppl_ref;
    p.pplCustom = e.ppl_custom;
    p.top1 = e.top1_agreement;
    p.density = e.density;
    Q_EMIT w_->validPoint(p);
  }
  void on_coefficients(const CoefficientSnapshot& c) override {
    CoefSnapshot s;
    s.step = c.step;
    for (const auto& n : c.names) s.names << qstr(n);
    for (int l : c.layers) s.layers << l;
    for (const auto& row : c.values) s.values << QVector<double>(row.begin(), row.end());
    Q_EMIT w_->coefficients(s);
  }
  void on_event(const std::string& kind, const nlohmann::json& detail) override {
    RunEvent e;
    e.kind = qstr(kind);
    e.step = detail.is_object() && detail.contains("step") && detail["step"].is_number() ? detail["step"].get<int64_t>() : step_;
    e.detail = detail.is_object() ? toQt(detail) : QJsonObject{};
    Q_EMIT w_->runEvent(e);
  }

 private:
  TrainingWorker* w_;
  int64_t step_ = 0, total_ = 0;
};

QString& runsRootStorage() {
  static QString root;
  return root;
}

}  // namespace

// ---- worker (training thread) --------------------------------------------------------------

void TrainingWorker::startRun(const QByteArray& configJson) {
  SignalObserver obs(this);
  QString status;
  try {
    const auto j = nlohmann::json::parse(configJson.toStdString());
    auto cfg = DistillConfig::from_json(j, "GUI configuration");
    cfg.validate();
    status = qstr(run_distillation(cfg, &obs, control_));
  } catch (const std::exception& e) {
    status = QStringLiteral("failed: ") + QString::fromUtf8(e.what());
  }
  Q_EMIT finished(status);
}

void TrainingWorker::resumeRun(const QString& runDir, qint64 steps) {
  SignalObserver obs(this);
  QString status;
  try {
    status = qstr(resume_distillation(runDir.toStdString(), &obs, control_, steps));
  } catch (const std::exception& e) {
    status = QStringLiteral("failed: ") + QString::fromUtf8(e.what());
  }
  Q_EMIT finished(status);
}

// ---- controller (GUI thread) ---------------------------------------------------------------

TrainingController::TrainingController(QObject* parent)
    : QObject(parent), control_(std::make_unique<RunControl>()) {
  qRegisterMetaType<RunStartInfo>();
  qRegisterMetaType<TrainPoint>();
  qRegisterMetaType<ValidPoint>();
  qRegisterMetaType<CoefSnapshot>();
  qRegisterMetaType<RunEvent>();
  thread_ = new QThread(this);
  thread_->setObjectName(QStringLiteral("attnlab-training"));
  worker_ = new TrainingWorker(control_.get());
  worker_->moveToThread(thread_);
  connect(thread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(worker_, &TrainingWorker::started, this, &TrainingController::workerStarted);
  connect(worker_, &TrainingWorker::trainPoint, this, &TrainingController::trainPoint);
  connect(worker_, &TrainingWorker::validPoint, this, &TrainingController::validPoint);
  connect(worker_, &TrainingWorker::coefficients, this, &TrainingController::coefficients);
  connect(worker_, &TrainingWorker::runEvent, this, &TrainingController::runEvent);
  connect(worker_, &TrainingWorker::finished, this, &TrainingController::workerFinished);
  thread_->start();
}

TrainingController::~TrainingController() {
  // Stop the run (the engine checkpoints on stop), let the worker return, end the thread.
  control_->stop = true;
  control_->pause = false;
  thread_->quit();
  thread_->wait();
}

void TrainingController::setState(State s) {
  if (s == state_) return;
  state_ = s;
  Q_EMIT stateChanged(s);
}

QString TrainingController::validateConfig(const QJsonObject& config) {
  try {
    const auto j = nlohmann::json::parse(ConfigForm::toJsonText(config).toStdString());
    DistillConfig::from_json(j, "configuration").validate();
    return {};
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
}

QStringList TrainingController::variantKinds() {
  QStringList out;
  for (const auto& k : variant_kinds()) out << qstr(k);
  return out;
}

QJsonObject TrainingController::defaultConfig() { return toQt(DistillConfig{}.to_json()); }

QString TrainingController::runsRoot() {
  if (runsRootStorage().isEmpty())
    runsRootStorage() = QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath("runs");
  return runsRootStorage();
}

void TrainingController::setRunsRoot(const QString& dir) { runsRootStorage() = dir; }

QString TrainingController::newRunDir(const QString& variant) {
  const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
  const QString base = QDir(runsRoot()).filePath(stamp + QLatin1Char('-') + (variant.isEmpty() ? QStringLiteral("run") : variant));
  QString dir = base;
  for (int i = 2; QFileInfo::exists(dir); ++i) dir = base + QLatin1Char('-') + QString::number(i);
  return dir;
}

bool TrainingController::start(const QJsonObject& config, QString* error) {
  if (isActive()) {
    if (error) *error = tr("a run is already active");
    return false;
  }
  QJsonObject cfg = config;
  cfg.remove(QStringLiteral("attnlab_version"));
  if (cfg.value(QStringLiteral("out")).toString().isEmpty())
    cfg[QStringLiteral("out")] = newRunDir(cfg.value(QStringLiteral("variant")).toString());
  const QString why = validateConfig(cfg);
  if (!why.isEmpty()) {
    if (error) *error = why;
    return false;
  }
  QDir().mkpath(QFileInfo(cfg.value(QStringLiteral("out")).toString()).absolutePath());
  control_->stop = false;
  control_->pause = false;
  runDir_ = cfg.value(QStringLiteral("out")).toString();
  lastStatus_.clear();
  info_ = {};
  setState(State::Running);
  const QByteArray json = ConfigForm::toJsonText(cfg);
  QMetaObject::invokeMethod(worker_, [w = worker_, json] { w->startRun(json); }, Qt::QueuedConnection);
  return true;
}

bool TrainingController::resume(const QString& runDir, qint64 steps, QString* error) {
  if (isActive()) {
    if (error) *error = tr("a run is already active");
    return false;
  }
  if (!QFileInfo::exists(QDir(runDir).filePath(QStringLiteral("checkpoints/latest.json")))) {
    if (error) *error = tr("%1 has no checkpoint to resume from").arg(runDir);
    return false;
  }
  control_->stop = false;
  control_->pause = false;
  runDir_ = runDir;
  lastStatus_.clear();
  info_ = {};
  setState(State::Running);
  QMetaObject::invokeMethod(worker_, [w = worker_, runDir, steps] { w->resumeRun(runDir, steps); }, Qt::QueuedConnection);
  return true;
}

void TrainingController::stop() {
  if (!isActive()) return;
  control_->stop = true;
  control_->pause = false;
  setState(State::Stopping);
}

void TrainingController::setPaused(bool paused) {
  if (state_ != State::Running && state_ != State::Paused) return;
  control_->pause = paused;
  setState(paused ? State::Paused : State::Running);
}

bool TrainingController::waitForIdle(int timeoutMs) {
  if (!isActive()) return true;
  QEventLoop loop;
  connect(this, &TrainingController::runFinished, &loop, &QEventLoop::quit);
  if (timeoutMs >= 0) QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
  loop.exec();
  return !isActive();
}

void TrainingController::workerStarted(const RunStartInfo& info) {
  info_ = info;
  runDir_ = info.runDir;
  Q_EMIT runStarted(info);
}

void TrainingController::workerFinished(const QString& status) {
  lastStatus_ = status;
  setState(State::Idle);
  Q_EMIT runFinished(status);
}

}  // namespace attnlab
