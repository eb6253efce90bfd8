// AttentionHeatmap: one cell per (query, key), token tick labels, tooltip text, causal
// blanks; AttentionOverviewGrid: click selects (layer, head).
#include <QtTest/QtTest>

#include "test_registry.h"
#include "widgets/attention_heatmap.h"
#include "widgets/attention_overview.h"

#include <qcustomplot.h>

using namespace attnlab;

namespace {
AttentionMapView causalMap(int T) {
  AttentionMapView m;
  m.rows = m.cols = T;
  for (int i = 0; i < T; ++i) m.rowLabels << QStringLiteral("tok%1").arg(i);
  m.colLabels = m.rowLabels;
  m.values.resize(T * T);
  for (int q = 0; q < T; ++q)
    for (int k = 0; k < T; ++k) m.values[q * T + k] = k <= q ? 1.0f / (q + 1) : qQNaN();
  return m;
}
}  // namespace

class AttentionViewsTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void heatmapCellsAndLabels_data() {
    QTest::addColumn<int>("T");
    QTest::newRow("T=1") << 1;
    QTest::newRow("T=7") << 7;
    QTest::newRow("T=48") << 48;
  }
  void heatmapCellsAndLabels() {
    QFETCH(int, T);
    AttentionHeatmap h;
    h.setMap(causalMap(T));
    QCOMPARE(h.cellCount(), T * T);
    QCOMPARE(h.colorMap()->data()->keySize(), T);
    QCOMPARE(h.colorMap()->data()->valueSize(), T);
    QVERIFY(!h.colorMap()->interpolate());
    const auto x = h.xTickLabels(), y = h.yTickLabels();
    QCOMPARE(x.size(), T);
    QCOMPARE(y.size(), T);
    for (int i = 0; i < T; ++i) {
      QCOMPARE(x.value(i), QStringLiteral("tok%1").arg(i));
      QCOMPARE(y.value(i), QStringLiteral("tok%1").arg(i));
    }
    // Cell values land where they belong (key on x, query on y).
    QVERIFY(qAbs(h.colorMap()->data()->cell(0, T - 1) - 1.0 / T) < 1e-6);
    if (T > 1) QVERIFY(std::isnan(h.colorMap()->data()->cell(T - 1, 0)));  // causal future
  }

  void manyTokensAreLabelledSparsely() {
    AttentionHeatmap h;
    h.setMap(causalMap(200));
    QCOMPARE(h.cellCount(), 200 * 200);
    const auto x = h.xTickLabels();
    QVERIFY(x.size() <= AttentionHeatmap::kMaxLabels);
    QVERIFY(x.size() >= AttentionHeatmap::kMaxLabels / 2);
    for (auto it = x.begin(); it != x.end(); ++it) QCOMPARE(it.value(), QStringLiteral("tok%1").arg(int(it.key())));
  }

  void tooltipAndHitTest() {
    AttentionHeatmap h;
    h.resize(500, 500);
    h.show();
    h.setMap(causalMap(4));
    h.plot()->replot();
    QCOMPARE(h.cellText(2, 1), QStringLiteral("2 “tok2” → 1 “tok1”: 0.3333"));
    QVERIFY(h.cellText(0, 3).contains("not attended"));
    QVERIFY(h.cellText(9, 9).isEmpty());
    const QPoint px(qRound(h.plot()->xAxis->coordToPixel(1)), qRound(h.plot()->yAxis->coordToPixel(2)));
    QCOMPARE(h.cellAt(px), QPoint(1, 2));
    QSignalSpy hovered(&h, &AttentionHeatmap::cellHovered);
    QMouseEvent move(QEvent::MouseMove, QPointF(px), QPointF(h.plot()->mapToGlobal(px)), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(h.plot(), &move);
    QTRY_COMPARE(hovered.count(), 1);
    QCOMPARE(hovered.at(0).at(0).toInt(), 2);
    QCOMPARE(hovered.at(0).at(1).toInt(), 1);
  }

  void divergingMapIsSymmetric() {
    AttentionHeatmap h;
    AttentionMapView m = causalMap(3);
    for (float& v : m.values)
      if (!std::isnan(v)) v -= 0.4f;
    m.diverging = true;
    h.setMap(m);
    const QCPRange r = h.colorMap()->dataRange();
    QCOMPARE(r.lower, -r.upper);
  }

  void overviewClickSelects() {
    AttentionOverviewGrid g;
    g.resize(400, 300);
    g.show();
    AttentionOverviewView v;
    v.layers = 3;
    v.heads = 4;
    v.size = 5;
    for (int i = 0; i < 12; ++i) v.maps << QVector<float>(25, 0.1f * i);
    g.setOverview(v);
    QSignalSpy spy(&g, &AttentionOverviewGrid::cellSelected);
    QTest::mouseClick(&g, Qt::LeftButton, {}, g.cellRect(2, 1).center());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toInt(), 2);
    QCOMPARE(spy.at(0).at(1).toInt(), 1);
    QCOMPARE(g.selectedLayer(), 2);
    QCOMPARE(g.selectedHead(), 1);
    QTest::mouseClick(&g, Qt::LeftButton, {}, QPoint(2, 2));  // the margin: nothing
    QCOMPARE(spy.count(), 1);
  }
};

ATTNLAB_TEST(AttentionViewsTest, "attention_views")
#include "test_attention_views.moc"
