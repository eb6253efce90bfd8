// `duo`: DuoAttention-style head routing (Xiao et al. 2024, "DuoAttention: Efficient
// Long-Context LLM Inference with Retrieval and Streaming Heads"). Each head h mixes full
// causal attention and window+sink ("streaming") attention with a trainable gate:
//   out_h = a_h * full_h + (1 - a_h) * window_sink_h,   a_h = sigmoid(gate_logit_h)
// regularizer() = l1 * sum_h a_h (a_h > 0, so this is the L1 norm) pushes heads onto the cheap path.
// Training computes both branches (full is O(T^2)); a deployed model keeps full attention only
// for heads with a_h > 0.5 -- density() and cost() describe that thresholded model.
#include "attention/banded.h"
#include "attention/spec_util.h"
#include "attention/variant.h"

namespace attnlab {
namespace {

class DuoAttention : public AttentionVariant {
 public:
  DuoAttention(const nlohmann::json& spec, const LayerInit& init) : scale_(init.attn_scale), n_head_(init.n_head) {
    SpecReader r("duo", spec, {{"window", 64}, {"sinks", 4}, {"l1", 0.01}, {"init_logit", 4.0}});
    window_ = r.get_int("window", 1);
    sinks_ = r.get_int("sinks", 0);
    l1_ = r.get_double("l1", 0.0);
    const double init_logit = r.get_double("init_logit", -50.0, 50.0);
    spec_ = r.filled();
    gate_logit_ = register_parameter("gate_logit", torch::full({n_head_}, init_logit));
  }
  std::string kind() const override { return "duo"; }

  torch::Tensor gates() const { return torch::sigmoid(gate_logit_); }  // [H]

  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor&) override {
    auto a = gates().to(q.dtype()).view({1, -1, 1, 1});  // [1, H, 1, 1]
    auto full = causal_softmax_attention(q, k, v, scale_);
    auto local = window_sink_attention(q, k, v, scale_, window_, sinks_);
    return a * full + (1 - a) * local;
  }
  torch::Tensor effective_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor&) override {
    auto a = gates().to(q.dtype()).view({1, -1, 1, 1});
    auto local = masked_softmax_probs(q, k, scale_, window_sink_mask(q.size(2), window_, sinks_, q.device()));
    return a * causal_softmax_probs(q, k, scale_) + (1 - a) * local;
  }
  // Mean over heads of (a_h > 0.5 ? 1 : window+sink density).
  double density(int64_t T) const override {
    if (T <= 0) return 1.0;
    const double win = window_sink_reads(T, window_, sinks_) / causal_pairs(T);
    const double full = full_fraction();
    return full + (1.0 - full) * win;
  }
  // Thresholded model: full heads cost a dense causal kernel (T^2 scores), the others the
  // banded window kernel (query blocks of c = max(w, 16) against c + w - 1 keys, plus sinks).
  AttnCost cost(int64_t T, int64_t H, int64_t Dh) const override {
    const double Tf = static_cast<double>(T);
    const double w = static_cast<double>(std::min<int64_t>(window_, T));
    const double c = static_cast<double>(std::min<int64_t>(T, std::max<int64_t>(window_, 16)));
    const double slots_local = c + w - 1 + static_cast<double>(std::min<int64_t>(sinks_, T));
    const double f = full_fraction();
    const double slots = f * Tf + (1.0 - f) * slots_local;
    return {2.0 * 2.0 * Tf * slots * Dh * H, 4.0 * H * (Tf * slots + 3.0 * Tf * Dh)};
  }
  torch::Tensor regularizer() override { return l1_ * gates().sum(); }
  nlohmann::json coefficients() const override {
    auto a = gates().detach().to(torch::kCPU).to(torch::kDouble).contiguous();
    nlohmann::json values = nlohmann::json::array();
    for (int64_t h = 0; h < a.size(0); ++h) values.push_back(nlohmann::json::array({a[h].item<double>()}));
    return {{"names", nlohmann::json::array({"full_gate"})}, {"values", values}};
  }
  nlohmann::json spec() const override { return spec_; }

 private:
  double full_fraction() const {
    torch::NoGradGuard ng;
    return (gates() > 0.5).to(torch::kDouble).mean().item<double>();
  }

  double scale_;
  int64_t n_head_;
  int64_t window_ = 64, sinks_ = 4;
  double l1_ = 0.01;
  nlohmann::json spec_;
  torch::Tensor gate_logit_;  // [H]
};

VariantRegistrar reg("duo", [](const nlohmann::json& spec, const LayerInit& init) {
  return std::make_shared<DuoAttention>(spec, init);
});

}  // namespace
}  // namespace attnlab
