// LibTorch (through the engine headers) first: Qt's `slots`/`signals` macros break ATen.
#include "common/error.h"
#include "eval/session.h"
#include "tokenizer/gpt2_tokenizer.h"

#include "gui/inspector.h"

#include <QElapsedTimer>
#include <QHash>
#include <QJsonDocument>
#include <functional>
#include <mutex>

#include "widgets/config_form.h"

namespace attnlab {

struct Inspector::Impl {
  std::shared_ptr<ModelPair> pair;  // touched only on the pool thread
  std::atomic<bool> cancel{false};
  std::atomic<bool> closing{false};

  // Newest request id per kind: bumped on the GUI thread, read by the pool thread to skip
  // queued requests that a newer one superseded.
  quint64 bump(const QString& what) {
    std::lock_guard<std::mutex> lock(mu_);
    return ++latest_[what];
  }
  bool isLatest(const QString& what, quint64 id) const {
    std::lock_guard<std::mutex> lock(mu_);
    return latest_.value(what) == id;
  }
  void supersede(const QStringList& kinds) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const QString& k : kinds) ++latest_[k];
  }

 private:
  mutable std::mutex mu_;
  QHash<QString, quint64> latest_;
};

namespace {
using Deliver = std::function<void()>;

QVector<int> toQt(const std::vector<int32_t>& v) { return QVector<int>(v.begin(), v.end()); }
std::vector<int32_t> toStd(const QVector<int>& v) { return std::vector<int32_t>(v.begin(), v.end()); }
QStringList toQt(const std::vector<std::string>& v) {
  QStringList out;
  for (const auto& s : v) out << QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
  return out;
}
QVector<float> toQt(const std::vector<float>& v) { return QVector<float>(v.begin(), v.end()); }

ModelPairInfo describe(const ModelPair& p, const QString& source) {
  ModelPairInfo i;
  i.source = source;
  i.nLayer = p.n_layer();
  i.nHead = p.n_head();
  i.nPositions = p.n_positions();
  i.variant = QString::fromStdString(p.config().variant);
  for (int l : p.config().layer_list(p.n_layer())) i.variantLayers << l;
  return i;
}
}  // namespace

Inspector::Inspector(QObject* parent) : QObject(parent), impl_(std::make_shared<Impl>()) {
  qRegisterMetaType<ModelPairInfo>();
  qRegisterMetaType<LayerAttentionView>();
  qRegisterMetaType<OverviewPair>();
  qRegisterMetaType<CompletionView>();
  pool_.setMaxThreadCount(1);  // one model pair, one thread: requests run in order
  pool_.setExpiryTimeout(-1);
}

Inspector::~Inspector() {
  impl_->cancel = true;
  impl_->closing = true;  // an overview chain queues no further layer
  pool_.clear();
  pool_.waitForDone();
}

bool Inspector::hasModel() const { return info_.nLayer > 0; }

template <typename Work>
void Inspector::submit(const QString& what, Work work, int priority) {
  const quint64 id = impl_->bump(what);
  if (++pending_ == 1) Q_EMIT busyChanged(true);
  auto impl = impl_;
  pool_.start(
      [this, impl, id, what, work]() {
        Deliver deliver;
        QString error;
        if (impl->isLatest(what, id)) {  // else superseded while queued: skip the work
          try {
            deliver = work(*impl);
          } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
          }
        }
        post(id, what, deliver, error, true);
      },
      priority);
}

void Inspector::post(quint64 id, const QString& what, std::function<void()> deliver, const QString& error, bool last) {
  // Back to the GUI thread. The destructor waits for the pool, so `this` is alive here.
  auto impl = impl_;
  QMetaObject::invokeMethod(
      this,
      [this, impl, id, what, deliver, error, last] {
        if (last && --pending_ == 0) Q_EMIT busyChanged(false);
        if (!impl->isLatest(what, id)) return;  // superseded by a newer request
        if (!error.isEmpty()) Q_EMIT failed(what, error);
        else if (deliver) deliver();
      },
      Qt::QueuedConnection);
}

namespace {
// Results computed for the previous pair are meaningless once another one loads.
const QStringList kPairResults = {QStringLiteral("tokens"), QStringLiteral("attention"), QStringLiteral("overview")};
}  // namespace

void Inspector::loadRun(const QString& runDir) {
  impl_->cancel = true;  // a running generation on the old pair is pointless now
  impl_->supersede(kPairResults);
  submit(QStringLiteral("load"), [this, runDir](Impl& impl) -> Deliver {
    impl.cancel = false;
    impl.pair.reset();
    impl.pair = ModelPair::from_run(runDir.toStdString());
    const ModelPairInfo info = describe(*impl.pair, runDir);
    return [this, info] {
      info_ = info;
      Q_EMIT modelLoaded(info);
    };
  });
}

void Inspector::loadConfig(const QJsonObject& config) {
  impl_->cancel = true;
  impl_->supersede(kPairResults);
  const std::string json = ConfigForm::toJsonText(config).toStdString();
  submit(QStringLiteral("load"), [this, json](Impl& impl) -> Deliver {
    impl.cancel = false;
    auto cfg = DistillConfig::from_json(nlohmann::json::parse(json), "configuration");
    cfg.device = "cpu";
    impl.pair.reset();
    impl.pair = ModelPair::from_config(cfg);
    const ModelPairInfo info = describe(*impl.pair, tr("configuration (untrained)"));
    return [this, info] {
      info_ = info;
      Q_EMIT modelLoaded(info);
    };
  });
}

namespace {
ModelPair& need(Inspector::Impl& impl) {
  if (!impl.pair) throw Error("no model loaded: open a run, or start one");
  return *impl.pair;
}
}  // namespace

void Inspector::requestTokens(const QString& text, qint64 T, qint64 index) {
  submit(QStringLiteral("tokens"), [this, text, T, index](Impl& impl) -> Deliver {
    ModelPair& p = need(impl);
    std::vector<int32_t> ids;
    if (text.isEmpty()) {
      ids = p.validation_sample(T, index);
    } else {
      ids = p.tokenizer().encode(text.toStdString());
      if (static_cast<int64_t>(ids.size()) > p.n_positions()) ids.resize(p.n_positions());
    }
    if (ids.empty()) throw Error("the text has no tokens");
    const QVector<int> qids = toQt(ids);
    const QStringList labels = toQt(p.token_labels(ids));
    return [this, qids, labels] { Q_EMIT tokensReady(qids, labels); };
  });
}

void Inspector::requestAttention(const QVector<int>& ids, int layer) {
  submit(QStringLiteral("attention"), [this, ids, layer](Impl& impl) -> Deliver {
    ModelPair& p = need(impl);
    const auto sids = toStd(ids);
    const LayerAttention a = p.attention(sids, layer);
    LayerAttentionView v;
    v.layer = a.layer;
    v.heads = static_cast<int>(a.n_head);
    v.T = static_cast<int>(a.T);
    v.labels = toQt(p.token_labels(sids));
    for (const auto& h : a.ref) v.ref << toQt(h);
    for (const auto& h : a.custom) v.custom << toQt(h);
    v.rowKl = toQt(a.row_kl);
    return [this, v] { Q_EMIT attentionReady(v); };
  });
}

void Inspector::requestOverview(const QVector<int>& ids, int size) {
  const quint64 id = impl_->bump(QStringLiteral("overview"));
  if (++pending_ == 1) Q_EMIT busyChanged(true);
  overviewStep(id, std::make_shared<const std::vector<int32_t>>(toStd(ids)), size, 0, std::make_shared<OverviewPair>());
}

namespace {
constexpr int kOverviewPriority = -1;  // below attention/tokens/load/generate (0)
}

void Inspector::overviewStep(quint64 id, std::shared_ptr<const std::vector<int32_t>> ids, int size, int layer,
                             std::shared_ptr<OverviewPair> acc) {
  auto impl = impl_;
  pool_.start(
      [this, impl, id, ids, size, layer, acc]() {
        const QString what = QStringLiteral("overview");
        if (impl->closing) return;
        if (!impl->isLatest(what, id)) return post(id, what, {}, {}, true);
        Deliver deliver;
        QString error;
        bool last = true;
        try {
          ModelPair& p = need(*impl);
          const AttentionOverview o = p.overview(*ids, size, layer, layer);
          const int H = static_cast<int>(o.n_head);
          if (acc->ref.maps.isEmpty()) {
            for (AttentionOverviewView* dst : {&acc->ref, &acc->custom}) {
              dst->layers = static_cast<int>(o.n_layer);
              dst->heads = H;
              dst->size = static_cast<int>(o.size);
              dst->maps.resize(o.n_layer * H);
            }
          }
          for (int h = 0; h < H; ++h) {
            acc->ref.maps[layer * H + h] = toQt(o.ref[layer * H + h]);
            acc->custom.maps[layer * H + h] = toQt(o.custom[layer * H + h]);
          }
          last = layer + 1 >= o.n_layer;
          const OverviewPair snapshot = *acc;  // a value for the GUI thread (implicitly shared)
          deliver = [this, snapshot] { Q_EMIT overviewReady(snapshot); };
        } catch (const std::exception& e) {
          error = QString::fromUtf8(e.what());
        }
        // Queue the next layer first: requests of normal priority that arrive meanwhile still
        // run before it.
        if (!last && error.isEmpty()) overviewStep(id, ids, size, layer + 1, acc);
        post(id, what, deliver, error, last || !error.isEmpty());
      },
      kOverviewPriority);
}

void Inspector::requestCompletion(const QString& prompt, const GenerationSettings& s) {
  impl_->cancel = true;  // supersede a running generation
  submit(QStringLiteral("generate"), [this, prompt, s](Impl& impl) -> Deliver {
    impl.cancel = false;
    ModelPair& p = need(impl);
    GenerateOptions opt;
    opt.max_new_tokens = s.maxNewTokens;
    opt.greedy = s.greedy;
    opt.temperature = s.temperature;
    opt.top_k = s.topK;
    opt.top_p = s.topP;
    opt.seed = s.seed;
    opt.stop_at_eot = s.stopAtEot;
    opt.no_repeat_ngram = s.noRepeatNgram;
    QElapsedTimer t;
    t.start();
    const CompletionPair c = p.compare(prompt.toStdString(), opt, &impl.cancel);
    if (impl.cancel.load()) throw Error("generation cancelled");
    CompletionView v;
    v.prompt = prompt;
    v.refTokens = toQt(c.ref_tokens);
    v.customTokens = toQt(c.custom_tokens);
    v.customTokenKl = QVector<double>(c.custom_token_kl.begin(), c.custom_token_kl.end());
    v.firstDivergence = c.first_divergence;
    v.seconds = t.elapsed() / 1000.0;
    return [this, v] { Q_EMIT completionReady(v); };
  });
}

void Inspector::cancel() {
  impl_->cancel = true;
  // Drop whatever is still on its way back.
  impl_->supersede({QStringLiteral("tokens"), QStringLiteral("attention"), QStringLiteral("overview"),
                    QStringLiteral("generate")});
}

}  // namespace attnlab
