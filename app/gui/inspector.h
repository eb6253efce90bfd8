// Interactive inspection of a reference/custom model pair (Attention and Prompt tabs).
// Loading, attention extraction and generation run on one worker thread of a private
// QThreadPool (the pair is not shared between threads concurrently); results come back as
// queued signals with plain data. Newer requests supersede older ones: a queued stale request
// is skipped, a stale result is dropped, and a running generation is cancelled through the
// engine's cancel flag. The all-layers overview runs one layer per job at a lower priority, so
// a layer the user picks meanwhile is computed before the overview's next layer, and the
// overview grid fills in layer by layer (overviewReady is emitted after each layer).
// Qt-only header: LibTorch stays inside inspector.cpp.
#pragma once
#include <QJsonObject>
#include <QObject>
#include <QThreadPool>
#include <QVector>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "gui/gui_types.h"
#include "widgets/run_types.h"

namespace attnlab {

class Inspector : public QObject {
  Q_OBJECT

 public:
  explicit Inspector(QObject* parent = nullptr);
  ~Inspector() override;

  bool hasModel() const;
  const ModelPairInfo& info() const { return info_; }
  bool busy() const { return pending_ > 0; }
  struct Impl;  // engine state, defined in inspector.cpp

 public Q_SLOTS:
  /// Reference + trained custom model from a run directory (latest checkpoint).
  void loadRun(const QString& runDir);
  /// Untrained pair from a configuration (DistillConfig JSON).
  void loadConfig(const QJsonObject& config);
  /// Token ids of a validation block (T tokens, block `index`), or of `text` when not empty.
  void requestTokens(const QString& text, qint64 T, qint64 index);
  void requestAttention(const QVector<int>& ids, int layer);
  void requestOverview(const QVector<int>& ids, int size);
  void requestCompletion(const QString& prompt, const attnlab::GenerationSettings& settings);
  /// Cancels a running generation (and drops pending results).
  void cancel();

 Q_SIGNALS:
  void modelLoaded(const attnlab::ModelPairInfo& info);
  void tokensReady(const QVector<int>& ids, const QStringList& labels);
  void attentionReady(const attnlab::LayerAttentionView& view);
  void overviewReady(const attnlab::OverviewPair& overview);
  void completionReady(const attnlab::CompletionView& view);
  /// what: "load", "tokens", "attention", "overview", "generate".
  void failed(const QString& what, const QString& message);
  void busyChanged(bool busy);

 private:
  template <typename Work>
  void submit(const QString& what, Work work, int priority = 0);
  /// Back on the GUI thread: `last` ends the request (busy count), `deliver` runs unless a newer
  /// request of the same kind superseded it.
  void post(quint64 id, const QString& what, std::function<void()> deliver, const QString& error, bool last);
  void overviewStep(quint64 id, std::shared_ptr<const std::vector<int32_t>> ids, int size, int layer,
                    std::shared_ptr<OverviewPair> acc);
  std::shared_ptr<Impl> impl_;
  QThreadPool pool_;
  ModelPairInfo info_;
  std::atomic<quint64> generation_{0};  // bumped by every request of a kind that supersedes
  int pending_ = 0;
};

}  // namespace attnlab
