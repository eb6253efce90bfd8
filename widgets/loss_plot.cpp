#include "widgets/loss_plot.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QSlider>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <deque>

#include "widgets/plot_util.h"

namespace attnlab {

QVector<double> emaSmooth(const QVector<double>& y, double alpha) {
  QVector<double> out(y.size());
  double acc = 0, weight = 0;
  for (int i = 0; i < y.size(); ++i) {
    acc = alpha * acc + (1 - alpha) * y[i];
    weight = alpha * weight + (1 - alpha);
    out[i] = weight > 0 ? acc / weight : y[i];
  }
  return out;
}

void windowMinMax(const QVector<double>& y, int window, QVector<double>& lo, QVector<double>& hi) {
  window = std::max(1, window);
  lo.resize(y.size());
  hi.resize(y.size());
  std::deque<int> mn, mx;  // indices with increasing / decreasing values
  for (int i = 0; i < y.size(); ++i) {
    while (!mn.empty() && y[mn.back()] >= y[i]) mn.pop_back();
    while (!mx.empty() && y[mx.back()] <= y[i]) mx.pop_back();
    mn.push_back(i);
    mx.push_back(i);
    while (mn.front() <= i - window) mn.pop_front();
    while (mx.front() <= i - window) mx.pop_front();
    lo[i] = y[mn.front()];
    hi[i] = y[mx.front()];
  }
}

LossPlot::LossPlot(QWidget* parent) : QWidget(parent) {
  plot_ = new QCustomPlot(this);
  stylePlot(plot_, tr("step"), tr("KL(P_ref ‖ P_custom)  [nats/token]"));
  plot_->legend->setVisible(true);
  plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  plot_->installEventFilter(this);
  plot_->setMouseTracking(true);
  hover_ = std::make_unique<HoverReadout>(plot_);

  smoothSlider_ = new QSlider(Qt::Horizontal, this);
  smoothSlider_->setRange(0, 99);
  smoothSlider_->setValue(static_cast<int>(std::lround(alpha_ * 100)));
  smoothSlider_->setToolTip(tr("EMA smoothing of the training KL; the band shows min/max over the same window"));
  smoothSlider_->setMaximumWidth(180);
  smoothLabel_ = new QLabel(this);
  smoothLabel_->setMinimumWidth(36);
  logBox_ = new QCheckBox(tr("Log y"), this);
  envelopeBox_ = new QCheckBox(tr("Min/max band"), this);
  envelopeBox_->setChecked(true);
  auto* reset = new QPushButton(tr("Reset zoom"), this);
  reset->setToolTip(tr("Follow the data again (also: double-click the plot)"));

  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Smoothing"), this));
  bar->addWidget(smoothSlider_);
  bar->addWidget(smoothLabel_);
  bar->addSpacing(12);
  bar->addWidget(envelopeBox_);
  bar->addWidget(logBox_);
  bar->addStretch(1);
  bar->addWidget(reset);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  lay->addLayout(bar);
  lay->addWidget(plot_, 1);

  connect(smoothSlider_, &QSlider::valueChanged, this, &LossPlot::smoothingChanged);
  connect(logBox_, &QCheckBox::toggled, this, &LossPlot::logYChanged);
  connect(envelopeBox_, &QCheckBox::toggled, this, &LossPlot::setEnvelopeVisible);
  connect(reset, &QPushButton::clicked, this, &LossPlot::resetZoom);
  connect(plot_, &QCustomPlot::mouseWheel, this, [this] { autoRange_ = false; });
  connect(plot_, &QCustomPlot::mouseDoubleClick, this, &LossPlot::resetZoom);
  smoothingChanged(smoothSlider_->value());

  timer_ = new QTimer(this);
  timer_->setInterval(1000 / kReplotHz);
  connect(timer_, &QTimer::timeout, this, &LossPlot::replotTick);
  timer_->start();
}

LossPlot::~LossPlot() = default;

int LossPlot::addRun(const QString& name, QColor color) {
  Run r;
  r.name = name;
  r.color = color.isValid() ? color : seriesColor(static_cast<int>(runs_.size()));
  QColor faint = r.color;
  faint.setAlpha(70);
  QColor band = r.color;
  band.setAlpha(40);

  r.low = plot_->addGraph();
  r.low->setName(QStringLiteral("_low"));
  r.high = plot_->addGraph();
  r.high->setName(QStringLiteral("_high"));
  for (QCPGraph* g : {r.low, r.high}) {
    g->setPen(Qt::NoPen);
    g->removeFromLegend();
  }
  r.low->setBrush(band);
  r.low->setChannelFillGraph(r.high);

  r.raw = plot_->addGraph();
  r.raw->setName(name + tr(" · train KL"));
  r.raw->setPen(QPen(faint, 1));
  r.raw->removeFromLegend();

  r.ema = plot_->addGraph();
  r.ema->setName(name + tr(" · train KL (smoothed)"));
  r.ema->setPen(QPen(r.color, 2));

  r.valid = plot_->addGraph();
  r.valid->setName(name + tr(" · valid KL"));
  r.valid->setLineStyle(QCPGraph::lsNone);
  r.valid->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, r.color.darker(130), Qt::white, 9));
  r.low->setVisible(envelopeBox_->isChecked());
  r.high->setVisible(envelopeBox_->isChecked());
  runs_.push_back(std::move(r));
  scheduleReplot(runCount() - 1);
  return runCount() - 1;
}

void LossPlot::clear() {
  plot_->clearGraphs();
  runs_.clear();
  hover_->hide();
  autoRange_ = true;
  dirty_ = true;
}

void LossPlot::setRun(int run, const RunRecord& rec) {
  if (run < 0 || run >= runCount()) return;
  Run& r = runs_[run];
  r.steps.clear();
  r.kl.clear();
  r.vsteps.clear();
  r.vkl.clear();
  appendTrain(run, rec.train);
  appendValid(run, rec.valid);
}

void LossPlot::appendTrain(int run, const QVector<TrainPoint>& points) {
  if (run < 0 || run >= runCount()) return;
  Run& r = runs_[run];
  for (const TrainPoint& p : points) {
    if (p.skipped || !std::isfinite(p.kl)) continue;
    r.steps.push_back(static_cast<double>(p.step));
    r.kl.push_back(p.kl);
  }
  scheduleReplot(run);
}

void LossPlot::appendValid(int run, const QVector<ValidPoint>& points) {
  if (run < 0 || run >= runCount()) return;
  Run& r = runs_[run];
  for (const ValidPoint& p : points) {
    if (!std::isfinite(p.kl)) continue;
    r.vsteps.push_back(static_cast<double>(p.step));
    r.vkl.push_back(p.kl);
  }
  scheduleReplot(run);
}

void LossPlot::setSmoothing(double alpha) {
  smoothSlider_->setValue(static_cast<int>(std::lround(std::clamp(alpha, 0.0, 0.99) * 100)));
}

bool LossPlot::logY() const { return logBox_->isChecked(); }
void LossPlot::setLogY(bool on) { logBox_->setChecked(on); }

void LossPlot::setEnvelopeVisible(bool on) {
  envelopeBox_->setChecked(on);
  for (Run& r : runs_) {
    r.low->setVisible(on);
    r.high->setVisible(on);
  }
  dirty_ = true;
}

void LossPlot::smoothingChanged(int sliderValue) {
  alpha_ = sliderValue / 100.0;
  smoothLabel_->setText(QString::number(alpha_, 'f', 2));
  for (Run& r : runs_) r.dirty = true;
  dirty_ = true;
}

void LossPlot::logYChanged(bool on) {
  if (on) {
    plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
    plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
  } else {
    plot_->yAxis->setScaleType(QCPAxis::stLinear);
    plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
  }
  autoRange_ = true;
  dirty_ = true;
}

void LossPlot::scheduleReplot(int run) {
  runs_[run].dirty = true;
  dirty_ = true;
}

void LossPlot::rebuild(Run& r) {
  const QVector<double> smooth = emaSmooth(r.kl, alpha_);
  QVector<double> lo, hi;
  const int window = static_cast<int>(std::lround(1.0 / std::max(1e-3, 1.0 - alpha_)));
  windowMinMax(r.kl, window, lo, hi);
  r.raw->setData(r.steps, r.kl, true);
  r.ema->setData(r.steps, smooth, true);
  r.low->setData(r.steps, lo, true);
  r.high->setData(r.steps, hi, true);
  r.valid->setData(r.vsteps, r.vkl, true);
  r.dirty = false;
}

void LossPlot::replotTick() {
  if (!dirty_ || !isVisible()) return;
  flush();
}

void LossPlot::flush() {
  for (Run& r : runs_)
    if (r.dirty) rebuild(r);
  plot_->legend->setVisible(!runs_.empty());
  if (autoRange_ && !runs_.empty()) {
    plot_->rescaleAxes(true);
    // A little headroom so markers are not cut at the border.
    const QCPRange y = plot_->yAxis->range();
    if (plot_->yAxis->scaleType() == QCPAxis::stLinear)
      plot_->yAxis->setRange(std::min(0.0, y.lower), y.upper + 0.05 * (y.upper - y.lower) + 1e-9);
    else
      plot_->yAxis->setRange(y.lower / 1.2, y.upper * 1.2);
  }
  dirty_ = false;
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlot::resetZoom() {
  autoRange_ = true;
  dirty_ = true;
  flush();
}

namespace {
QVector<QPointF> points(const QCPGraph* g) {
  QVector<QPointF> out;
  if (!g) return out;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out.push_back({it->key, it->value});
  return out;
}
}  // namespace

QVector<QPointF> LossPlot::trainCurve(int run) const { return run < runCount() ? points(runs_[run].raw) : QVector<QPointF>{}; }
QVector<QPointF> LossPlot::smoothedCurve(int run) const { return run < runCount() ? points(runs_[run].ema) : QVector<QPointF>{}; }
QVector<QPointF> LossPlot::validCurve(int run) const { return run < runCount() ? points(runs_[run].valid) : QVector<QPointF>{}; }
QVector<QPointF> LossPlot::envelopeLow(int run) const { return run < runCount() ? points(runs_[run].low) : QVector<QPointF>{}; }
QVector<QPointF> LossPlot::envelopeHigh(int run) const { return run < runCount() ? points(runs_[run].high) : QVector<QPointF>{}; }

QString LossPlot::hoverAt(const QPoint& plotPixel) { return hover_->update(plotPixel.x(), plotPixel.y()); }

bool LossPlot::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_) {
    if (event->type() == QEvent::MouseMove) {
      auto* me = static_cast<QMouseEvent*>(event);
      if (me->buttons() & Qt::LeftButton) {
        autoRange_ = false;  // the user pans
        hover_->hide();
      } else {
        hover_->update(me->position().x(), me->position().y());
      }
    } else if (event->type() == QEvent::Leave) {
      hover_->hide();
    }
  }
  return QWidget::eventFilter(watched, event);
}

}  // namespace attnlab
