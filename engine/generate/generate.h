// Sampling from a GPT-2: greedy, temperature, top-k, top-p (nucleus), seeded; optionally no
// repeated n-grams.
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
  /// > 0: never produce a token that would repeat an n-gram of this size already present in
  /// prompt + completion (Hugging Face's no_repeat_ngram_size); applies to greedy and sampling.
  /// 0 = off. Small models loop under greedy decoding; 3 breaks the loops.
  int64_t no_repeat_ngram = 0;
};

/// Token ids that would complete an n-gram already present in `seq` (the tokens following
/// every earlier occurrence of seq's last n - 1 tokens; for n = 1 every token of seq).
std::vector<int32_t> banned_by_ngram(const std::vector<int32_t>& seq, int64_t n);

/// Appends up to max_new_tokens to `prompt` (context cropped to the model's n_positions).
/// on_token(id) is called after each token; `cancel` is polled between tokens.
std::vector<int32_t> generate(Gpt2Impl& model, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                              const std::atomic<bool>* cancel = nullptr,
                              const std::function<void(int32_t)>& on_token = {});

/// Fraction of distinct n-grams among all n-grams of `ids` (1 = no n-gram repeats; a
/// completion looping on a phrase tends to 0). 1 when `ids` has fewer than n tokens.
double distinct_ngram_ratio(const std::vector<int32_t>& ids, int n);

}  // namespace attnlab
