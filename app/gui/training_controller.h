// The bridge between the GUI and the engine's distillation loop.
//
// TrainingController (GUI thread) owns a QThread and a TrainingWorker living on it (the
// QThread worker-object pattern). start()/resume() queue a call into the worker, which
// runs attnlab::run_distillation() there; the engine's observer callbacks become queued
// signals carrying plain structs (TrainPoint, ValidPoint, ...), never tensors. Stop and
// pause are atomic flags (attnlab::RunControl) the engine checks before every step, so
// stop() takes effect within one step; the engine then writes a checkpoint and returns.
// The destructor requests a stop and waits for the thread.
//
// This header is Qt-only: LibTorch stays inside training_controller.cpp.
#pragma once
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>

#include "gui/gui_types.h"
#include "widgets/run_types.h"

class QThread;

namespace attnlab {

struct RunControl;

/// Lives on the training thread; every slot blocks that thread until the run ends.
class TrainingWorker : public QObject {
  Q_OBJECT

 public:
  explicit TrainingWorker(RunControl* control) : control_(control) {}

 public Q_SLOTS:
  void startRun(const QByteArray& configJson);
  void resumeRun(const QString& runDir, qint64 steps);

 Q_SIGNALS:
  void started(const attnlab::RunStartInfo& info);
  void trainPoint(const attnlab::TrainPoint& p);
  void validPoint(const attnlab::ValidPoint& p);
  void coefficients(const attnlab::CoefSnapshot& c);
  void runEvent(const attnlab::RunEvent& e);
  void finished(const QString& status);

 private:
  RunControl* control_;
};

class TrainingController : public QObject {
  Q_OBJECT

 public:
  enum class State { Idle, Running, Paused, Stopping };
  Q_ENUM(State)

  explicit TrainingController(QObject* parent = nullptr);
  ~TrainingController() override;

  State state() const { return state_; }
  bool isActive() const { return state_ != State::Idle; }
  QString runDir() const { return runDir_; }
  const RunStartInfo& startInfo() const { return info_; }
  /// Last status reported by the engine ("finished", "stopped", "failed: ...").
  QString lastStatus() const { return lastStatus_; }

  /// Starts a new run. `config` is DistillConfig JSON (as ConfigForm::config()); an empty
  /// "out" becomes a fresh folder under runsRoot(). Returns false (and why) if a run is
  /// active or the engine rejects the configuration.
  bool start(const QJsonObject& config, QString* error = nullptr);
  /// Continues the run in runDir from its latest checkpoint (steps > 0 raises the total).
  bool resume(const QString& runDir, qint64 steps = 0, QString* error = nullptr);

  /// "" if the engine accepts the configuration (DistillConfig::from_json + validate).
  static QString validateConfig(const QJsonObject& config);
  /// Registered attention variants (attnlab::variant_kinds()).
  static QStringList variantKinds();
  /// DistillConfig{}.to_json().
  static QJsonObject defaultConfig();
  /// Where runs with an empty "out" go (settable; default: app data location/runs).
  static QString runsRoot();
  static void setRunsRoot(const QString& dir);
  /// A fresh run directory name under runsRoot(): <date>-<time>-<variant>.
  static QString newRunDir(const QString& variant);

 public Q_SLOTS:
  void stop();
  void setPaused(bool paused);
  void pause() { setPaused(true); }
  void unpause() { setPaused(false); }
  /// Blocks (GUI thread) until the worker has returned from the engine; false on timeout.
  bool waitForIdle(int timeoutMs = -1);

 Q_SIGNALS:
  void runStarted(const attnlab::RunStartInfo& info);
  void trainPoint(const attnlab::TrainPoint& p);
  void validPoint(const attnlab::ValidPoint& p);
  void coefficients(const attnlab::CoefSnapshot& c);
  void runEvent(const attnlab::RunEvent& e);
  void runFinished(const QString& status);
  void stateChanged(attnlab::TrainingController::State state);

 private Q_SLOTS:
  void workerStarted(const attnlab::RunStartInfo& info);
  void workerFinished(const QString& status);

 private:
  void setState(State s);
  std::unique_ptr<RunControl> control_;
  QThread* thread_;
  TrainingWorker* worker_;
  State state_ = State::Idle;
  QString runDir_;
  QString lastStatus_;
  RunStartInfo info_;
};

}  // namespace attnlab
