#include "widgets/attention_heatmap.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QHBoxLayout>
#include <QMouseEvent>
#include <QToolTip>
#include <QVBoxLayout>
#include <cmath>

#include "widgets/plot_util.h"

namespace attnlab {

namespace {
QSharedPointer<QCPAxisTickerText> labelTicker(const QStringList& labels, int maxLabels) {
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  const int n = labels.size();
  const int every = n > maxLabels ? (n + maxLabels - 1) / maxLabels : 1;
  for (int i = 0; i < n; i += every) ticker->addTick(i, labels[i]);
  return ticker;
}
QString shortLabel(const QStringList& labels, int i) {
  QString s = i >= 0 && i < labels.size() ? labels[i] : QString::number(i);
  return s.size() > 16 ? s.left(15) + QChar(0x2026) : s;
}
}  // namespace

AttentionHeatmap::AttentionHeatmap(QWidget* parent) : QWidget(parent) {
  plot_ = new QCustomPlot(this);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot_->setMouseTracking(true);
  plot_->installEventFilter(this);
  plot_->axisRect()->setupFullAxesBox(true);
  plot_->xAxis->setLabel(tr("key"));
  plot_->yAxis->setLabel(tr("query"));
  plot_->yAxis->setRangeReversed(true);  // query 0 at the top, like a matrix
  plot_->xAxis->setTickLabelRotation(60);
  for (QCPAxis* ax : {plot_->xAxis, plot_->yAxis}) {
    ax->grid()->setVisible(false);
    ax->setSubTicks(false);
    QFont f = ax->tickLabelFont();
    f.setPointSizeF(f.pointSizeF() * 0.8);
    ax->setTickLabelFont(f);
  }
  plot_->xAxis2->setTicks(false);
  plot_->yAxis2->setTicks(false);

  colorMap_ = new QCPColorMap(plot_->xAxis, plot_->yAxis);
  colorMap_->setInterpolate(false);
  colorMap_->setTightBoundary(false);
  scale_ = new QCPColorScale(plot_);
  plot_->plotLayout()->addElement(0, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  scale_->setBarWidth(12);
  colorMap_->setColorScale(scale_);
  colorMap_->setGradient(viridisGradient());
  auto* group = new QCPMarginGroup(plot_);
  plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);

  logBox_ = new QCheckBox(tr("Log colour scale"), this);
  connect(logBox_, &QCheckBox::toggled, this, &AttentionHeatmap::logScaleChanged);
  auto* bar = new QHBoxLayout;
  bar->addStretch(1);
  bar->addWidget(logBox_);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  lay->addLayout(bar);
  lay->addWidget(plot_, 1);
  clear();
}

void AttentionHeatmap::clear() {
  map_ = {};
  colorMap_->data()->clear();
  colorMap_->data()->setSize(1, 1);
  colorMap_->data()->fill(qQNaN());
  plot_->xAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
  plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerText>::create());
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionHeatmap::setMap(const AttentionMapView& map) {
  map_ = map;
  const int cols = std::max(1, map.cols), rows = std::max(1, map.rows);
  QCPColorMapData* d = colorMap_->data();
  d->setSize(cols, rows);
  d->setRange(QCPRange(0, cols - 1), QCPRange(0, rows - 1));  // cell centres at integers
  for (int q = 0; q < map.rows; ++q)
    for (int k = 0; k < map.cols; ++k) {
      const int idx = q * map.cols + k;
      d->setCell(k, q, idx < map.values.size() ? map.values[idx] : qQNaN());
    }
  plot_->xAxis->setTicker(labelTicker(map.colLabels, kMaxLabels));
  plot_->yAxis->setTicker(labelTicker(map.rowLabels, kMaxLabels));
  plot_->xAxis->setRange(-0.5, cols - 0.5);
  plot_->yAxis->setRange(-0.5, rows - 0.5);
  scale_->axis()->setLabel(map.title);
  applyRange();
}

void AttentionHeatmap::applyRange() {
  QCPColorGradient g = map_.diverging ? QCPColorGradient(QCPColorGradient::gpPolar) : viridisGradient();
  g.setNanHandling(QCPColorGradient::nhNanColor);
  g.setNanColor(QColor(245, 245, 245));
  colorMap_->setGradient(g);
  if (map_.diverging) {
    double m = 0;
    for (float v : map_.values)
      if (std::isfinite(v)) m = std::max(m, std::abs(static_cast<double>(v)));
    colorMap_->setDataScaleType(QCPAxis::stLinear);
    scale_->setDataScaleType(QCPAxis::stLinear);
    colorMap_->setDataRange(QCPRange(-std::max(m, 1e-9), std::max(m, 1e-9)));
  } else if (logBox_->isChecked()) {
    double lo = 1.0, hi = 1e-12;
    for (float v : map_.values)
      if (std::isfinite(v) && v > 0) {
        lo = std::min(lo, static_cast<double>(v));
        hi = std::max(hi, static_cast<double>(v));
      }
    scale_->setDataScaleType(QCPAxis::stLogarithmic);
    scale_->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    colorMap_->setDataRange(QCPRange(std::max(lo, 1e-6), std::max(hi, 1e-5)));
  } else {
    scale_->setDataScaleType(QCPAxis::stLinear);
    scale_->axis()->setTicker(QSharedPointer<QCPAxisTicker>::create());
    colorMap_->rescaleDataRange(true);
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionHeatmap::setLogScale(bool on) { logBox_->setChecked(on); }
bool AttentionHeatmap::logScale() const { return logBox_->isChecked(); }
void AttentionHeatmap::logScaleChanged(bool) { applyRange(); }

int AttentionHeatmap::cellCount() const {
  return colorMap_->data()->keySize() * colorMap_->data()->valueSize();
}

QMap<double, QString> AttentionHeatmap::xTickLabels() const {
  auto t = plot_->xAxis->ticker().dynamicCast<QCPAxisTickerText>();
  return t ? t->ticks() : QMap<double, QString>{};
}
QMap<double, QString> AttentionHeatmap::yTickLabels() const {
  auto t = plot_->yAxis->ticker().dynamicCast<QCPAxisTickerText>();
  return t ? t->ticks() : QMap<double, QString>{};
}

QString AttentionHeatmap::cellText(int query, int key) const {
  if (query < 0 || key < 0 || query >= map_.rows || key >= map_.cols) return {};
  const float v = map_.values.value(query * map_.cols + key, qQNaN());
  const QString val = std::isfinite(v) ? QString::number(v, 'g', 4) : tr("not attended");
  return QStringLiteral("%1 “%2” → %3 “%4”: %5")
      .arg(query)
      .arg(shortLabel(map_.rowLabels, query))
      .arg(key)
      .arg(shortLabel(map_.colLabels, key))
      .arg(val);
}

QPoint AttentionHeatmap::cellAt(const QPoint& px) const {
  if (!plot_->axisRect()->rect().contains(px)) return {-1, -1};
  const int k = static_cast<int>(std::lround(plot_->xAxis->pixelToCoord(px.x())));
  const int q = static_cast<int>(std::lround(plot_->yAxis->pixelToCoord(px.y())));
  if (q < 0 || k < 0 || q >= map_.rows || k >= map_.cols) return {-1, -1};
  return {k, q};
}

bool AttentionHeatmap::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_ && event->type() == QEvent::MouseMove) {
    auto* me = static_cast<QMouseEvent*>(event);
    const QPoint cell = cellAt(me->position().toPoint());
    if (cell.x() >= 0) {
      QToolTip::showText(me->globalPosition().toPoint(), cellText(cell.y(), cell.x()), plot_);
      Q_EMIT cellHovered(cell.y(), cell.x());
    } else {
      QToolTip::hideText();
    }
  }
  return QWidget::eventFilter(watched, event);
}

}  // namespace attnlab
