// Plain value types the widgets display. They mirror the engine's observer structs
// (engine/train/distill.h) and the rows of a run directory's metrics.jsonl, but use only Qt
// types, so widgets never see LibTorch. The app's controller converts engine structs into
// these on the worker thread; RunReader parses them from disk.
#pragma once
#include <QColor>
#include <QJsonObject>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

namespace attnlab {

/// One optimisation step (metrics.jsonl: {"split":"train", ...}).
struct TrainPoint {
  qint64 step = 0;
  qint64 totalSteps = 0;  // 0 when unknown (replayed from disk)
  qint64 tokens = 0;
  double kl = 0, reg = 0, loss = 0, lr = 0, gradNorm = 0;
  double tokensPerS = 0, elapsedS = 0;
  bool skipped = false;  // non-finite loss: weights untouched
};

/// Mean tokens/s over the steps after the first two (allocations and caches warm up there),
/// skipped steps left out: the figure `attnlab --headless` and the live-window run report.
struct ThroughputMean {
  double sum = 0;
  qint64 n = 0, lastStep = 0;
  void add(const TrainPoint& p) {
    lastStep = p.step;
    if (p.step > 2 && !p.skipped) {
      sum += p.tokensPerS;
      ++n;
    }
  }
  double mean() const { return n ? sum / static_cast<double>(n) : 0.0; }
};

/// One validation pass (metrics.jsonl: {"split":"valid", ...}).
struct ValidPoint {
  qint64 step = 0;
  qint64 tokens = 0;
  double kl = 0, pplRef = 0, pplCustom = 0, top1 = 0, density = 0;
};

/// Interpretable per-layer coefficients (metrics.jsonl: {"split":"coef", ...}).
struct CoefSnapshot {
  qint64 step = 0;
  QStringList names;               // candidate / gate names
  QVector<int> layers;             // layer index of each row
  QVector<QVector<double>> values; // [row][name]
};

/// Events: NaN skips, Performer redraws, checkpoints, pause/stop ... ({"split":"event"}).
struct RunEvent {
  qint64 step = 0;
  QString kind;
  QJsonObject detail;
};

/// Everything a run directory holds that the GUI plots.
struct RunRecord {
  QString dir;                 // absolute run directory ("" for an unsaved live run)
  QString name;                // display name (directory name)
  QJsonObject config;          // config.json
  QVector<TrainPoint> train;
  QVector<ValidPoint> valid;
  QVector<CoefSnapshot> coefs;
  QVector<RunEvent> events;
  int badLines = 0;            // unparsable lines (a truncated last line is not counted)
  bool truncatedTail = false;  // the last line was incomplete (run still writing, or a crash)
};

/// Generation settings of the prompt panel (mirror of the engine's GenerateOptions).
struct GenerationSettings {
  int maxNewTokens = 40;
  bool greedy = true;
  double temperature = 1.0;
  int topK = 0;       // 0 = off
  double topP = 1.0;  // 1 = off
  quint64 seed = 0;
  bool stopAtEot = true;
  int noRepeatNgram = 0;  // > 0: never repeat an n-gram of this size; 0 = off
};

/// Reference and custom completions of one prompt, token by token.
struct CompletionView {
  QString prompt;
  QStringList refTokens, customTokens;  // generated tokens only
  QVector<double> customTokenKl;        // KL(P_ref || P_custom) for each custom token
  int firstDivergence = -1;             // first differing generated token, -1 if none
  double seconds = 0;
};

/// One attention matrix for display: rows = queries, cols = keys, row-major.
struct AttentionMapView {
  int rows = 0, cols = 0;
  QVector<float> values;       // rows * cols; NaN = not attended (causal future)
  QStringList rowLabels, colLabels;
  QString title;
  bool diverging = false;      // signed values (differences): symmetric colour range
};

/// Thumbnails of every layer x head: maps[layer * heads + head] is size x size.
struct AttentionOverviewView {
  int layers = 0, heads = 0, size = 0;
  QVector<QVector<float>> maps;
};

/// A qualitative palette for runs and candidates (Tableau 10), cycling.
QColor seriesColor(int index);

}  // namespace attnlab

Q_DECLARE_METATYPE(attnlab::TrainPoint)
Q_DECLARE_METATYPE(attnlab::ValidPoint)
Q_DECLARE_METATYPE(attnlab::CoefSnapshot)
Q_DECLARE_METATYPE(attnlab::RunEvent)
Q_DECLARE_METATYPE(attnlab::RunRecord)
Q_DECLARE_METATYPE(attnlab::GenerationSettings)
Q_DECLARE_METATYPE(attnlab::CompletionView)
Q_DECLARE_METATYPE(attnlab::AttentionMapView)
Q_DECLARE_METATYPE(attnlab::AttentionOverviewView)
