// LossPlot, MetricsPlots and CoefficientGrid: smoothing maths, appended points reach the
// graphs, validation markers, log-y, hover read-out, coefficient layout and redraw marks.
#include <QtTest/QtTest>

#include "test_registry.h"
#include "widgets/coefficient_grid.h"
#include "widgets/loss_plot.h"
#include "widgets/metrics_plots.h"

#include <QTableWidget>
#include <qcustomplot.h>

using namespace attnlab;

namespace {
QVector<TrainPoint> trainPoints(int n, double start = 2.0) {
  QVector<TrainPoint> v;
  for (int i = 1; i <= n; ++i) {
    TrainPoint p;
    p.step = i;
    p.kl = start / i + (i % 2 ? 0.05 : -0.05);  // decaying, noisy
    p.lr = 0.01;
    p.tokensPerS = 1000 + i;
    v << p;
  }
  return v;
}
}  // namespace

class PlotsTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void emaAndEnvelope() {
    const QVector<double> flat(10, 3.0);
    for (double v : emaSmooth(flat, 0.9)) QCOMPARE(v, 3.0);  // debiased: no pull towards 0
    const QVector<double> y{1, 5, 2, 8, 3};
    QCOMPARE(emaSmooth(y, 0.0), y);
    QVector<double> lo, hi;
    windowMinMax(y, 2, lo, hi);
    QCOMPARE(lo, (QVector<double>{1, 1, 2, 2, 3}));
    QCOMPARE(hi, (QVector<double>{1, 5, 5, 8, 8}));
  }

  void lossPlotShowsAppendedPoints() {
    LossPlot plot;
    const int run = plot.addRun("live");
    plot.appendTrain(run, trainPoints(50));
    TrainPoint skipped;
    skipped.step = 51;
    skipped.kl = qQNaN();
    skipped.skipped = true;
    plot.appendTrain(run, {skipped});
    ValidPoint v;
    v.step = 25;
    v.kl = 0.4;
    plot.appendValid(run, {v});
    plot.flush();
    QCOMPARE(plot.trainCurve(run).size(), 50);  // the skipped step is not drawn
    QCOMPARE(plot.smoothedCurve(run).size(), 50);
    QCOMPARE(plot.validCurve(run), (QVector<QPointF>{{25, 0.4}}));
    const auto lo = plot.envelopeLow(run), hi = plot.envelopeHigh(run), raw = plot.trainCurve(run);
    for (int i = 0; i < raw.size(); ++i) {
      QVERIFY(lo[i].y() <= raw[i].y());
      QVERIFY(hi[i].y() >= raw[i].y());
    }
    // Smoothing is adjustable and recomputed.
    plot.setSmoothing(0.0);
    plot.flush();
    QCOMPARE(plot.smoothedCurve(run), plot.trainCurve(run));
  }

  void lossPlotReplotsOnItsOwnTimer() {
    LossPlot plot;
    plot.show();
    const int run = plot.addRun("live");
    plot.appendTrain(run, trainPoints(10));
    // No explicit flush: the coalescing timer draws the points.
    QTRY_COMPARE(plot.plot()->graph(2)->dataCount(), 10);
  }

  void lossPlotLogYAndHover() {
    LossPlot plot;
    plot.resize(600, 400);
    plot.show();
    const int run = plot.addRun("live");
    plot.appendTrain(run, trainPoints(20));
    plot.setLogY(true);
    plot.flush();
    QCOMPARE(plot.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
    plot.plot()->replot();
    const QPointF p = plot.smoothedCurve(run).at(9);
    const QPoint px(qRound(plot.plot()->xAxis->coordToPixel(p.x())), qRound(plot.plot()->yAxis->coordToPixel(p.y())));
    const QString text = plot.hoverAt(px);
    QVERIFY2(text.contains("step 10"), qPrintable(text));
    QVERIFY(plot.hoverAt(QPoint(-500, -500)).isEmpty());
    plot.setLogY(false);
    QCOMPARE(plot.plot()->yAxis->scaleType(), QCPAxis::stLinear);
  }

  void overlayHasNoRunCap() {
    LossPlot plot;
    for (int i = 0; i < 25; ++i) plot.appendTrain(plot.addRun(QString("run %1").arg(i)), trainPoints(5, 1 + i));
    plot.flush();
    QCOMPARE(plot.runCount(), 25);
    QCOMPARE(plot.trainCurve(24).size(), 5);
  }

  void metricsPlots() {
    MetricsPlots m;
    const int run = m.addRun("live");
    m.appendTrain(run, trainPoints(8));
    ValidPoint v;
    v.step = 4;
    v.pplRef = 30;
    v.pplCustom = 35;
    v.top1 = 0.8;
    v.density = 0.25;
    m.appendValid(run, {v});
    m.flush();
    QCOMPARE(m.series(run, "lr").size(), 8);
    QCOMPARE(m.series(run, "tokens_per_s").size(), 8);
    QCOMPARE(m.series(run, "ppl_ref"), (QVector<QPointF>{{4, 30}}));
    QCOMPARE(m.series(run, "ppl_custom"), (QVector<QPointF>{{4, 35}}));
    QCOMPARE(m.series(run, "top1"), (QVector<QPointF>{{4, 0.8}}));
    QCOMPARE(m.series(run, "density"), (QVector<QPointF>{{4, 0.25}}));
  }

  void coefficientGrid() {
    CoefficientGrid g;
    CoefSnapshot s;
    s.names = {"local:5", "sink:4", "self"};
    s.layers = {0, 1, 3};
    for (int step = 0; step <= 4; ++step) {
      s.step = step;
      s.values = {{1.0, 0.5 - 0.1 * step, 0.2}, {0.9, 0.4, 0.1}, {0.1, 0.2, 0.3 + step}};
      g.appendSnapshot(s);
    }
    RunEvent redraw;
    redraw.kind = "redraw";
    redraw.step = 2;
    g.appendEvent(redraw);
    RunEvent other;
    other.kind = "checkpoint";
    g.appendEvent(other);
    g.flush();
    QCOMPARE(g.layerCount(), 3);
    QCOMPARE(g.names(), s.names);
    QCOMPARE(g.curve(0, 1).size(), 5);
    QCOMPARE(g.curve(2, 2).last(), QPointF(4, 4.3));
    QCOMPARE(g.markCount(), 1);  // checkpoints are not drawn
    QCOMPARE(g.layerPlot(0)->itemCount(), 1);
    QTableWidget* t = g.table();
    QCOMPARE(t->rowCount(), 3);
    QCOMPARE(t->columnCount(), 3);
    QCOMPARE(t->item(2, 2)->text(), QStringLiteral("4.300"));
    QCOMPARE(t->verticalHeaderItem(2)->text(), QStringLiteral("layer 3"));
  }
};

ATTNLAB_TEST(PlotsTest, "plots")
#include "test_plots.moc"
