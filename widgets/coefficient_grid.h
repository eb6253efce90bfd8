// Interpretable coefficients over training: one small plot per replaced layer with one line
// per candidate (mask-mix weights, NSA gate means, ...), a shared legend, and a layers x
// candidates heat table of the latest values. Events such as Performer feature redraws
// are drawn as vertical marks in every layer plot.
#pragma once
#include <QPointF>
#include <QStringList>
#include <QVector>
#include <QWidget>
#include <map>

#include "widgets/run_types.h"

class QCustomPlot;
class QCPGraph;
class QGridLayout;
class QHBoxLayout;
class QLabel;
class QTableWidget;
class QTimer;

namespace attnlab {

class CoefficientGrid : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kReplotHz = 5;
  static constexpr int kPlotsPerRow = 4;
  static constexpr int kMaxMarks = 200;  // newest event marks kept per plot
  explicit CoefficientGrid(QWidget* parent = nullptr);

  void clear();
  void setRun(const RunRecord& rec);
  void flush();

  int layerCount() const { return static_cast<int>(layers_.size()); }
  QStringList names() const { return names_; }
  QCustomPlot* layerPlot(int row) const;
  QTableWidget* table() const { return table_; }
  int markCount() const { return static_cast<int>(marks_.size()); }
  /// Plotted points for (layer row, candidate index).
  QVector<QPointF> curve(int row, int name) const;

 public Q_SLOTS:
  void appendSnapshot(const attnlab::CoefSnapshot& snap);
  /// Redraws / prunes become vertical marks; other kinds are ignored.
  void appendEvent(const attnlab::RunEvent& event);

 private Q_SLOTS:
  void replotTick();

 private:
  struct LayerPlot {
    int layer = 0;
    QCustomPlot* plot = nullptr;
    QVector<QCPGraph*> graphs;  // one per name
  };
  void rebuildLayout(const CoefSnapshot& snap);
  void updateTable(const CoefSnapshot& snap);
  void addMark(LayerPlot& lp, double step, const QString& kind);

  QStringList names_;
  QVector<int> layerIds_;
  std::vector<LayerPlot> layers_;
  QVector<QPair<double, QString>> marks_;
  QWidget* legend_;
  QHBoxLayout* legendLayout_;
  QWidget* plotsHost_;
  QGridLayout* plotsLayout_;
  QTableWidget* table_;
  QLabel* status_;
  QTimer* timer_;
  bool dirty_ = false;
  CoefSnapshot last_;
};

}  // namespace attnlab
