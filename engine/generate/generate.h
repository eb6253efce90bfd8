// Sampling from a GPT-2: greedy, temperature, top-k, top-p (nucleus), seeded.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

namespace attnlab {

struct Gpt2Impl;

struct GenerateOptions {
  int64_t max_new_tokens = 40;
  bool greedy = true;
  double temperature = 1.0;
  int64_t top_k = 0;     // 0 = off
  double top_p = 1.0;    // 1 = off
  uint64_t seed = 0;
  bool stop_at_eot = true;
};

/// Appends up to max_new_tokens to `prompt` (context cropped to the model's n_positions).
/// on_token(id) is called after each token; `cancel` is polled between tokens.
std::vector<int32_t> generate(Gpt2Impl& model, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                              const std::atomic<bool>* cancel = nullptr,
                              const std::function<void(int32_t)>& on_token = {});

/// Fraction of distinct n-grams among all n-grams of `ids` (1 = no n-gram repeats; a
/// completion looping on a phrase tends to 0). 1 when `ids` has fewer than n tokens.
double distinct_ngram_ratio(const std::vector<int32_t>& ids, int n);

}  // namespace attnlab
