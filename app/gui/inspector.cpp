// LibTorch (through the engine headers) first: Qt's `slots`/`signals` macros break ATen.
#include "common/error.h"
#include "eval/session.h"
#include "tokenizer/gpt2_tokenizer.h"

#include "gui/inspector.h"

#include <QElapsedTimer>
#include <QHash>
#include <QJsonDocument>
#include <functional>

#include "widgets/config_form.h"

namespace attnlab {

struct Inspector::Impl {
  std::shared_ptr<ModelPair> pair;  // touched only on the pool thread
  std::atomic<bool> cancel{false};
  QHash<QString, quint64> latest;   // GUI thread: newest request id per kind
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
  pool_.clear();
  pool_.waitForDone();
}

bool Inspector::hasModel() const { return info_.nLayer > 0; }

template <typename Work>
void Inspector::submit(const QString& what, Work work) {
  const quint64 id = ++impl_->latest[what];
  if (++pending_ == 1) Q_EMIT busyChanged(true);
  auto impl = impl_;
  pool_.start([this, impl, id, what, work]() {
    Deliver deliver;
    QString error;
    try {
      deliver = work(*impl);
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    }
    // Back to the GUI thread. The destructor waits for the pool, so `this` is alive here.
    QMetaObject::invokeMethod(
        this,
        [this, impl, id, what, deliver, error] {
          if (--pending_ == 0) Q_EMIT busyChanged(false);
          if (impl->latest.value(what) != id) return;  // superseded by a newer request
          if (!error.isEmpty()) Q_EMIT failed(what, error);
          else if (deliver) deliver();
        },
        Qt::QueuedConnection);
  });
}

void Inspector::loadRun(const QString& runDir) {
  impl_->cancel = true;  // a running generation on the old pair is pointless now
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
  submit(QStringLiteral("overview"), [this, ids, size](Impl& impl) -> Deliver {
    ModelPair& p = need(impl);
    const AttentionOverview o = p.overview(toStd(ids), size);
    OverviewPair v;
    for (AttentionOverviewView* dst : {&v.ref, &v.custom}) {
      dst->layers = static_cast<int>(o.n_layer);
      dst->heads = static_cast<int>(o.n_head);
      dst->size = static_cast<int>(o.size);
    }
    for (const auto& m : o.ref) v.ref.maps << toQt(m);
    for (const auto& m : o.custom) v.custom.maps << toQt(m);
    return [this, v] { Q_EMIT overviewReady(v); };
  });
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
  for (auto it = impl_->latest.begin(); it != impl_->latest.end(); ++it)
    if (it.key() != QLatin1String("load")) ++it.value();
}

}  // namespace attnlab
