// A reference/custom model pair for interactive inspection (GUI attention inspector and
// prompt panel, `attnlab-cli generate`): load from a run directory, extract attention maps,
// compare completions. All methods are blocking: call them from worker threads.
#pragma once
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "generate/generate.h"
#include "train/distill.h"

namespace attnlab {

class Gpt2Tokenizer;

/// One layer's attention for one input: [H][T*T] row-major (query row, key column).
struct LayerAttention {
  int layer = 0;
  int64_t n_head = 0, T = 0;
  std::vector<std::vector<float>> ref, custom;  // per head, T*T
  std::vector<float> row_kl;                    // mean over heads of KL(ref row || custom row), [T]
};

/// Small thumbnails of every layer x head (average-pooled to `size` x `size`).
struct AttentionOverview {
  int64_t n_layer = 0, n_head = 0, size = 0, T = 0;
  std::vector<std::vector<float>> ref, custom;  // index layer * n_head + head, size*size
};

struct CompletionPair {
  std::vector<int32_t> prompt_ids, ref_ids, custom_ids;       // generated ids only (without prompt)
  std::vector<std::string> ref_tokens, custom_tokens;         // decoded token strings
  std::vector<double> custom_token_kl;  // KL(P_ref || P_custom) at the position that produced each custom token
  int first_divergence = -1;            // index of the first differing generated token, -1 if none
  std::string ref_text, custom_text;
};

class ModelPair {
 public:
  /// Reference from cfg.model, custom = reference with the variant, trained state loaded
  /// from run_dir's latest checkpoint (if any).
  static std::shared_ptr<ModelPair> from_run(const std::filesystem::path& run_dir);
  /// Untrained pair from a configuration (custom = reference + freshly initialised variant).
  static std::shared_ptr<ModelPair> from_config(const DistillConfig& cfg);
  ~ModelPair();

  int64_t n_layer() const;
  int64_t n_head() const;
  int64_t n_positions() const;
  const DistillConfig& config() const;
  const Gpt2Tokenizer& tokenizer() const;
  /// Token strings for axis labels (bytes decoded leniently, whitespace made visible).
  std::vector<std::string> token_labels(const std::vector<int32_t>& ids) const;
  /// A validation block of T tokens (index wraps).
  std::vector<int32_t> validation_sample(int64_t T, int64_t index) const;

  /// One layer's maps. The residual stream entering every block is cached for the last input
  /// (both models, f32: n_layer x T x n_embd each), so once the layers below have run (by an
  /// earlier call or by overview()), another layer of the same input costs only its attention
  /// probabilities (ln_1, q/k projections, softmax: no values, no MLP) per model.
  LayerAttention attention(const std::vector<int32_t>& ids, int layer) const;
  /// Thumbnails of layers [first, last] (last < 0: to the end); the other layers' entries stay
  /// empty. Fills the same cache, so the inspector can build the overview one layer at a time
  /// and answer a layer switch in between.
  AttentionOverview overview(const std::vector<int32_t>& ids, int64_t size, int first = 0, int last = -1) const;
  /// Whole blocks run by attention()/overview() since load (both models together count one
  /// per layer): what the cache saves is visible to tests and benchmarks.
  int64_t blocks_run() const;
  CompletionPair compare(const std::string& prompt, const GenerateOptions& opt,
                         const std::atomic<bool>* cancel = nullptr) const;

  struct Impl;

 private:
  explicit ModelPair(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnlab
