#include "model/gpt2_config.h"

#include "common/error.h"
#include "common/fs.h"

namespace attnlab {

namespace {
template <typename T>
void read_field(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
  if (!j.contains(key) || j[key].is_null()) return;
  try {
    out = j[key].get<T>();
  } catch (const std::exception&) {
    throw Error(source + ": field '" + key + "' has the wrong type (value " + j[key].dump() + ")");
  }
}
}  // namespace

Gpt2Config Gpt2Config::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": expected a JSON object");
  Gpt2Config c;
  if (j.contains("model_type") && j["model_type"].is_string() && j["model_type"] != "gpt2")
    throw Error(source + ": model_type is '" + j["model_type"].get<std::string>() +
                "', expected 'gpt2' (AttnLab loads GPT-2-architecture models only)");
  read_field(j, "vocab_size", c.vocab_size, source);
  read_field(j, "n_positions", c.n_positions, source);
  read_field(j, "n_embd", c.n_embd, source);
  read_field(j, "n_layer", c.n_layer, source);
  read_field(j, "n_head", c.n_head, source);
  read_field(j, "n_inner", c.n_inner, source);
  read_field(j, "layer_norm_epsilon", c.layer_norm_epsilon, source);
  read_field(j, "activation_function", c.activation_function, source);
  read_field(j, "scale_attn_weights", c.scale_attn_weights, source);
  read_field(j, "scale_attn_by_inverse_layer_idx", c.scale_attn_by_inverse_layer_idx, source);
  read_field(j, "tie_word_embeddings", c.tie_word_embeddings, source);
  read_field(j, "bos_token_id", c.bos_token_id, source);
  read_field(j, "eos_token_id", c.eos_token_id, source);
  bool reorder = false;
  read_field(j, "reorder_and_upcast_attn", reorder, source);  // numerically equivalent in fp32
  auto positive = [&](const char* k, int64_t v) {
    if (v <= 0) throw Error(source + ": field '" + k + "' must be positive, got " + std::to_string(v));
  };
  positive("vocab_size", c.vocab_size);
  positive("n_positions", c.n_positions);
  positive("n_embd", c.n_embd);
  positive("n_layer", c.n_layer);
  positive("n_head", c.n_head);
  if (c.n_embd % c.n_head != 0)
    throw Error(source + ": n_embd (" + std::to_string(c.n_embd) + ") must be divisible by n_head (" +
                std::to_string(c.n_head) + ")");
  if (!(c.layer_norm_epsilon > 0)) throw Error(source + ": layer_norm_epsilon must be > 0");
  static const char* kActs[] = {"gelu_new", "gelu", "gelu_fast", "gelu_pytorch_tanh", "relu", "quick_gelu"};
  bool ok = false;
  for (auto* a : kActs) ok |= (c.activation_function == a);
  if (!ok)
    throw Error(source + ": activation_function '" + c.activation_function +
                "' is not supported (expected gelu_new, gelu, gelu_fast, gelu_pytorch_tanh, relu or quick_gelu)");
  return c;
}

Gpt2Config Gpt2Config::load(const std::filesystem::path& config_json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(config_json));
  } catch (const nlohmann::json::exception& e) {
    throw Error(config_json.string() + ": not valid JSON: " + e.what());
  }
  return from_json(j, config_json.string());
}

nlohmann::json Gpt2Config::to_json() const {
  nlohmann::json j = {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"vocab_size", vocab_size},
      {"n_positions", n_positions},
      {"n_ctx", n_positions},
      {"n_embd", n_embd},
      {"n_layer", n_layer},
      {"n_head", n_head},
      {"n_inner", n_inner > 0 ? nlohmann::json(n_inner) : nlohmann::json(nullptr)},
      {"layer_norm_epsilon", layer_norm_epsilon},
      {"activation_function", activation_function},
      {"scale_attn_weights", scale_attn_weights},
      {"scale_attn_by_inverse_layer_idx", scale_attn_by_inverse_layer_idx},
      {"reorder_and_upcast_attn", false},
      {"tie_word_embeddings", tie_word_embeddings},
      {"resid_pdrop", 0.0},
      {"embd_pdrop", 0.0},
      {"attn_pdrop", 0.0},
      {"initializer_range", 0.02},
      {"bos_token_id", bos_token_id},
      {"eos_token_id", eos_token_id},
  };
  return j;
}

int64_t Gpt2Config::parameter_count() const {
  const int64_t C = n_embd, I = inner();
  int64_t per_block = 2 * 2 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * I + I) + (I * C + C);
  return vocab_size * C + n_positions * C + n_layer * per_block + 2 * C +
         (tie_word_embeddings ? 0 : vocab_size * C);
}

}  // namespace attnlab
