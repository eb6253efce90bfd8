// GPT-2 (Radford et al. 2019) as Hugging Face's GPT2LMHeadModel computes it, in LibTorch.
// Parameter names equal HF's (wte.weight, h.0.attn.c_attn.weight, ...); Conv1D weights keep
// the [in, out] layout so a checkpoint maps 1:1 (no transposes, zero-copy mmap for F32).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attention/variant.h"
#include "model/gpt2_config.h"

namespace attnlab {

class SafetensorsFile;

/// Called with the attention probabilities [B, H, T, T] of each layer when set.
using AttentionProbe = std::function<void(int layer, const torch::Tensor& probs)>;

struct Gpt2BlockImpl : torch::nn::Module {
  Gpt2BlockImpl(const Gpt2Config& cfg, int layer);
  torch::Tensor forward(const torch::Tensor& x, const AttentionProbe* probe = nullptr);
  /// Attention half of the block (used by benchmarks and variant swaps).
  torch::Tensor attention(const torch::Tensor& h, const AttentionProbe* probe);
  /// The attention probabilities [B, H, T, T] this block uses on input x (the residual stream
  /// entering the block): ln_1 -> q, k -> softmax, or the variant's effective attention.
  /// No values, no MLP: the inspector's cheap path when the block's input is known.
  torch::Tensor attention_probs(const torch::Tensor& x);
  LayerInit layer_init() const;
  double attn_scale() const;

  Gpt2Config cfg;
  int layer;
  torch::Tensor ln_1_w, ln_1_b, c_attn_w, c_attn_b, attn_proj_w, attn_proj_b;
  torch::Tensor ln_2_w, ln_2_b, c_fc_w, c_fc_b, mlp_proj_w, mlp_proj_b;
  VariantPtr variant;  // null: the reference softmax attention
  double dropout = 0.0;  // residual dropout (attention and MLP outputs), in training mode only
};
TORCH_MODULE(Gpt2Block);

struct Gpt2Impl : torch::nn::Module {
  explicit Gpt2Impl(const Gpt2Config& cfg);

  /// Token ids [B, T] (int64) -> logits [B, T, V].
  torch::Tensor forward(const torch::Tensor& ids);
  /// Embeddings (wte + wpe) for ids [B, T], positions starting at 0.
  torch::Tensor embed(const torch::Tensor& ids);
  /// Runs blocks [from, to) on hidden states [B, T, C].
  torch::Tensor blocks(torch::Tensor h, int from, int to, const AttentionProbe* probe = nullptr);
  /// Final LayerNorm.
  torch::Tensor final_norm(const torch::Tensor& h);
  /// Tied LM head: h [.., C] -> logits [.., V].
  torch::Tensor lm_head(const torch::Tensor& h);
  /// embed -> all blocks -> ln_f (no LM head).
  torch::Tensor hidden(const torch::Tensor& ids, const AttentionProbe* probe = nullptr);

  /// HF-named (name, tensor) pairs, lm_head omitted when tied.
  std::vector<std::pair<std::string, torch::Tensor>> hf_tensors() const;
  /// A deep copy (own storage, same variants = none) for use as a trainable custom model.
  std::shared_ptr<Gpt2Impl> clone_reference() const;
  /// Swaps attention in `layers` with variants built by `make(layer_init)`.
  void set_variant(int layer, VariantPtr v);
  /// GPT-2's embedding and residual dropout (embd_pdrop, resid_pdrop) with probability p,
  /// active only in training mode (Module::train()); 0 (the default) = none. Pretraining uses
  /// it; distillation never does (the reference and the custom model must be deterministic).
  void set_dropout(double p);
  double dropout = 0.0;

  Gpt2Config cfg;
  torch::Tensor wte, wpe, ln_f_w, ln_f_b, lm_head_w;  // lm_head_w undefined when tied
  torch::nn::ModuleList h;
  std::vector<Gpt2Block> block_list;
  std::shared_ptr<SafetensorsFile> backing;  // keeps mmap alive for zero-copy weights
};
TORCH_MODULE(Gpt2);

/// Loads a Hugging Face model directory (config.json + model.safetensors, or a sharded
/// model.safetensors.index.json). Names may carry the `transformer.` prefix. Every tensor's
/// dtype and shape is checked; pytorch_model.bin is refused.
Gpt2 load_gpt2(const std::filesystem::path& dir);
/// Random init (GPT-2's: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer)).
Gpt2 random_gpt2(const Gpt2Config& cfg, uint64_t seed);
/// Platform-independent deterministic weights (splitmix64 of seed, tensor index, element
/// index -> uniform values exact in float32), reproducible bit-for-bit in NumPy; used for
/// parity checks against other implementations without shipping weights.
/// See tools/hash_init.py for the same rule in Python.
Gpt2 hash_gpt2(const Gpt2Config& cfg, uint64_t seed);
/// Writes config.json + model.safetensors (+ the tokenizer files from `tokenizer_dir` if given).
void save_gpt2(const Gpt2& model, const std::filesystem::path& dir, torch::ScalarType dtype = torch::kFloat32,
               const std::filesystem::path& tokenizer_dir = {});

}  // namespace attnlab
