// `full`: the reference causal softmax attention as a variant (baseline and sanity check).
#include "attention/variant.h"

namespace attnlab {
namespace {

class FullAttention : public AttentionVariant {
 public:
  explicit FullAttention(const LayerInit& init) : scale_(init.attn_scale) {}
  std::string kind() const override { return "full"; }
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor&) override {
    return causal_softmax_attention(q, k, v, scale_);
  }
  torch::Tensor effective_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor&) override {
    return causal_softmax_probs(q, k, scale_);
  }
  double density(int64_t) const override { return 1.0; }
  AttnCost cost(int64_t T, int64_t H, int64_t Dh) const override {
    // QK^T and PV over the causal triangle (a dense kernel computes the full square: 2x).
    double pairs = static_cast<double>(T) * static_cast<double>(T);
    return {2.0 * 2.0 * pairs * Dh * H, 4.0 * (pairs * H + 3.0 * T * Dh * H)};
  }
  nlohmann::json spec() const override { return nlohmann::json::object(); }

 private:
  double scale_;
};

VariantRegistrar reg("full", [](const nlohmann::json&, const LayerInit& init) {
  return std::make_shared<FullAttention>(init);
});

}  // namespace
}  // namespace attnlab
