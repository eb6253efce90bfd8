#include "widgets/metrics_plots.h"

#include <qcustomplot.h>

#include <QGridLayout>
#include <QMouseEvent>
#include <QTimer>
#include <cmath>

#include "widgets/plot_util.h"

namespace attnlab {

QString MetricsPlots::panelName(Panel p) {
  switch (p) {
    case Perplexity: return QStringLiteral("perplexity");
    case Agreement: return QStringLiteral("agreement");
    case LearningRate: return QStringLiteral("lr");
    case Throughput: return QStringLiteral("throughput");
    default: return {};
  }
}

MetricsPlots::MetricsPlots(QWidget* parent) : QWidget(parent) {
  auto* grid = new QGridLayout(this);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->setSpacing(4);
  const QString ylabels[PanelCount] = {tr("validation perplexity"), tr("top-1 agreement / density"),
                                       tr("learning rate"), tr("tokens / s")};
  for (int i = 0; i < PanelCount; ++i) {
    auto* p = new QCustomPlot(this);
    stylePlot(p, tr("step"), ylabels[i]);
    p->legend->setVisible(false);
    p->installEventFilter(this);
    p->setMouseTracking(true);
    connect(p, &QCustomPlot::mouseWheel, this, [this] { autoRange_ = false; });
    connect(p, &QCustomPlot::mouseDoubleClick, this, [this] {
      autoRange_ = true;
      flush();
    });
    panels_[i] = p;
    grid->addWidget(p, i / 2, i % 2);
  }
  panels_[Perplexity]->legend->setVisible(true);
  panels_[Agreement]->legend->setVisible(true);
  panels_[Agreement]->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
  hovers_[Perplexity] = std::make_unique<HoverReadout>(panels_[Perplexity]);
  hovers_[Agreement] = std::make_unique<HoverReadout>(panels_[Agreement], [](const QString& g, double x, double y) {
    return QStringLiteral("%1\nstep %2: %3 %").arg(g).arg(x, 0, 'f', 0).arg(100 * y, 0, 'f', 2);
  });
  hovers_[LearningRate] = std::make_unique<HoverReadout>(panels_[LearningRate]);
  hovers_[Throughput] = std::make_unique<HoverReadout>(panels_[Throughput], [](const QString& g, double x, double y) {
    return QStringLiteral("%1\nstep %2: %3 tok/s").arg(g).arg(x, 0, 'f', 0).arg(y, 0, 'f', 0);
  });

  timer_ = new QTimer(this);
  timer_->setInterval(1000 / kReplotHz);
  connect(timer_, &QTimer::timeout, this, &MetricsPlots::replotTick);
  timer_->start();
}

MetricsPlots::~MetricsPlots() = default;

int MetricsPlots::addRun(const QString& name, QColor color) {
  Run r;
  r.name = name;
  r.color = color.isValid() ? color : seriesColor(static_cast<int>(runs_.size()));
  auto make = [&](Panel p, const QString& label, Qt::PenStyle style, bool markers) {
    QCPGraph* g = panels_[p]->addGraph();
    g->setName(label);
    g->setPen(QPen(r.color, style == Qt::SolidLine ? 2 : 1.5, style));
    if (markers) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
    return g;
  };
  r.pplRef = make(Perplexity, name + tr(" · reference"), Qt::DashLine, true);
  r.pplCustom = make(Perplexity, name + tr(" · custom"), Qt::SolidLine, true);
  r.top1 = make(Agreement, name + tr(" · top-1 agreement"), Qt::SolidLine, true);
  r.density = make(Agreement, name + tr(" · density"), Qt::DotLine, false);
  r.lr = make(LearningRate, name + tr(" · lr"), Qt::SolidLine, false);
  r.tps = make(Throughput, name + tr(" · tokens/s"), Qt::SolidLine, false);
  runs_.push_back(r);
  dirty_ = true;
  return runCount() - 1;
}

void MetricsPlots::clear() {
  for (QCustomPlot* p : panels_) p->clearGraphs();
  runs_.clear();
  for (auto& h : hovers_) h->hide();
  autoRange_ = true;
  dirty_ = true;
}

void MetricsPlots::setRun(int run, const RunRecord& rec) {
  if (run < 0 || run >= runCount()) return;
  const Run& r = runs_[run];
  for (QCPGraph* g : {r.pplRef, r.pplCustom, r.top1, r.density, r.lr, r.tps}) g->data()->clear();
  appendTrain(run, rec.train);
  appendValid(run, rec.valid);
}

void MetricsPlots::appendTrain(int run, const QVector<TrainPoint>& points) {
  if (run < 0 || run >= runCount()) return;
  const Run& r = runs_[run];
  for (const TrainPoint& p : points) {
    const double s = static_cast<double>(p.step);
    r.lr->addData(s, p.lr);
    if (p.tokensPerS > 0 && std::isfinite(p.tokensPerS)) r.tps->addData(s, p.tokensPerS);
  }
  dirty_ = true;
}

void MetricsPlots::appendValid(int run, const QVector<ValidPoint>& points) {
  if (run < 0 || run >= runCount()) return;
  const Run& r = runs_[run];
  for (const ValidPoint& p : points) {
    const double s = static_cast<double>(p.step);
    if (std::isfinite(p.pplRef)) r.pplRef->addData(s, p.pplRef);
    if (std::isfinite(p.pplCustom)) r.pplCustom->addData(s, p.pplCustom);
    if (std::isfinite(p.top1)) r.top1->addData(s, p.top1);
    if (std::isfinite(p.density)) r.density->addData(s, p.density);
  }
  dirty_ = true;
}

void MetricsPlots::replotTick() {
  if (dirty_ && isVisible()) flush();
}

void MetricsPlots::flush() {
  for (int i = 0; i < PanelCount; ++i) {
    QCustomPlot* p = panels_[i];
    if (autoRange_) {
      p->rescaleAxes(true);
      if (i == Agreement) p->yAxis->setRange(0, 1.02);
      if (i == Throughput || i == LearningRate) p->yAxis->setRangeLower(0);
      const QCPRange y = p->yAxis->range();
      const double pad = 0.05 * (y.upper - y.lower) + 1e-9 * std::max(1.0, std::abs(y.upper));
      if (i == Perplexity) p->yAxis->setRange(y.lower - pad, y.upper + pad);
      else if (i != Agreement) p->yAxis->setRangeUpper(y.upper + pad);
    }
    p->replot(QCustomPlot::rpQueuedReplot);
  }
  dirty_ = false;
}

QVector<QPointF> MetricsPlots::series(int run, const QString& key) const {
  QVector<QPointF> out;
  if (run < 0 || run >= runCount()) return out;
  const Run& r = runs_[run];
  const QCPGraph* g = key == QLatin1String("ppl_ref")       ? r.pplRef
                      : key == QLatin1String("ppl_custom")  ? r.pplCustom
                      : key == QLatin1String("top1")        ? r.top1
                      : key == QLatin1String("density")     ? r.density
                      : key == QLatin1String("lr")          ? r.lr
                      : key == QLatin1String("tokens_per_s") ? r.tps
                                                             : nullptr;
  if (!g) return out;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out.push_back({it->key, it->value});
  return out;
}

bool MetricsPlots::eventFilter(QObject* watched, QEvent* event) {
  for (int i = 0; i < PanelCount; ++i) {
    if (watched != panels_[i]) continue;
    if (event->type() == QEvent::MouseMove) {
      auto* me = static_cast<QMouseEvent*>(event);
      if (me->buttons() & Qt::LeftButton) {
        autoRange_ = false;
        hovers_[i]->hide();
      } else {
        hovers_[i]->update(me->position().x(), me->position().y());
      }
    } else if (event->type() == QEvent::Leave) {
      hovers_[i]->hide();
    }
  }
  return QWidget::eventFilter(watched, event);
}

}  // namespace attnlab
