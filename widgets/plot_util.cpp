#include "widgets/plot_util.h"

#include <qcustomplot.h>

#include <QFileInfo>
#include <cmath>
#include <limits>

#ifdef ATTNLAB_HAVE_QTSVG
#include <QSvgGenerator>
#endif

namespace attnlab {

void stylePlot(QCustomPlot* plot, const QString& xLabel, const QString& yLabel) {
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot->setNoAntialiasingOnDrag(true);
  plot->xAxis->setLabel(xLabel);
  plot->yAxis->setLabel(yLabel);
  QFont f = plot->font();
  f.setPointSizeF(f.pointSizeF() * 0.9);
  for (QCPAxis* ax : {plot->xAxis, plot->yAxis}) {
    ax->setTickLabelFont(f);
    ax->setLabelFont(f);
    ax->grid()->setPen(QPen(QColor(220, 220, 220), 0, Qt::DotLine));
  }
  plot->legend->setFont(f);
  plot->legend->setBrush(QColor(255, 255, 255, 210));
  plot->legend->setBorderPen(QPen(QColor(180, 180, 180)));
  plot->setMinimumSize(160, 120);
}

HoverReadout::HoverReadout(QCustomPlot* plot, Formatter fmt) : plot_(plot), fmt_(std::move(fmt)) {
  tracer_ = new QCPItemTracer(plot_);
  tracer_->setStyle(QCPItemTracer::tsCircle);
  tracer_->setSize(7);
  tracer_->setPen(QPen(Qt::black));
  tracer_->setVisible(false);
  tracer_->setInterpolating(false);
  tracer_->setSelectable(false);
  label_ = new QCPItemText(plot_);
  label_->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
  label_->setPadding(QMargins(4, 2, 4, 2));
  label_->setBrush(QColor(255, 255, 255, 230));
  label_->setPen(QPen(QColor(160, 160, 160)));
  label_->setTextAlignment(Qt::AlignLeft);
  label_->position->setType(QCPItemPosition::ptAbsolute);
  label_->setVisible(false);
  label_->setSelectable(false);
  label_->setClipToAxisRect(false);
  if (!fmt_)
    fmt_ = [](const QString& g, double x, double y) {
      return QStringLiteral("%1\nstep %2: %3").arg(g).arg(x, 0, 'f', 0).arg(y, 0, 'g', 5);
    };
}

QString HoverReadout::update(double px, double py) {
  QCPGraph* best = nullptr;
  double bestDist = std::numeric_limits<double>::infinity(), bestX = 0, bestY = 0;
  for (int i = 0; i < plot_->graphCount(); ++i) {
    QCPGraph* g = plot_->graph(i);
    if (!g->visible() || g->name().startsWith(QLatin1Char('_')) || g->data()->isEmpty()) continue;
    const double x = g->keyAxis()->pixelToCoord(px);
    auto it = g->data()->findBegin(x, false);
    for (int k = 0; k < 2 && it != g->data()->constEnd(); ++k, ++it) {
      if (!std::isfinite(it->value)) continue;
      const double dx = g->keyAxis()->coordToPixel(it->key) - px;
      const double dy = g->valueAxis()->coordToPixel(it->value) - py;
      const double d = dx * dx + dy * dy;
      if (d < bestDist) {
        bestDist = d;
        best = g;
        bestX = it->key;
        bestY = it->value;
      }
    }
  }
  constexpr double kMaxPixels = 40.0;  // farther than this: show nothing
  if (!best || bestDist > kMaxPixels * kMaxPixels) {
    hide();
    return {};
  }
  tracer_->setGraph(best);
  tracer_->setGraphKey(bestX);
  tracer_->setVisible(true);
  text_ = fmt_(best->name(), bestX, bestY);
  label_->setText(text_);
  const double lx = best->keyAxis()->coordToPixel(bestX) + 8;
  const double ly = best->valueAxis()->coordToPixel(bestY) - 6;
  label_->position->setCoords(std::min(lx, plot_->width() - 140.0), std::max(ly, 40.0));
  label_->setVisible(true);
  plot_->replot(QCustomPlot::rpQueuedReplot);
  return text_;
}

void HoverReadout::hide() {
  if (!label_->visible() && !tracer_->visible()) return;
  text_.clear();
  tracer_->setVisible(false);
  label_->setVisible(false);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

QStringList exportFormats() {
#ifdef ATTNLAB_HAVE_QTSVG
  return {QStringLiteral("png"), QStringLiteral("pdf"), QStringLiteral("svg")};
#else
  return {QStringLiteral("png"), QStringLiteral("pdf")};
#endif
}

bool exportPlot(QCustomPlot* plot, const QString& path, int width, int height, QString* error) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  bool ok = false;
  if (suffix == QLatin1String("png")) {
    ok = plot->savePng(path, width, height, 2.0);
  } else if (suffix == QLatin1String("pdf")) {
    ok = plot->savePdf(path, width, height);
  } else if (suffix == QLatin1String("svg")) {
#ifdef ATTNLAB_HAVE_QTSVG
    QSvgGenerator gen;
    gen.setFileName(path);
    gen.setSize(QSize(width, height));
    gen.setViewBox(QRect(0, 0, width, height));
    QCPPainter painter;
    ok = painter.begin(&gen);
    if (ok) {
      plot->toPainter(&painter, width, height);
      painter.end();
    }
#else
    if (error) *error = QStringLiteral("SVG export needs Qt SVG (qt6-svg-dev), which this build lacks; use PDF for vector output");
    return false;
#endif
  } else {
    if (error) *error = QStringLiteral("unknown export format '%1' (use %2)").arg(suffix, exportFormats().join(QStringLiteral(", ")));
    return false;
  }
  if (!ok && error) *error = QStringLiteral("could not write %1").arg(path);
  return ok;
}

QCPColorGradient viridisGradient() {
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.00, QColor(68, 1, 84));
  g.setColorStopAt(0.25, QColor(59, 82, 139));
  g.setColorStopAt(0.50, QColor(33, 145, 140));
  g.setColorStopAt(0.75, QColor(94, 201, 98));
  g.setColorStopAt(1.00, QColor(253, 231, 37));
  g.setColorInterpolation(QCPColorGradient::ciRGB);
  g.setNanHandling(QCPColorGradient::nhNanColor);
  g.setNanColor(QColor(245, 245, 245));
  g.setLevelCount(256);
  return g;
}

}  // namespace attnlab
