// Four small plots for one or more runs: validation perplexity (reference dashed, custom
// solid), top-1 agreement (+ attention density, dotted), learning rate and training
// throughput. Same append/coalesced-replot contract as LossPlot.
#pragma once
#include <QPointF>
#include <QVector>
#include <QWidget>
#include <array>
#include <memory>

#include "widgets/run_types.h"

class QCustomPlot;
class QCPGraph;
class QTimer;

namespace attnlab {

class HoverReadout;

class MetricsPlots : public QWidget {
  Q_OBJECT

 public:
  enum Panel { Perplexity = 0, Agreement, LearningRate, Throughput, PanelCount };
  static constexpr int kReplotHz = 10;

  explicit MetricsPlots(QWidget* parent = nullptr);
  ~MetricsPlots() override;

  int addRun(const QString& name, QColor color = {});
  int runCount() const { return static_cast<int>(runs_.size()); }
  void clear();
  void setRun(int run, const RunRecord& rec);
  void flush();

  QCustomPlot* panel(Panel p) const { return panels_[p]; }
  static QString panelName(Panel p);
  /// Plotted points of one series: "ppl_ref", "ppl_custom", "top1", "density", "lr", "tokens_per_s".
  QVector<QPointF> series(int run, const QString& key) const;

 public Q_SLOTS:
  void appendTrain(int run, const QVector<attnlab::TrainPoint>& points);
  void appendValid(int run, const QVector<attnlab::ValidPoint>& points);

 private Q_SLOTS:
  void replotTick();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  struct Run {
    QString name;
    QColor color;
    QCPGraph *pplRef = nullptr, *pplCustom = nullptr, *top1 = nullptr, *density = nullptr, *lr = nullptr, *tps = nullptr;
  };
  std::array<QCustomPlot*, PanelCount> panels_{};
  std::array<std::unique_ptr<HoverReadout>, PanelCount> hovers_;
  std::vector<Run> runs_;
  QTimer* timer_;
  bool dirty_ = false;
  bool autoRange_ = true;
};

}  // namespace attnlab
