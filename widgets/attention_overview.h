// Layers x heads thumbnails of attention maps (average-pooled by the engine); click a
// thumbnail to select (layer, head). Painted directly (QImage per cell), not with
// QCustomPlot: 144 tiny plots would be slow and add nothing.
#pragma once
#include <QImage>
#include <QVector>
#include <QWidget>

#include "widgets/run_types.h"

namespace attnlab {

class AttentionOverviewGrid : public QWidget {
  Q_OBJECT

 public:
  explicit AttentionOverviewGrid(QWidget* parent = nullptr);

  void setOverview(const AttentionOverviewView& view);
  void clear();
  int layers() const { return view_.layers; }
  int heads() const { return view_.heads; }
  void setSelected(int layer, int head);
  int selectedLayer() const { return selLayer_; }
  int selectedHead() const { return selHead_; }
  /// Geometry of a thumbnail in widget coordinates (for tests and hit testing).
  QRect cellRect(int layer, int head) const;

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 Q_SIGNALS:
  void cellSelected(int layer, int head);

 protected:
  void paintEvent(QPaintEvent*) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;

 private:
  int cellSize() const;
  AttentionOverviewView view_;
  QVector<QImage> images_;
  int selLayer_ = -1, selHead_ = -1;
  static constexpr int kMarginLeft = 34, kMarginTop = 18, kGap = 2;
};

}  // namespace attnlab
