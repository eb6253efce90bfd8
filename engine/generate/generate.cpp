#include "generate/generate.h"

#include <torch/torch.h>

#include <set>

#include "common/error.h"
#include "model/gpt2.h"

namespace attnlab {

std::vector<int32_t> generate(Gpt2Impl& model, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                              const std::atomic<bool>* cancel, const std::function<void(int32_t)>& on_token) {
  if (prompt.empty()) throw Error("generate: the prompt is empty");
  if (!opt.greedy && !(opt.temperature > 0)) throw Error("generate: temperature must be > 0");
  if (opt.top_p <= 0 || opt.top_p > 1) throw Error("generate: top_p must be in (0, 1]");
  if (opt.no_repeat_ngram < 0) throw Error("generate: no_repeat_ngram must be >= 0 (0 = off)");
  torch::NoGradGuard ng;
  auto gen = at::detail::createCPUGenerator(opt.seed);
  std::vector<int32_t> seq = prompt;
  const int64_t ctx = model.cfg.n_positions;
  const auto device = model.wte.device();
  // No KV cache: every variant (banded, random-feature, sparse) recomputes its own attention
  // over the cropped context, so all of them are sampled the same way.
  for (int64_t n = 0; n < opt.max_new_tokens; ++n) {
    if (cancel && cancel->load()) break;
    int64_t start = std::max<int64_t>(0, static_cast<int64_t>(seq.size()) - ctx);
    std::vector<int64_t> window(seq.begin() + start, seq.end());
    auto ids = torch::tensor(window, torch::kLong).unsqueeze(0).to(device);
    auto h = model.hidden(ids);
    auto logits = model.lm_head(h.select(1, h.size(1) - 1)).squeeze(0).to(torch::kCPU).to(torch::kFloat32);  // [V]
    if (opt.no_repeat_ngram > 0) {
      auto banned = banned_by_ngram(seq, opt.no_repeat_ngram);
      // Ban only when something stays allowed (an n = 1 ban could in principle cover the vocab).
      if (!banned.empty() && static_cast<int64_t>(std::set<int32_t>(banned.begin(), banned.end()).size()) < logits.size(0)) {
        auto idx = torch::tensor(std::vector<int64_t>(banned.begin(), banned.end()), torch::kLong);
        logits = logits.index_fill(0, idx, -std::numeric_limits<float>::infinity());
      }
    }
    int32_t next;
    if (opt.greedy) {
      next = static_cast<int32_t>(logits.argmax().item<int64_t>());
    } else {
      logits = logits / opt.temperature;
      if (opt.top_k > 0 && opt.top_k < logits.size(0)) {
        auto kth = std::get<0>(logits.topk(opt.top_k)).min();
        logits = logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
      }
      auto probs = torch::softmax(logits, -1);
      if (opt.top_p < 1.0) {
        auto sorted = probs.sort(-1, true);
        auto sp = std::get<0>(sorted), si = std::get<1>(sorted);
        auto cum = sp.cumsum(-1);
        auto drop = (cum - sp) > opt.top_p;  // keep the smallest prefix reaching top_p
        sp = sp.masked_fill(drop, 0.0);
        probs = torch::zeros_like(probs).scatter(0, si, sp);
        probs = probs / probs.sum();
      }
      next = static_cast<int32_t>(torch::multinomial(probs, 1, false, gen).item<int64_t>());
    }
    seq.push_back(next);
    if (on_token) on_token(next);
    if (opt.stop_at_eot && next == model.cfg.eos_token_id) break;
  }
  return std::vector<int32_t>(seq.begin() + prompt.size(), seq.end());
}

std::vector<int32_t> banned_by_ngram(const std::vector<int32_t>& seq, int64_t n) {
  std::vector<int32_t> out;
  if (n < 1) return out;
  if (n == 1) return seq;
  const auto len = static_cast<int64_t>(seq.size());
  if (len < n) return out;
  // Occurrences of the last n - 1 tokens that have a follower: start i with i + n - 1 < len.
  for (int64_t i = 0; i + n - 1 < len; ++i) {
    bool match = true;
    for (int64_t j = 0; j < n - 1 && match; ++j) match = seq[i + j] == seq[len - (n - 1) + j];
    if (match) out.push_back(seq[i + n - 1]);
  }
  return out;
}

double distinct_ngram_ratio(const std::vector<int32_t>& ids, int n) {
  if (n < 1) throw Error("distinct_ngram_ratio: n must be >= 1");
  if (static_cast<int64_t>(ids.size()) < n) return 1.0;
  std::set<std::vector<int32_t>> seen;
  const size_t total = ids.size() - static_cast<size_t>(n) + 1;
  for (size_t i = 0; i < total; ++i) seen.emplace(ids.begin() + static_cast<std::ptrdiff_t>(i), ids.begin() + static_cast<std::ptrdiff_t>(i) + n);
  return static_cast<double>(seen.size()) / static_cast<double>(total);
}

}  // namespace attnlab
