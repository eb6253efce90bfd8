// One attention matrix as a heatmap: QCPColorMap (no interpolation: one cell per
// query/key pair) with a colour scale, token labels on both axes (every k-th label when
// there are too many to read), query 0 at the top, and a hover tooltip
// "query token → key token: value". Causal-future cells arrive as NaN and stay blank.
#pragma once
#include <QStringList>
#include <QWidget>

#include "widgets/run_types.h"

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCheckBox;

namespace attnlab {

class AttentionHeatmap : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kMaxLabels = 48;  // more tokens than this: label every k-th
  explicit AttentionHeatmap(QWidget* parent = nullptr);

  void setMap(const AttentionMapView& map);
  const AttentionMapView& map() const { return map_; }
  void clear();

  /// Log colour scale (attention spans orders of magnitude); ignored for diverging maps.
  void setLogScale(bool on);
  bool logScale() const;

  QCustomPlot* plot() const { return plot_; }
  QCPColorMap* colorMap() const { return colorMap_; }
  /// Number of cells in the colour map (cols * rows).
  int cellCount() const;
  /// Tick labels currently on the axes, keyed by tick position.
  QMap<double, QString> xTickLabels() const;
  QMap<double, QString> yTickLabels() const;
  /// The tooltip text for a cell ("" outside the map).
  QString cellText(int query, int key) const;
  /// Cell under a pixel of the plot, {-1,-1} outside.
  QPoint cellAt(const QPoint& plotPixel) const;

 Q_SIGNALS:
  void cellHovered(int query, int key);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private Q_SLOTS:
  void logScaleChanged(bool on);

 private:
  void applyRange();
  QCustomPlot* plot_;
  QCPColorMap* colorMap_;
  QCPColorScale* scale_;
  QCheckBox* logBox_;
  AttentionMapView map_;
};

}  // namespace attnlab
