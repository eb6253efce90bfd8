// The attention variant interface: every cheaper attention implements this.
// Inputs q, k, v are [B, H, T, Dh] (already split into heads, causal decoder);
// output is [B, H, T, Dh]. `x` is the block input after ln_1, [B, T, C], for variants
// that compute their own projections or gates (NSA, duo).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attnlab {

/// What a variant needs from the layer it replaces (for initialisation from the reference).
struct LayerInit {
  int layer = 0;
  int64_t n_head = 12, head_dim = 64, n_embd = 768;
  double attn_scale = 0.125;  // multiplier on q·k used by the reference layer
  torch::Tensor c_attn_w;  // [C, 3C], Conv1D layout
  torch::Tensor c_attn_b;  // [3C]
};

struct AttnCost {
  double flops = 0;  // multiply-adds counted as 2 FLOPs, forward only, per head summed, batch 1
  double bytes = 0;  // bytes of K/V/score traffic, forward only, batch 1, fp32
};

/// Events (NaN skips, Performer redraws, pruning) travel through this sink.
using EventSink = std::function<void(const std::string& kind, const nlohmann::json& detail)>;

class AttentionVariant : public torch::nn::Module {
 public:
  ~AttentionVariant() override = default;
  /// The registry name ("full", "mask-mix", ...).
  virtual std::string kind() const = 0;
  /// Causal attention. Must be differentiable with respect to q, k, v and own parameters.
  virtual torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& x) = 0;
  /// Effective attention matrix [B, H, T, T] (rows sum to 1 where the variant normalises).
  virtual torch::Tensor effective_attention(const torch::Tensor& q, const torch::Tensor& k,
                                            const torch::Tensor& x) = 0;
  /// Fraction of causal (i, j<=i) pairs read at sequence length T.
  virtual double density(int64_t T) const = 0;
  /// Analytical forward cost for one head layout at sequence length T.
  virtual AttnCost cost(int64_t T, int64_t n_head, int64_t head_dim) const = 0;
  /// Penalty added to the loss (e.g. L1 on mixture weights); undefined tensor = none.
  virtual torch::Tensor regularizer() { return {}; }
  /// Interpretable coefficients for plots: name -> values (e.g. "weights" -> per candidate).
  virtual nlohmann::json coefficients() const { return nlohmann::json::object(); }
  /// Called by the trainer before each optimisation step `step` of `total_steps` (1-based;
  /// total_steps <= 0: unknown) for redraws, pruning...
  virtual void on_step(int64_t /*step*/, int64_t /*total_steps*/, const EventSink& /*events*/) {}
  /// Variant parameters in a JSON object (the spec it was built from), for config.json.
  virtual nlohmann::json spec() const = 0;
};

using VariantPtr = std::shared_ptr<AttentionVariant>;

/// Builds a variant by name from a JSON spec, initialised from the layer it replaces.
/// Throws attnlab::Error for unknown names or bad specs, naming the field.
VariantPtr make_variant(const std::string& kind, const nlohmann::json& spec, const LayerInit& init);
/// Names of all registered variants.
std::vector<std::string> variant_kinds();

using VariantFactory = std::function<VariantPtr(const nlohmann::json& spec, const LayerInit& init)>;
struct VariantRegistrar {
  VariantRegistrar(const std::string& kind, VariantFactory f);
};

/// Reference causal softmax attention, shared by `full` and the model's own layers.
/// scale: multiplier on q·k (HF: 1/sqrt(Dh), optionally / (layer+1)).
torch::Tensor causal_softmax_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       double scale);
torch::Tensor causal_softmax_probs(const torch::Tensor& q, const torch::Tensor& k, double scale);

/// Number of causal pairs at length T: T (T + 1) / 2.
inline double causal_pairs(int64_t T) { return 0.5 * static_cast<double>(T) * static_cast<double>(T + 1); }

}  // namespace attnlab
