// Run directories on disk: metrics.jsonl parsing (truncated last line tolerated, live
// polling), CSV export, and the Runs tab (overlay, config diff, plot export).
#include <QtTest/QtTest>

#include "test_registry.h"
#include "test_util.h"
#include "widgets/loss_plot.h"
#include "widgets/metrics_plots.h"
#include "widgets/run_reader.h"
#include "widgets/runs_browser.h"

#include <QDir>
#include <QFile>
#include <QTableWidget>

using namespace attnlab;

namespace {

QString tempDir(const char* tag) { return QString::fromStdString(attnlab::testing::temp_dir(tag).string()); }

void writeFile(const QString& path, const QByteArray& bytes, bool append = false) {
  QFile f(path);
  QVERIFY(f.open(append ? QIODevice::Append : QIODevice::WriteOnly));
  f.write(bytes);
}

// A run directory as the engine writes it; `tail` is appended verbatim at the end.
QString makeRun(const QString& root, const QString& name, int steps, double lr, const QByteArray& tail = {}) {
  const QString dir = QDir(root).filePath(name);
  QDir().mkpath(dir);
  writeFile(dir + "/config.json",
            QStringLiteral("{\"variant\": \"mask-mix\", \"lr\": %1, \"steps\": %2, \"variant_spec\": {\"per_head\": false}, "
                           "\"attnlab_version\": \"0.1.0\"}\n")
                .arg(lr)
                .arg(steps)
                .toUtf8());
  QByteArray m;
  m += "{\"split\":\"coef\",\"step\":0,\"names\":[\"local:5\",\"self\"],\"layers\":[0,1],\"values\":[[1.0,1.0],[1.0,1.0]]}\n";
  for (int s = 1; s <= steps; ++s) {
    m += QStringLiteral("{\"split\":\"train\",\"step\":%1,\"tokens\":%2,\"kl\":%3,\"reg\":0.01,\"loss\":%4,\"lr\":%5,"
                        "\"tokens_per_s\":500.0,\"elapsed_s\":%6,\"skipped\":false}\n")
             .arg(s)
             .arg(64 * s)
             .arg(1.0 / s)
             .arg(1.0 / s + 0.01)
             .arg(lr)
             .arg(0.1 * s)
             .toUtf8();
    if (s % 5 == 0)
      m += QStringLiteral("{\"split\":\"valid\",\"step\":%1,\"tokens\":256,\"kl\":%2,\"ppl_ref\":40.0,\"ppl_custom\":%3,"
                          "\"top1_agreement\":0.9,\"density\":0.3}\n")
               .arg(s)
               .arg(1.1 / s)
               .arg(40.0 + 10.0 / s)
               .toUtf8();
  }
  m += "{\"split\":\"event\",\"step\":3,\"kind\":\"redraw\",\"detail\":{\"layer\":0}}\n";
  writeFile(dir + "/metrics.jsonl", m + tail);
  return dir;
}

}  // namespace

class RunsTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void readsRunAndToleratesTruncatedTail() {
    const QString root = tempDir("runs-read");
    const QString dir = makeRun(root, "a", 10, 0.01, "{\"split\":\"train\",\"step\":11,\"kl\":0.");
    const RunRecord r = loadRun(dir);
    QCOMPARE(r.name, QStringLiteral("a"));
    QCOMPARE(r.train.size(), 10);
    QCOMPARE(r.valid.size(), 2);
    QCOMPARE(r.coefs.size(), 1);
    QCOMPARE(r.coefs[0].names, (QStringList{"local:5", "self"}));
    QCOMPARE(r.events.size(), 1);
    QCOMPARE(r.events[0].kind, QStringLiteral("redraw"));
    QCOMPARE(r.badLines, 0);
    QVERIFY(r.truncatedTail);
    QCOMPARE(r.train[9].kl, 0.1);
    QCOMPARE(r.valid[1].pplCustom, 41.0);
    QCOMPARE(r.config.value("lr").toDouble(), 0.01);
  }

  void pollPicksUpCompletedLines() {
    const QString root = tempDir("runs-poll");
    const QString dir = makeRun(root, "live", 3, 0.01, "{\"split\":\"train\",\"step\":4,");
    RunReader reader(dir);
    RunRecord r = reader.readAll();
    QCOMPARE(r.train.size(), 3);
    QCOMPARE(reader.poll(r), 0);  // still incomplete
    writeFile(dir + "/metrics.jsonl", "\"kl\":0.2}\n{\"split\":\"train\",\"step\":5,\"kl\":0.1}\n", true);
    QCOMPARE(reader.poll(r), 2);
    QCOMPARE(r.train.size(), 5);
    QCOMPARE(r.train[3].kl, 0.2);
    QVERIFY(!r.truncatedTail);
    writeFile(dir + "/metrics.jsonl", "garbage\n", true);
    QCOMPARE(reader.poll(r), 0);
    QCOMPARE(r.badLines, 1);
  }

  void csvExport() {
    const QString root = tempDir("runs-csv");
    const RunRecord r = loadRun(makeRun(root, "c", 5, 0.02));
    QString err;
    QVERIFY(writeMetricsCsv(root + "/m.csv", {r}, &err));
    QFile f(root + "/m.csv");
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = f.readAll().trimmed().split('\n');
    QCOMPARE(lines.size(), 1 + 5 + 1);
    QVERIFY(lines[0].startsWith("run,split,step,tokens,kl"));
    QVERIFY(lines[1].startsWith("c,train,1,64,1,"));
    QVERIFY(lines[6].startsWith("c,valid,5,256,"));
  }

  void browserOverlaysDiffsAndExports() {
    const QString root = tempDir("runs-browser");
    const int n = 12;  // more than any palette: overlays are not capped
    for (int i = 0; i < n; ++i) makeRun(root, QStringLiteral("run%1").arg(i, 2, 10, QLatin1Char('0')), 10 + i, 0.01 * (i + 1));
    RunsBrowser b;
    QCOMPARE(b.addRunsUnder(root), n);
    QCOMPARE(b.runCount(), n);
    b.lossPlot()->flush();
    QCOMPARE(b.lossPlot()->runCount(), n);
    QCOMPARE(b.lossPlot()->trainCurve(n - 1).size(), 10 + n - 1);
    QCOMPARE(b.metricsPlots()->runCount(), n);
    QString err;
    QCOMPARE(b.addRunDir(root + "/nope", &err), -1);
    QVERIFY(err.contains("not a run directory"));

    b.setRunVisible(0, false);
    QCOMPARE(b.lossPlot()->runCount(), n - 1);

    b.setDiffPair(0, 3);
    QTableWidget* t = b.diffTable();
    QStringList keys;
    for (int r = 0; r < t->rowCount(); ++r) keys << t->item(r, 0)->text();
    QCOMPARE(keys, (QStringList{"lr", "steps"}));
    b.setOnlyDifferences(false);
    QVERIFY(t->rowCount() >= 4);  // + attnlab_version, variant, variant_spec.per_head

    err.clear();
    const QStringList files = b.exportPlots(root + "/report/curves.png", &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    QCOMPARE(files.size(), 5);
    for (const QString& f : files) QVERIFY2(QFileInfo(f).size() > 1000, qPrintable(f));
    QCOMPARE(b.exportPlots(root + "/report/curves.pdf", &err).size(), 5);
    QVERIFY(QFileInfo(root + "/report/curves-loss.pdf").size() > 1000);
    const QStringList svg = b.exportPlots(root + "/report/curves.svg", &err);
#ifdef ATTNLAB_HAVE_QTSVG
    QCOMPARE(svg.size(), 5);
#else
    QVERIFY(svg.isEmpty());
    QVERIFY(err.contains("Qt SVG"));
#endif
    QVERIFY(b.exportCsv(root + "/report/all.csv", &err));
  }

  void browserFollowsAGrowingRun() {
    const QString root = tempDir("runs-follow");
    const QString dir = makeRun(root, "grow", 4, 0.01);
    RunsBrowser b;
    QCOMPARE(b.addRunDir(dir), 0);
    writeFile(dir + "/metrics.jsonl", "{\"split\":\"train\",\"step\":5,\"kl\":0.1}\n", true);
    b.refresh();
    b.lossPlot()->flush();
    QCOMPARE(b.run(0).train.size(), 5);
    QCOMPARE(b.lossPlot()->trainCurve(0).size(), 5);
  }
};

ATTNLAB_TEST(RunsTest, "runs")
#include "test_runs.moc"
