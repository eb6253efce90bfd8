// AttnLab's main window: Setup (configuration form), Training (live loss and metrics),
// Coefficients, Attention, Prompt and Runs tabs; a toolbar to start/pause/stop; a status
// bar with step/total, tokens/s, ETA and memory. Owns the TrainingController (training
// thread) and the Inspector (attention/generation thread). Closing during a run stops it
// (the engine checkpoints) and closes once the worker has returned.
#pragma once
#include <QMainWindow>
#include <QStringList>

#include "gui/gui_types.h"
#include "gui/training_controller.h"

class QAction;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QTabWidget;
class QTimer;

namespace attnlab {

class AttentionTab;
class CoefficientGrid;
class ConfigForm;
class DownloadDialog;
class HubService;
class Inspector;
class LossPlot;
class MetricsPlots;
class PromptPanel;
class RunsBrowser;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  enum Tab { SetupTab = 0, TrainingTab, CoefficientsTab, AttentionTabIndex, PromptTab, RunsTab, TabCount };
  /// persistSettings=false: neither read nor write QSettings (tests, screenshots).
  explicit MainWindow(bool persistSettings = true, QWidget* parent = nullptr);
  ~MainWindow() override;

  static QString tabKey(Tab t);  // "setup", "training", ...

  TrainingController* controller() const { return controller_; }
  Inspector* inspector() const { return inspector_; }
  ConfigForm* configForm() const { return form_; }
  LossPlot* lossPlot() const { return loss_; }
  MetricsPlots* metricsPlots() const { return metrics_; }
  CoefficientGrid* coefficientGrid() const { return coefs_; }
  AttentionTab* attentionTab() const { return attention_; }
  PromptPanel* promptPanel() const { return prompt_; }
  RunsBrowser* runsBrowser() const { return runs_; }
  HubService* hubService() const { return hub_; }
  /// The Hub download dialog (created on first use; non-modal).
  DownloadDialog* downloadDialog();
  QTabWidget* tabs() const { return tabs_; }
  QString statusText() const;

  /// Starts a run from the form (same as the Start action). False + message if invalid.
  bool startRun(QString* error = nullptr);
  /// Shows a finished run's curves in the Training/Coefficients tabs, adds it to Runs and
  /// loads its models for the Attention/Prompt tabs.
  bool openRun(const QString& dir, QString* error = nullptr);
  /// Plots are coalesced at 10 Hz; this forces every plot up to date (screenshots, tests).
  void flushPlots();

 protected:
  void closeEvent(QCloseEvent* e) override;

 private Q_SLOTS:
  // UI
  void startTriggered();
  void pauseToggled(bool paused);
  void stopTriggered();
  void openRunTriggered();
  void resumeRunTriggered();
  void configChanged();
  void loadModelFromForm();
  // engine (through the controllers)
  void runStarted(const attnlab::RunStartInfo& info);
  void runTrainPoint(const attnlab::TrainPoint& p);
  void runValidPoint(const attnlab::ValidPoint& p);
  void runCoefficients(const attnlab::CoefSnapshot& c);
  void runEvent(const attnlab::RunEvent& e);
  void runFinished(const QString& status);
  void runStateChanged(attnlab::TrainingController::State s);
  void inspectorModelLoaded(const attnlab::ModelPairInfo& info);
  void inspectorFailed(const QString& what, const QString& message);
  void updateStatusBar();

 private:
  void buildActions();
  void resetLivePlots(const QString& name);
  void loadSettings();
  void saveSettings();

  bool persist_;
  TrainingController* controller_;
  Inspector* inspector_;
  HubService* hub_;
  DownloadDialog* download_ = nullptr;
  QTabWidget* tabs_;
  ConfigForm* form_;
  LossPlot* loss_;
  MetricsPlots* metrics_;
  CoefficientGrid* coefs_;
  QPlainTextEdit* eventLog_;
  AttentionTab* attention_;
  PromptPanel* prompt_;
  RunsBrowser* runs_;
  QAction *actStart_, *actPause_, *actStop_, *actOpen_, *actResume_, *actDownload_;
  QLabel *stepLabel_, *rateLabel_, *etaLabel_, *memLabel_, *stateLabel_;
  QProgressBar* progress_;
  QTimer* statusTimer_;
  // Latest live values (status bar is refreshed by a timer, not per step).
  TrainPoint last_;
  qint64 total_ = 0, sessionStartStep_ = 0;
  double sessionStartElapsed_ = 0, rateEma_ = 0;
  bool closeAfterStop_ = false;
};

}  // namespace attnlab
