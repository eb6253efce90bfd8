#include "widgets/run_reader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QTextStream>

namespace attnlab {

QColor seriesColor(int index) {
  // Tableau 10: distinguishable, print-friendly.
  static const QRgb kPalette[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                  0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  constexpr int n = static_cast<int>(sizeof(kPalette) / sizeof(kPalette[0]));
  return QColor(kPalette[((index % n) + n) % n]);
}

namespace {

double num(const QJsonObject& o, const char* key, double fallback = 0) {
  const QJsonValue v = o.value(QLatin1String(key));
  return v.isDouble() ? v.toDouble() : fallback;
}
qint64 inum(const QJsonObject& o, const char* key, qint64 fallback = 0) {
  const QJsonValue v = o.value(QLatin1String(key));
  return v.isDouble() ? static_cast<qint64>(v.toDouble()) : fallback;
}

qint64 lastStep(const RunRecord& rec) {
  qint64 s = 0;
  if (!rec.train.isEmpty()) s = std::max(s, rec.train.back().step);
  if (!rec.valid.isEmpty()) s = std::max(s, rec.valid.back().step);
  return s;
}

}  // namespace

bool appendMetricsRow(const QByteArray& line, RunRecord& rec) {
  QJsonParseError err{};
  const QJsonDocument doc = QJsonDocument::fromJson(line, &err);
  if (err.error != QJsonParseError::NoError || !doc.isObject()) return false;
  const QJsonObject o = doc.object();
  const QString split = o.value(QLatin1String("split")).toString();
  if (split == QLatin1String("train")) {
    TrainPoint p;
    p.step = inum(o, "step");
    p.totalSteps = inum(o, "total_steps");
    p.tokens = inum(o, "tokens");
    p.kl = num(o, "kl", qQNaN());
    p.reg = num(o, "reg");
    p.loss = num(o, "loss", qQNaN());
    p.lr = num(o, "lr");
    p.gradNorm = num(o, "grad_norm");
    p.tokensPerS = num(o, "tokens_per_s");
    p.elapsedS = num(o, "elapsed_s");
    p.skipped = o.value(QLatin1String("skipped")).toBool(false);
    rec.train.push_back(p);
  } else if (split == QLatin1String("valid")) {
    ValidPoint p;
    p.step = inum(o, "step");
    p.tokens = inum(o, "tokens");
    p.kl = num(o, "kl", qQNaN());
    p.pplRef = num(o, "ppl_ref", qQNaN());
    p.pplCustom = num(o, "ppl_custom", qQNaN());
    p.top1 = num(o, "top1_agreement", qQNaN());
    p.density = num(o, "density", qQNaN());
    rec.valid.push_back(p);
  } else if (split == QLatin1String("coef")) {
    CoefSnapshot c;
    c.step = inum(o, "step", lastStep(rec));
    for (const QJsonValue& v : o.value(QLatin1String("names")).toArray()) c.names << v.toString();
    for (const QJsonValue& v : o.value(QLatin1String("layers")).toArray()) c.layers << v.toInt();
    for (const QJsonValue& row : o.value(QLatin1String("values")).toArray()) {
      QVector<double> r;
      for (const QJsonValue& v : row.toArray()) r << v.toDouble(qQNaN());
      c.values << r;
    }
    rec.coefs.push_back(c);
  } else if (split == QLatin1String("event")) {
    RunEvent e;
    e.step = inum(o, "step", lastStep(rec));
    e.kind = o.value(QLatin1String("kind")).toString();
    e.detail = o;
    rec.events.push_back(e);
  }
  // Unknown splits are ignored: newer engines may write rows this GUI does not know.
  return true;
}

RunReader::RunReader(const QString& runDir) : dir_(runDir) {}

void RunReader::setRunDir(const QString& runDir) {
  dir_ = runDir;
  offset_ = 0;
}

RunRecord RunReader::readAll() {
  offset_ = 0;
  RunRecord rec;
  const QFileInfo info(QDir::cleanPath(dir_));  // "run/" names the run too
  rec.dir = info.absoluteFilePath();
  rec.name = info.fileName();
  QFile cfg(QDir(dir_).filePath(QStringLiteral("config.json")));
  if (cfg.open(QIODevice::ReadOnly)) {
    const QJsonDocument doc = QJsonDocument::fromJson(cfg.readAll());
    if (doc.isObject()) rec.config = doc.object();
  }
  poll(rec);
  return rec;
}

int RunReader::poll(RunRecord& rec) {
  QFile f(QDir(dir_).filePath(QStringLiteral("metrics.jsonl")));
  if (!f.open(QIODevice::ReadOnly)) return 0;
  if (f.size() < offset_) offset_ = 0;  // the file was replaced: start over
  if (!f.seek(offset_)) return 0;
  const QByteArray bytes = f.readAll();
  int rows = 0;
  qsizetype pos = 0;
  while (pos < bytes.size()) {
    const qsizetype nl = bytes.indexOf('\n', pos);
    if (nl < 0) break;  // incomplete tail: wait for the writer (or it was cut off)
    const QByteArray line = bytes.mid(pos, nl - pos).trimmed();
    pos = nl + 1;
    if (line.isEmpty()) continue;
    if (appendMetricsRow(line, rec)) ++rows;
    else ++rec.badLines;
  }
  offset_ += pos;
  rec.truncatedTail = pos < bytes.size() && !bytes.mid(pos).trimmed().isEmpty();
  return rows;
}

RunRecord loadRun(const QString& runDir) { return RunReader(runDir).readAll(); }

bool writeMetricsCsv(const QString& path, const QVector<RunRecord>& runs, QString* error) {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Text)) {
    if (error) *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
    return false;
  }
  QTextStream out(&f);
  out.setRealNumberPrecision(10);
  out << "run,split,step,tokens,kl,reg,loss,lr,tokens_per_s,elapsed_s,ppl_ref,ppl_custom,"
         "top1_agreement,density\n";
  auto quoted = [](QString s) {
    if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')))
      s = QLatin1Char('"') + s.replace(QLatin1String("\""), QLatin1String("\"\"")) + QLatin1Char('"');
    return s;
  };
  for (const RunRecord& r : runs) {
    const QString name = quoted(r.name);
    for (const TrainPoint& p : r.train)
      out << name << ",train," << p.step << ',' << p.tokens << ',' << p.kl << ',' << p.reg << ','
          << p.loss << ',' << p.lr << ',' << p.tokensPerS << ',' << p.elapsedS << ",,,,\n";
    for (const ValidPoint& p : r.valid)
      out << name << ",valid," << p.step << ',' << p.tokens << ',' << p.kl << ",,,,,," << p.pplRef
          << ',' << p.pplCustom << ',' << p.top1 << ',' << p.density << '\n';
  }
  out.flush();
  if (!f.commit()) {
    if (error) *error = QStringLiteral("cannot write %1: %2").arg(path, f.errorString());
    return false;
  }
  return true;
}

QMap<QString, QString> flattenJson(const QJsonObject& obj, const QString& prefix) {
  QMap<QString, QString> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const QString key = prefix.isEmpty() ? it.key() : prefix + QLatin1Char('.') + it.key();
    const QJsonValue v = it.value();
    if (v.isObject()) {
      const auto sub = flattenJson(v.toObject(), key);
      if (sub.isEmpty()) out.insert(key, QStringLiteral("{}"));
      for (auto s = sub.begin(); s != sub.end(); ++s) out.insert(s.key(), s.value());
    } else if (v.isArray()) {
      out.insert(key, QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact)));
    } else if (v.isString()) {
      out.insert(key, v.toString());
    } else if (v.isBool()) {
      out.insert(key, v.toBool() ? QStringLiteral("true") : QStringLiteral("false"));
    } else if (v.isDouble()) {
      out.insert(key, QString::number(v.toDouble(), 'g', 12));
    } else {
      out.insert(key, QStringLiteral("null"));
    }
  }
  return out;
}

}  // namespace attnlab
