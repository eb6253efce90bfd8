// `window`: sliding-window attention plus attention sinks (Xiao et al. 2023, "Efficient
// Streaming Language Models with Attention Sinks"). Query t reads the `window` most recent
// tokens (itself included) and the first `sinks` tokens, in one softmax. No parameters.
// Computed banded (attention/banded.h), never as a dense masked T x T matrix.
#include "attention/banded.h"
#include "attention/spec_util.h"
#include "attention/variant.h"

namespace attnlab {
namespace {

class WindowAttention : public AttentionVariant {
 public:
  WindowAttention(const nlohmann::json& spec, const LayerInit& init) : scale_(init.attn_scale) {
    SpecReader r("window", spec, {{"window", 64}, {"sinks", 4}});
    window_ = r.get_int("window", 1);
    sinks_ = r.get_int("sinks", 0);
    spec_ = r.filled();
  }
  std::string kind() const override { return "window"; }
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor&) override {
    return window_sink_attention(q, k, v, scale_, window_, sinks_);
  }
  torch::Tensor effective_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor&) override {
    return masked_softmax_probs(q, k, scale_, window_sink_mask(q.size(2), window_, sinks_, q.device()));
  }
  // Exact support: sum over t of min(t + 1, window) + the sinks outside the window.
  double density(int64_t T) const override {
    return T > 0 ? window_sink_reads(T, window_, sinks_) / causal_pairs(T) : 1.0;
  }
  // What the blocked kernel computes: every query scores c + w - 1 key slots (c = query block,
  // max(w, 16)) plus the sinks, QK^T and PV, 2 FLOPs per multiply-add.
  AttnCost cost(int64_t T, int64_t H, int64_t Dh) const override {
    const double w = static_cast<double>(std::min<int64_t>(window_, T));
    const double c = static_cast<double>(std::min<int64_t>(T, std::max<int64_t>(window_, 16)));
    const double slots = c + w - 1 + static_cast<double>(std::min<int64_t>(sinks_, T));
    const double Tf = static_cast<double>(T);
    return {2.0 * 2.0 * Tf * slots * Dh * H, 4.0 * H * (Tf * slots + Tf * Dh * (1.0 + 2.0 * (c + w - 1) / c))};
  }
  nlohmann::json spec() const override { return spec_; }

 private:
  double scale_;
  int64_t window_ = 64, sinks_ = 4;
  nlohmann::json spec_;
};

VariantRegistrar reg("window", [](const nlohmann::json& spec, const LayerInit& init) {
  return std::make_shared<WindowAttention>(spec, init);
});

}  // namespace
}  // namespace attnlab
