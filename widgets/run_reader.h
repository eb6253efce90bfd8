// Reads a run directory (config.json + metrics.jsonl) into a RunRecord, Qt only.
// metrics.jsonl is appended while a run is live, so the reader keeps a byte offset and
// parses only complete lines; an incomplete last line (a run still writing, or a crash in
// the middle of a write) is left for the next poll instead of being reported as an error.
#pragma once
#include <QString>

#include "widgets/run_types.h"

namespace attnlab {

/// Parses one metrics.jsonl row into `rec`; returns false if it is not a JSON object.
bool appendMetricsRow(const QByteArray& line, RunRecord& rec);

class RunReader {
 public:
  explicit RunReader(const QString& runDir = {});
  void setRunDir(const QString& runDir);
  const QString& runDir() const { return dir_; }

  /// Reads config.json and metrics.jsonl from the start.
  RunRecord readAll();
  /// Appends rows written since the previous call to `rec` (its train/valid/coef/event
  /// vectors grow). Returns the number of new rows.
  int poll(RunRecord& rec);

 private:
  QString dir_;
  qint64 offset_ = 0;
};

/// Convenience: RunReader(dir).readAll().
RunRecord loadRun(const QString& runDir);

/// Long-format CSV of several runs: run,split,step,tokens,kl,reg,loss,lr,tokens_per_s,
/// elapsed_s,ppl_ref,ppl_custom,top1_agreement,density. Returns false on I/O error.
bool writeMetricsCsv(const QString& path, const QVector<RunRecord>& runs, QString* error = nullptr);

/// Flattens a JSON object to "a.b.c" -> scalar text (for config diffs).
QMap<QString, QString> flattenJson(const QJsonObject& obj, const QString& prefix = {});

}  // namespace attnlab
