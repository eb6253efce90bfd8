// Sparse-support attention kernels (see banded.h).
#include "attention/banded.h"

#include <algorithm>
#include <limits>

namespace attnlab {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Query chunks: at most kChunkRows queries, and fewer when one chunk's score/gather tensor would
// exceed kChunkElems elements. A fixed row cap keeps the transients O(S) (linear in T), not
// O(T S), at every T.
constexpr int64_t kChunkElems = int64_t{1} << 22;
constexpr int64_t kChunkRows = 128;

int64_t chunk_rows(int64_t per_row, int64_t T) {
  return std::clamp<int64_t>(kChunkElems / std::max<int64_t>(1, per_row), 1, std::clamp<int64_t>(T, 1, kChunkRows));
}

// Softmax of masked scores s (masked entries already -inf) that tolerates empty rows.
// Returns probabilities and the log-sum-exp (+inf for empty rows, so exp(s - lse) stays 0).
std::pair<torch::Tensor, torch::Tensor> safe_softmax(const torch::Tensor& s) {
  auto m = std::get<0>(s.max(-1, true));
  m = torch::where(torch::isfinite(m), m, torch::zeros_like(m));
  auto e = torch::exp(s - m);
  auto sum = e.sum(-1, true);
  auto nonempty = sum > 0;
  auto lse = torch::where(nonempty, m + torch::log(torch::where(nonempty, sum, torch::ones_like(sum))),
                          torch::full_like(sum, kInf));
  auto p = e / torch::where(nonempty, sum, torch::ones_like(sum));
  return {p, lse};
}

// ---------------------------------------------------------------------------------------------
// chunked_causal_attention
struct ChunkedCausalAttention : public torch::autograd::Function<ChunkedCausalAttention> {
  // Scores of query rows [t0, t0 + n) against all keys, masked by key_last <= t.
  static torch::Tensor scores(const torch::Tensor& qc, const torch::Tensor& k, const torch::Tensor& key_last,
                              int64_t t0, double scale) {
    const int64_t n = qc.size(2);
    auto s = torch::matmul(qc, k.transpose(-1, -2)) * scale;  // [B, H, n, S]
    auto t = torch::arange(t0, t0 + n, key_last.options()).unsqueeze(1);
    return s.masked_fill(key_last.unsqueeze(0) > t, -kInf);
  }

  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& key_last, double scale) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), S = k.size(2);
    const int64_t rows = chunk_rows(B * H * S, T);
    auto out = torch::empty_like(q);
    auto lse = torch::empty({B, H, T, 1}, q.options());
    for (int64_t t0 = 0; t0 < T; t0 += rows) {
      const int64_t n = std::min(rows, T - t0);
      auto [p, l] = safe_softmax(scores(q.narrow(2, t0, n), k, key_last, t0, scale));
      out.narrow(2, t0, n).copy_(torch::matmul(p, v));
      lse.narrow(2, t0, n).copy_(l);
    }
    ctx->save_for_backward({q, k, v, key_last, out, lse});
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto &q = saved[0], &k = saved[1], &v = saved[2], &key_last = saved[3], &out = saved[4], &lse = saved[5];
    const double scale = ctx->saved_data["scale"].toDouble();
    auto dout = grads[0];
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), S = k.size(2);
    const int64_t rows = chunk_rows(B * H * S, T);
    auto dq = torch::zeros_like(q), dk = torch::zeros_like(k), dv = torch::zeros_like(v);
    for (int64_t t0 = 0; t0 < T; t0 += rows) {
      const int64_t n = std::min(rows, T - t0);
      auto qc = q.narrow(2, t0, n), doc = dout.narrow(2, t0, n);
      auto p = torch::exp(scores(qc, k, key_last, t0, scale) - lse.narrow(2, t0, n));  // [B, H, n, S]
      dv += torch::matmul(p.transpose(-1, -2), doc);
      auto dp = torch::matmul(doc, v.transpose(-1, -2));
      auto D = (doc * out.narrow(2, t0, n)).sum(-1, true);
      auto ds = p * (dp - D) * scale;
      dq.narrow(2, t0, n).copy_(torch::matmul(ds, k));
      dk += torch::matmul(ds.transpose(-1, -2), qc);
    }
    return {dq, dk, dv, torch::Tensor(), torch::Tensor()};
  }
};

// ---------------------------------------------------------------------------------------------
// block_gather_attention
struct BlockGatherAttention : public torch::autograd::Function<BlockGatherAttention> {
  struct Gathered {
    torch::Tensor idx;    // [B, H, n*S] token index (0 where invalid)
    torch::Tensor valid;  // [B, H, n, S]
  };
  // Token indices of the blocks chosen by query rows [t0, t0 + n).
  static Gathered tokens(const torch::Tensor& blk_c, int64_t block, int64_t t0, int64_t T) {
    const int64_t B = blk_c.size(0), H = blk_c.size(1), n = blk_c.size(2), nsel = blk_c.size(3);
    auto off = torch::arange(block, blk_c.options());
    auto tok = (blk_c.unsqueeze(-1) * block + off).view({B, H, n, nsel * block});  // [B, H, n, S]
    auto t = torch::arange(t0, t0 + n, blk_c.options()).view({1, 1, n, 1});
    auto valid = (blk_c >= 0).unsqueeze(-1).expand({B, H, n, nsel, block}).reshape({B, H, n, nsel * block}) &
                 (tok <= t) & (tok < T);
    auto idx = tok.masked_fill(~valid, 0).view({B, H, n * nsel * block});
    return {idx, valid};
  }
  static torch::Tensor gather(const torch::Tensor& x, const Gathered& g, int64_t n) {
    const int64_t B = x.size(0), H = x.size(1), Dh = x.size(3);
    auto rows = x.gather(2, g.idx.unsqueeze(-1).expand({B, H, g.idx.size(2), Dh}));
    return rows.view({B, H, n, -1, Dh});  // [B, H, n, S, Dh]
  }

  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& blk, int64_t block, double scale) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3), S = blk.size(3) * block;
    const int64_t rows = chunk_rows(B * H * S * Dh, T);
    auto out = torch::empty_like(q);
    auto lse = torch::empty({B, H, T, 1}, q.options());
    for (int64_t t0 = 0; t0 < T; t0 += rows) {
      const int64_t n = std::min(rows, T - t0);
      auto g = tokens(blk.narrow(2, t0, n), block, t0, T);
      auto qc = q.narrow(2, t0, n);
      auto s = torch::matmul(gather(k, g, n), qc.unsqueeze(-1)).squeeze(-1) * scale;  // [B, H, n, S]
      auto [p, l] = safe_softmax(s.masked_fill(~g.valid, -kInf));
      out.narrow(2, t0, n).copy_(torch::matmul(p.unsqueeze(-2), gather(v, g, n)).squeeze(-2));
      lse.narrow(2, t0, n).copy_(l);
    }
    ctx->save_for_backward({q, k, v, blk, out, lse});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["block"] = block;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto &q = saved[0], &k = saved[1], &v = saved[2], &blk = saved[3], &out = saved[4], &lse = saved[5];
    const double scale = ctx->saved_data["scale"].toDouble();
    const int64_t block = ctx->saved_data["block"].toInt();
    auto dout = grads[0];
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3), S = blk.size(3) * block;
    const int64_t rows = chunk_rows(B * H * S * Dh, T);
    auto dq = torch::zeros_like(q), dk = torch::zeros_like(k), dv = torch::zeros_like(v);
    for (int64_t t0 = 0; t0 < T; t0 += rows) {
      const int64_t n = std::min(rows, T - t0);
      auto g = tokens(blk.narrow(2, t0, n), block, t0, T);
      auto qc = q.narrow(2, t0, n), doc = dout.narrow(2, t0, n);
      auto kg = gather(k, g, n), vg = gather(v, g, n);                           // [B, H, n, S, Dh]
      auto s = torch::matmul(kg, qc.unsqueeze(-1)).squeeze(-1) * scale;         // [B, H, n, S]
      auto p = torch::exp(s.masked_fill(~g.valid, -kInf) - lse.narrow(2, t0, n));
      auto dvg = p.unsqueeze(-1) * doc.unsqueeze(-2);                           // [B, H, n, S, Dh]
      auto dp = torch::matmul(vg, doc.unsqueeze(-1)).squeeze(-1);               // [B, H, n, S]
      auto D = (doc * out.narrow(2, t0, n)).sum(-1, true);
      auto ds = p * (dp - D) * scale;
      dq.narrow(2, t0, n).copy_(torch::matmul(ds.unsqueeze(-2), kg).squeeze(-2));
      auto dkg = ds.unsqueeze(-1) * qc.unsqueeze(-2);                           // [B, H, n, S, Dh]
      auto index = g.idx.unsqueeze(-1).expand({B, H, g.idx.size(2), Dh});
      dk.scatter_add_(2, index, dkg.reshape({B, H, -1, Dh}));
      dv.scatter_add_(2, index, dvg.reshape({B, H, -1, Dh}));
    }
    return {dq, dk, dv, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
torch::Tensor window_sink_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    double scale, int64_t window, int64_t sinks) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3);
  if (T == 0) return q.clone();
  const int64_t w = std::clamp<int64_t>(window, 1, T);
  const int64_t s = std::clamp<int64_t>(sinks, 0, T);
  const int64_t c = std::min<int64_t>(T, std::max<int64_t>(w, 16));  // query block
  const int64_t nb = (T + c - 1) / c, Tp = nb * c, L = c + w - 1;
  namespace F = torch::nn::functional;
  // Queries in blocks: [B, H, nb, c, Dh]. Keys/values front-padded by w - 1 so block b's keys
  // are padded rows [b c, b c + L): a strided (unfold) view, no T x T anything.
  auto qb = F::pad(q, F::PadFuncOptions({0, 0, 0, Tp - T})).view({B, H, nb, c, Dh});
  auto kp = F::pad(k, F::PadFuncOptions({0, 0, w - 1, Tp - T}));
  auto vp = F::pad(v, F::PadFuncOptions({0, 0, w - 1, Tp - T}));
  auto kb = kp.unfold(2, L, c);                       // [B, H, nb, Dh, L]
  auto vb = vp.unfold(2, L, c).transpose(-1, -2);     // [B, H, nb, L, Dh]
  auto scores = torch::matmul(qb, kb) * scale;        // [B, H, nb, c, L]
  // Block-local support: query r of block b reads key slot u iff r <= u <= r + w - 1 and the
  // slot is not front padding (absolute key b c - (w - 1) + u >= 0).
  auto opt = torch::TensorOptions().dtype(torch::kLong).device(q.device());
  auto bi = torch::arange(nb, opt).view({nb, 1, 1}), r = torch::arange(c, opt).view({1, c, 1});
  auto u = torch::arange(L, opt).view({1, 1, L});
  auto valid = (u >= r) & (u <= r + (w - 1)) & (bi * c - (w - 1) + u >= 0);  // [nb, c, L]
  torch::Tensor p_win, p_sink;
  if (s > 0) {
    // Sinks j < s, read by query t only when outside its window (j <= t - w) so none counts twice.
    auto ks = k.narrow(2, 0, s), vs = v.narrow(2, 0, s);
    auto ss = F::pad(torch::matmul(q, ks.transpose(-1, -2)) * scale, F::PadFuncOptions({0, 0, 0, Tp - T}))
                  .view({B, H, nb, c, s});
    auto j = torch::arange(s, opt).view({1, 1, s});
    auto sink_valid = (j + w <= bi * c + r);  // [nb, c, s]
    auto all = torch::cat({scores, ss}, -1).masked_fill(~torch::cat({valid, sink_valid}, -1), -kInf);
    auto p = torch::softmax(all, -1);
    p_win = p.narrow(-1, 0, L);
    p_sink = p.narrow(-1, L, s);
    auto out = torch::matmul(p_win, vb) + torch::matmul(p_sink, vs.unsqueeze(2));
    return out.view({B, H, Tp, Dh}).narrow(2, 0, T);
  }
  p_win = torch::softmax(scores.masked_fill(~valid, -kInf), -1);
  return torch::matmul(p_win, vb).view({B, H, Tp, Dh}).narrow(2, 0, T);
}

torch::Tensor window_sink_mask(int64_t T, int64_t window, int64_t sinks, const torch::Device& device) {
  auto opt = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto t = torch::arange(T, opt).unsqueeze(1), j = torch::arange(T, opt).unsqueeze(0);
  return (j <= t) & ((j > t - window) | (j < sinks));
}

double window_sink_reads(int64_t T, int64_t window, int64_t sinks) {
  double reads = 0;
  for (int64_t t = 0; t < T; ++t) {
    int64_t in_window = std::min(t + 1, window);
    int64_t extra_sinks = std::max<int64_t>(0, std::min(sinks, t + 1 - in_window));
    reads += static_cast<double>(in_window + extra_sinks);
  }
  return reads;
}

torch::Tensor chunked_causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const torch::Tensor& key_last, double scale) {
  if (k.size(2) == 0 || q.size(2) == 0) return q * 0;  // nothing visible anywhere
  return ChunkedCausalAttention::apply(q, k, v, key_last.to(torch::kLong), scale);
}

torch::Tensor block_gather_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& blk, int64_t block, double scale) {
  if (q.size(2) == 0 || blk.size(3) == 0) return q * 0;
  return BlockGatherAttention::apply(q, k, v, blk.to(torch::kLong).contiguous(), block, scale);
}

torch::Tensor masked_softmax_probs(const torch::Tensor& q, const torch::Tensor& k, double scale,
                                   const torch::Tensor& mask) {
  auto s = (torch::matmul(q, k.transpose(-1, -2)) * scale).masked_fill(~mask, -kInf);
  return safe_softmax(s).first;
}

}  // namespace attnlab
