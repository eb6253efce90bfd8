#include "eval/evaluate.h"

#include <cmath>

#include "train/setup.h"

namespace attnlab {

double chunked_kl(DistillSetup& s, const torch::Tensor& h_ref, const torch::Tensor& h_custom, int64_t chunk,
                  double grad_scale, torch::Tensor* grad_out) {
  const int64_t N = h_ref.size(0);
  double total = 0;
  const bool want_grad = grad_out != nullptr;
  torch::Tensor hc = want_grad ? h_custom.detach().requires_grad_(true) : h_custom;
  for (int64_t a = 0; a < N; a += chunk) {
    int64_t b = std::min(N, a + chunk);
    torch::Tensor logp_ref;
    {
      torch::NoGradGuard ng;
      logp_ref = torch::log_softmax(s.ref->lm_head(h_ref.slice(0, a, b)), -1);
    }
    auto logp_c = torch::log_softmax(s.custom->lm_head(hc.slice(0, a, b)), -1);
    // KL(P || Q) = Σ p (log p − log q), from log-probabilities only.
    auto kl = (logp_ref.exp() * (logp_ref - logp_c)).sum();
    total += kl.item<double>();
    if (want_grad) (kl * grad_scale).backward();
  }
  if (want_grad) *grad_out = hc.grad();
  return total;
}

void EvalAccum::add_block(DistillSetup& s, const torch::Tensor& ids0, int64_t score_from) {
  torch::NoGradGuard ng;
  auto ids = ids0.to(s.device);
  const int64_t B = ids.size(0), T = ids.size(1);
  auto shared = s.ref->blocks(s.ref->embed(ids), 0, s.first_shared);
  const int n = static_cast<int>(s.ref->cfg.n_layer);
  auto href = s.ref->final_norm(s.ref->blocks(shared, s.first_shared, n));
  auto hcus = s.custom->final_norm(s.custom->blocks(s.first_shared == 0 ? s.custom->embed(ids) : shared, s.first_shared, n));
  const int64_t chunk_rows = std::max<int64_t>(1, s.cfg.kl_chunk_tokens / T);
  for (int64_t b0 = 0; b0 < B; b0 += chunk_rows) {
    int64_t b1 = std::min(B, b0 + chunk_rows);
    auto lr = torch::log_softmax(s.ref->lm_head(href.slice(0, b0, b1)), -1).slice(1, score_from, T);  // [b, t, V]
    auto lc = torch::log_softmax(s.custom->lm_head(hcus.slice(0, b0, b1)), -1).slice(1, score_from, T);
    kl_sum += (lr.exp() * (lr - lc)).sum().item<double>();
    kl_tokens += (b1 - b0) * (T - score_from);
    agree += lr.argmax(-1).eq(lc.argmax(-1)).sum().item<int64_t>();
    // Next-token NLL: position t predicts token t+1.
    if (T - score_from >= 2 || (score_from > 0 && T - score_from >= 1)) {
      int64_t from = std::max<int64_t>(score_from, 1);  // targets at positions >= from
      auto tgt = ids.slice(0, b0, b1).slice(1, from, T).unsqueeze(-1);
      auto lr_all = torch::log_softmax(s.ref->lm_head(href.slice(0, b0, b1).slice(1, from - 1, T - 1)), -1);
      auto lc_all = torch::log_softmax(s.custom->lm_head(hcus.slice(0, b0, b1).slice(1, from - 1, T - 1)), -1);
      nll_ref -= lr_all.gather(-1, tgt).sum().item<double>();
      nll_custom -= lc_all.gather(-1, tgt).sum().item<double>();
      nll_tokens += tgt.numel();
    }
  }
}

EvalMetrics EvalAccum::finish(double density) const {
  EvalMetrics m;
  m.tokens = kl_tokens;
  m.kl = kl_tokens ? kl_sum / kl_tokens : 0;
  m.top1_agreement = kl_tokens ? static_cast<double>(agree) / kl_tokens : 0;
  m.ppl_ref = nll_tokens ? std::exp(nll_ref / nll_tokens) : 0;
  m.ppl_custom = nll_tokens ? std::exp(nll_custom / nll_tokens) : 0;
  m.density = density;
  return m;
}

EvalMetrics evaluate_blocks(DistillSetup& s, const std::vector<int32_t>& tokens, int64_t seq_len, int64_t n_blocks,
                            int64_t batch) {
  const int64_t avail = static_cast<int64_t>(tokens.size()) / seq_len;
  n_blocks = std::min(n_blocks, avail);
  EvalAccum acc;
  for (int64_t b0 = 0; b0 < n_blocks; b0 += batch) {
    int64_t b1 = std::min(n_blocks, b0 + batch);
    auto ids = torch::empty({b1 - b0, seq_len}, torch::kLong);
    auto* p = ids.data_ptr<int64_t>();
    for (int64_t i = 0; i < (b1 - b0) * seq_len; ++i) p[i] = tokens[b0 * seq_len + i];
    acc.add_block(s, ids);
  }
  return acc.finish(s.density(seq_len));
}

EvalMetrics evaluate_sliding(DistillSetup& s, const std::vector<int32_t>& tokens, int64_t max_len, int64_t stride,
                             int64_t max_tokens) {
  const int64_t N = std::min<int64_t>(static_cast<int64_t>(tokens.size()), max_tokens > 0 ? max_tokens : INT64_MAX);
  EvalAccum acc;
  int64_t prev_end = 0;
  for (int64_t begin = 0; begin < N; begin += stride) {
    int64_t end = std::min(begin + max_len, N);
    int64_t fresh = end - prev_end;  // tokens not yet scored
    auto ids = torch::empty({1, end - begin}, torch::kLong);
    for (int64_t i = begin; i < end; ++i) ids[0][i - begin] = tokens[i];
    acc.add_block(s, ids, (end - begin) - fresh);
    prev_end = end;
    if (end == N) break;
  }
  return acc.finish(s.density(max_len));
}

}  // namespace attnlab
