// Hugging Face Hub and local model discovery for the GUI: lists bundled and cached models
// (and downloaded WikiText folders), downloads a model or dataset with progress and cancel.
// All engine work runs on a private one-thread pool; results come back as queued signals.
// Qt-only header: the engine stays inside hub_service.cpp.
#pragma once
#include <QObject>
#include <QStringList>
#include <QThreadPool>
#include <atomic>
#include <memory>

namespace attnlab {

struct KnownEntries {
  QStringList dirs, labels;  // same length; labels for the pickers ("gpt2 — HF cache, 523 MB")
};

class HubService : public QObject {
  Q_OBJECT

 public:
  explicit HubService(QObject* parent = nullptr);
  ~HubService() override;
  bool busy() const { return busy_; }

 public Q_SLOTS:
  /// Scans the Hugging Face cache, resources/models and the data cache (no network).
  void refresh();
  /// kind: "model" (repo id) or "dataset" (WikiText configuration name).
  void download(const QString& kind, const QString& name);
  void cancel();

 Q_SIGNALS:
  void modelsListed(const attnlab::KnownEntries& models);
  void dataListed(const attnlab::KnownEntries& data);
  void progress(qint64 done, qint64 total, const QString& file);
  void finished(const QString& path);
  void failed(const QString& message);

 private:
  QThreadPool pool_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  bool busy_ = false;
};

}  // namespace attnlab

Q_DECLARE_METATYPE(attnlab::KnownEntries)
