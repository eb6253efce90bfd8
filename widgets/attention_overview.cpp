#include "widgets/attention_overview.h"

#include <qcustomplot.h>

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <cmath>

#include "widgets/plot_util.h"

namespace attnlab {

AttentionOverviewGrid::AttentionOverviewGrid(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void AttentionOverviewGrid::clear() {
  view_ = {};
  images_.clear();
  selLayer_ = selHead_ = -1;
  update();
}

void AttentionOverviewGrid::setOverview(const AttentionOverviewView& view) {
  view_ = view;
  images_.clear();
  QCPColorGradient grad = viridisGradient();
  for (const QVector<float>& m : view.maps) {
    QImage img(view.size, view.size, QImage::Format_RGB32);
    // Normalise each thumbnail on its own (a sqrt stretch shows diffuse heads too).
    float hi = 0;
    for (float v : m)
      if (std::isfinite(v)) hi = std::max(hi, v);
    for (int y = 0; y < view.size; ++y)
      for (int x = 0; x < view.size; ++x) {
        const float v = m.value(y * view.size + x, qQNaN());
        if (!std::isfinite(v) || hi <= 0) {
          img.setPixel(x, y, qRgb(245, 245, 245));
        } else {
          const double t = std::sqrt(std::max(0.f, v) / hi);
          img.setPixel(x, y, grad.color(t, QCPRange(0, 1)));
        }
      }
    images_.push_back(img);
  }
  if (selLayer_ >= view.layers || selHead_ >= view.heads) selLayer_ = selHead_ = -1;
  updateGeometry();
  update();
}

void AttentionOverviewGrid::setSelected(int layer, int head) {
  selLayer_ = layer;
  selHead_ = head;
  update();
}

int AttentionOverviewGrid::cellSize() const {
  if (view_.layers <= 0 || view_.heads <= 0) return 0;
  const int w = (width() - kMarginLeft) / view_.heads - kGap;
  const int h = (height() - kMarginTop) / view_.layers - kGap;
  return std::max(8, std::min(w, h));
}

QRect AttentionOverviewGrid::cellRect(int layer, int head) const {
  const int s = cellSize();
  return {kMarginLeft + head * (s + kGap), kMarginTop + layer * (s + kGap), s, s};
}

QSize AttentionOverviewGrid::sizeHint() const {
  const int s = 36;
  return {kMarginLeft + std::max(1, view_.heads) * (s + kGap), kMarginTop + std::max(1, view_.layers) * (s + kGap)};
}
QSize AttentionOverviewGrid::minimumSizeHint() const { return {120, 120}; }

void AttentionOverviewGrid::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.fillRect(rect(), palette().base());
  if (images_.isEmpty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, tr("Attention thumbnails (layers × heads) appear here"));
    return;
  }
  QFont f = font();
  f.setPointSizeF(f.pointSizeF() * 0.8);
  p.setFont(f);
  p.setPen(palette().color(QPalette::Text));
  for (int h = 0; h < view_.heads; ++h) {
    const QRect r = cellRect(0, h);
    p.drawText(QRect(r.x(), 0, r.width(), kMarginTop), Qt::AlignCenter, QStringLiteral("H%1").arg(h));
  }
  for (int l = 0; l < view_.layers; ++l) {
    const QRect r = cellRect(l, 0);
    p.drawText(QRect(0, r.y(), kMarginLeft - 4, r.height()), Qt::AlignRight | Qt::AlignVCenter, QStringLiteral("L%1").arg(l));
    for (int h = 0; h < view_.heads; ++h) {
      const int idx = l * view_.heads + h;
      if (idx < images_.size()) p.drawImage(cellRect(l, h), images_[idx]);
    }
  }
  if (selLayer_ >= 0 && selHead_ >= 0) {
    p.setPen(QPen(QColor(230, 60, 30), 2));
    p.setBrush(Qt::NoBrush);
    p.drawRect(cellRect(selLayer_, selHead_).adjusted(-1, -1, 1, 1));
  }
}

void AttentionOverviewGrid::mousePressEvent(QMouseEvent* e) {
  for (int l = 0; l < view_.layers; ++l)
    for (int h = 0; h < view_.heads; ++h)
      if (cellRect(l, h).contains(e->position().toPoint())) {
        setSelected(l, h);
        Q_EMIT cellSelected(l, h);
        return;
      }
}

void AttentionOverviewGrid::mouseMoveEvent(QMouseEvent* e) {
  for (int l = 0; l < view_.layers; ++l)
    for (int h = 0; h < view_.heads; ++h)
      if (cellRect(l, h).contains(e->position().toPoint())) {
        QToolTip::showText(e->globalPosition().toPoint(), tr("layer %1, head %2 (click to inspect)").arg(l).arg(h), this);
        return;
      }
  QToolTip::hideText();
}

}  // namespace attnlab
