// Held-out evaluation of a reference/custom pair: KL(P_ref || P_custom), perplexities,
// top-1 agreement, density.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "train/distill.h"

namespace attnlab {

struct DistillSetup;

/// Sums over a batch of token blocks [B, T] (KL over all positions, NLL over positions
/// predicting the next token within the block).
struct EvalAccum {
  double kl_sum = 0, nll_ref = 0, nll_custom = 0;
  int64_t kl_tokens = 0, nll_tokens = 0, agree = 0;
  void add_block(DistillSetup& s, const torch::Tensor& ids, int64_t score_from = 0);
  EvalMetrics finish(double density) const;
};

/// Evaluates the first n_blocks blocks of `tokens` (seq_len each), batch at a time.
EvalMetrics evaluate_blocks(DistillSetup& s, const std::vector<int32_t>& tokens, int64_t seq_len, int64_t n_blocks,
                            int64_t batch);

/// The Hugging Face perplexity guide's sliding-window evaluation: windows of max_len tokens
/// every `stride` tokens; each window scores only the tokens not scored by the previous one
/// (so every token is predicted with up to max_len - stride tokens of context).
EvalMetrics evaluate_sliding(DistillSetup& s, const std::vector<int32_t>& tokens, int64_t max_len, int64_t stride,
                             int64_t max_tokens);

/// Memory-aware per-token KL over hidden states: computes both LM heads chunk by chunk.
/// h_ref, h_custom: [N, C] final hidden states. Returns sum over tokens of KL.
/// When h_custom requires grad, gradients of (sum KL * grad_scale) are accumulated into
/// h_custom's leaf-like detached copy and returned through `grad_out` ([N, C]).
double chunked_kl(DistillSetup& s, const torch::Tensor& h_ref, const torch::Tensor& h_custom, int64_t chunk,
                  double grad_scale, torch::Tensor* grad_out);

}  // namespace attnlab
