#include "attention/variant.h"

#include "common/error.h"

namespace attnlab {

namespace {
std::map<std::string, VariantFactory>& factories() {
  static std::map<std::string, VariantFactory> f;
  return f;
}
}  // namespace

VariantRegistrar::VariantRegistrar(const std::string& kind, VariantFactory f) { factories()[kind] = std::move(f); }

VariantPtr make_variant(const std::string& kind, const nlohmann::json& spec, const LayerInit& init) {
  auto it = factories().find(kind);
  if (it == factories().end()) {
    std::string names;
    for (auto& kv : factories()) names += (names.empty() ? "" : ", ") + kv.first;
    throw Error("unknown attention variant '" + kind + "' (expected one of: " + names + ")");
  }
  return it->second(spec.is_null() ? nlohmann::json::object() : spec, init);
}

std::vector<std::string> variant_kinds() {
  std::vector<std::string> v;
  for (auto& kv : factories()) v.push_back(kv.first);
  return v;
}

torch::Tensor causal_softmax_probs(const torch::Tensor& q, const torch::Tensor& k, double scale) {
  const int64_t T = q.size(-2), S = k.size(-2);
  auto scores = torch::matmul(q, k.transpose(-1, -2)) * scale;  // [B, H, T, S]
  // Query i sits at absolute position S - T + i (S == T without a cache).
  auto mask = torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(S - T + 1);
  scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
  return torch::softmax(scores, -1);
}

torch::Tensor causal_softmax_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       double scale) {
  return torch::matmul(causal_softmax_probs(q, k, scale), v);
}

}  // namespace attnlab
