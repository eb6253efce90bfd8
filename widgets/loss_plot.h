// Training KL per step for one or more runs: raw points, an EMA-smoothed line (adjustable),
// a min/max envelope band over the smoothing window, validation-KL markers, log-y toggle,
// wheel zoom / drag pan and a hover read-out. Points are appended as they arrive; the plot
// is rebuilt at most kReplotHz times per second (coalescing), so a fast run cannot flood
// the GUI thread.
#pragma once
#include <QPointF>
#include <QVector>
#include <QWidget>
#include <memory>

#include "widgets/run_types.h"

class QCustomPlot;
class QCPGraph;
class QCheckBox;
class QLabel;
class QSlider;
class QTimer;

namespace attnlab {

class HoverReadout;

class LossPlot : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kReplotHz = 10;
  explicit LossPlot(QWidget* parent = nullptr);
  ~LossPlot() override;

  /// Adds a run (curve set); returns its index. Colour defaults to the palette.
  int addRun(const QString& name, QColor color = {});
  int runCount() const { return static_cast<int>(runs_.size()); }
  void clear();
  void setRun(int run, const RunRecord& rec);  // replaces the run's points

  /// Smoothing factor in [0, 0.999]: EMA weight of the past (0 = none).
  void setSmoothing(double alpha);
  double smoothing() const { return alpha_; }
  void setLogY(bool on);
  bool logY() const;
  void setEnvelopeVisible(bool on);

  /// Rebuilds graphs and replots now (tests, screenshots, export).
  void flush();
  void resetZoom();

  QCustomPlot* plot() const { return plot_; }
  /// Curves as plotted (after flush): raw train KL, smoothed train KL, validation KL.
  QVector<QPointF> trainCurve(int run) const;
  QVector<QPointF> smoothedCurve(int run) const;
  QVector<QPointF> validCurve(int run) const;
  /// Envelope (min, max) over the trailing smoothing window, per train point.
  QVector<QPointF> envelopeLow(int run) const;
  QVector<QPointF> envelopeHigh(int run) const;
  /// Text of the hover read-out for a pixel position in the plot ("" = nothing near).
  QString hoverAt(const QPoint& plotPixel);

 public Q_SLOTS:
  void appendTrain(int run, const QVector<attnlab::TrainPoint>& points);
  void appendValid(int run, const QVector<attnlab::ValidPoint>& points);

 private Q_SLOTS:
  void smoothingChanged(int sliderValue);
  void logYChanged(bool on);
  void replotTick();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  struct Run {
    QString name;
    QColor color;
    QVector<double> steps, kl;           // train (finite KL only)
    QVector<double> vsteps, vkl;         // validation
    QCPGraph *raw = nullptr, *low = nullptr, *high = nullptr, *ema = nullptr, *valid = nullptr;
    bool dirty = true;
  };
  void rebuild(Run& r);
  void scheduleReplot(int run);

  QCustomPlot* plot_;
  QSlider* smoothSlider_;
  QLabel* smoothLabel_;
  QCheckBox* logBox_;
  QCheckBox* envelopeBox_;
  QTimer* timer_;
  std::unique_ptr<HoverReadout> hover_;
  std::vector<Run> runs_;
  double alpha_ = 0.9;
  bool dirty_ = false;
  bool autoRange_ = true;  // follows the data until the user zooms or pans
};

/// EMA with TensorBoard's debiasing (first points are not pulled towards 0).
QVector<double> emaSmooth(const QVector<double>& y, double alpha);
/// Trailing-window min and max (window >= 1), O(n) with monotone deques.
void windowMinMax(const QVector<double>& y, int window, QVector<double>& lo, QVector<double>& hi);

}  // namespace attnlab
