// GPT-2 hyper-parameters as in Hugging Face's GPT2Config (config.json).
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace attnlab {

struct Gpt2Config {
  int64_t vocab_size = 50257;
  int64_t n_positions = 1024;          // maximum context length, enforced
  int64_t n_embd = 768;
  int64_t n_layer = 12;
  int64_t n_head = 12;
  int64_t n_inner = 0;                 // 0 = 4 * n_embd (HF: null)
  double layer_norm_epsilon = 1e-5;
  std::string activation_function = "gelu_new";
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;
  bool tie_word_embeddings = true;
  int64_t bos_token_id = 50256;
  int64_t eos_token_id = 50256;

  int64_t inner() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
  int64_t head_dim() const { return n_embd / n_head; }

  /// Parses and validates; `source` names the file in error messages.
  static Gpt2Config from_json(const nlohmann::json& j, const std::string& source);
  static Gpt2Config load(const std::filesystem::path& config_json);
  nlohmann::json to_json() const;  // HF-compatible config.json
  int64_t parameter_count() const;
};

}  // namespace attnlab
