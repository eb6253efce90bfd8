// Runs tab: open run directories (written by the GUI or by attnlab-cli on another box),
// overlay any number of runs' curves, diff two runs' configurations, export plots
// (PNG/PDF, SVG when built with Qt SVG) and metrics as CSV. Runs that are still being
// written are followed: new metrics.jsonl rows are picked up every kPollMs.
#pragma once
#include <QWidget>
#include <memory>
#include <vector>

#include "widgets/run_reader.h"
#include "widgets/run_types.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QListWidget;
class QListWidgetItem;
class QTableWidget;
class QTimer;

namespace attnlab {

class LossPlot;
class MetricsPlots;

class RunsBrowser : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kPollMs = 2000;
  explicit RunsBrowser(QWidget* parent = nullptr);
  ~RunsBrowser() override;

  /// Opens a run directory (config.json + metrics.jsonl); returns its index or -1.
  int addRunDir(const QString& dir, QString* error = nullptr);
  /// Adds every run directory directly under `root`; returns how many.
  int addRunsUnder(const QString& root);
  int runCount() const { return static_cast<int>(runs_.size()); }
  const RunRecord& run(int i) const { return runs_[i]->rec; }
  void removeRun(int i);
  void setRunVisible(int i, bool visible);

  LossPlot* lossPlot() const { return loss_; }
  MetricsPlots* metricsPlots() const { return metrics_; }
  QTableWidget* diffTable() const { return diff_; }
  /// Fills the diff table for runs a and b (indices); onlyDifferences hides equal keys.
  void setDiffPair(int a, int b);
  void setOnlyDifferences(bool on);

  /// Writes <base>-loss.<ext> and <base>-{perplexity,agreement,lr,throughput}.<ext>
  /// (ext from `basePath`'s suffix: png, pdf, svg). Returns the written paths.
  QStringList exportPlots(const QString& basePath, QString* error = nullptr);
  bool exportCsv(const QString& path, QString* error = nullptr);

 public Q_SLOTS:
  /// Re-reads new rows of all runs (called by the poll timer).
  void refresh();

 Q_SIGNALS:
  /// Double-click on a run: open it in the inspector tabs.
  void runActivated(const QString& dir);

 private Q_SLOTS:
  void openClicked();
  void openFolderClicked();
  void removeClicked();
  void itemChanged(QListWidgetItem* item);
  void diffSelectionChanged();
  void exportPlotsClicked();
  void exportCsvClicked();

 private:
  struct Entry {
    RunReader reader;
    RunRecord rec;
    int plotIndex = -1;  // index in the overlay plots, -1 when hidden
    bool visible = true;
  };
  void rebuildOverlay();
  void updateDiffCombos();
  std::vector<std::unique_ptr<Entry>> runs_;
  QListWidget* list_;
  LossPlot* loss_;
  MetricsPlots* metrics_;
  QComboBox* diffA_;
  QComboBox* diffB_;
  QCheckBox* onlyDiff_;
  QTableWidget* diff_;
  QLabel* status_;
  QTimer* poll_;
  bool updating_ = false;
};

}  // namespace attnlab
