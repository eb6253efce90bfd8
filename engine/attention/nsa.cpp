// `nsa`: Native Sparse Attention (Yuan et al. 2025, "Native Sparse Attention: Hardware-Aligned
// and Natively Trainable Sparse Attention", arXiv:2502.11089).
//
// Three branches read the same (reference) queries q [B, H, T, Dh]; each has its own key/value
// projections of x = ln_1(h) [B, T, C] (Linear C -> C, initialised from the reference c_attn
// k/v slices, so at step 0 every branch sees the reference k, v):
//  * compressed: blocks of l = "block" tokens at stride d = "stride"; block i covers tokens
//    [i d, i d + l) and is visible to query t once complete (i d + l - 1 <= t). Its key/value
//    is phi(block) = mean_t(x_t + pe_t) + MLP(flatten(x + pe)) with the intra-block position
//    embedding pe [l, Dh] and the MLP's last layer zero-initialised: it starts as the block mean.
//    Computed chunked over queries (banded.h chunked_causal_attention): memory O(T), time
//    O(T^2 / d) -- this branch is the one non-linear term, 1/d of a dense kernel.
//  * selected: tokens are cut into selection blocks of l' = "select_block"; each query ranks the
//    blocks by its compressed attention probabilities mapped to tokens (a compressed block's
//    probability spread evenly over its l tokens, summed per selection block; computed exactly
//    from prefix sums, see boundary_table) and keeps the
//    top n = "top_n" blocks, always including block 0 and the `local_blocks` most recent blocks
//    (the current one among them; these forced blocks count towards n). Attention over the
//    chosen blocks' tokens, causal inside the current block; gathered per query chunk
//    (banded.h block_gather_attention): time and memory O(T n l' Dh) / O(T (n + Dh)).
//  * window: the w = "window" most recent tokens (banded.h window_sink_attention, no sinks).
// Output: out = g_cmp o_cmp + g_slc o_slc + g_win o_win, with g = sigmoid(Linear(x)) [B, T, H, 3]
// (zero weights, bias "gate_bias" = [-4, -4, +4] by default: the window branch dominates at
// init). Gates are independent sigmoids, not a softmax, as in the paper.
//
// Gradient estimator for the selection: none of its own. The top-n choice is a hard,
// non-differentiable ranking computed under no_grad (a straight choice, no straight-through or
// relaxation): the selected branch's output is differentiable with respect to q and the
// selected branch's keys/values of the chosen blocks only; the compressed branch (and its MLP,
// position embedding and projections) learns from its own output o_cmp through g_cmp; the
// gates learn from all three.
//
// Selection is per head (H independent key/value heads, no GQA groups to share it).
// Without x (undefined tensor) the k, v passed to attend() are used for all three branches and
// the gates are sigmoid(bias).
//
// density(T) = sum over queries t of the key reads of all three branches,
//   min(t + 1, w) + min(t + 1, n l') + (#complete compressed blocks at t, 1 read each),
// divided by the causal pair count T (T + 1) / 2 and capped at 1. Window and selected reads of
// the same token count twice (they read different, separately projected keys). This is an
// upper bound for the selected branch (early queries may have fewer than n blocks).
#include <cmath>

#include "attention/banded.h"
#include "attention/spec_util.h"
#include "attention/variant.h"

namespace attnlab {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

class NativeSparseAttention : public AttentionVariant {
 public:
  NativeSparseAttention(const nlohmann::json& spec, const LayerInit& init)
      : scale_(init.attn_scale), n_head_(init.n_head), head_dim_(init.head_dim), n_embd_(init.n_embd) {
    SpecReader r("nsa", spec,
                 {{"block", 8},
                  {"stride", 4},
                  {"select_block", 16},
                  {"top_n", 4},
                  {"window", 64},
                  {"local_blocks", 2},
                  {"compress_hidden", init.head_dim},
                  {"gate_bias", {-4.0, -4.0, 4.0}}});
    l_ = r.get_int("block", 1, 1 << 16);
    d_ = r.get_int("stride", 1, l_);
    ls_ = r.get_int("select_block", 1, 1 << 16);
    n_ = r.get_int("top_n", 1, 1 << 16);
    w_ = r.get_int("window", 1);
    local_ = r.get_int("local_blocks", 1, n_);
    hidden_ = r.get_int("compress_hidden", 1, 1 << 16);
    gate_bias_ = r.get_doubles("gate_bias", 3);
    spec_ = r.filled();
    if (n_head_ * head_dim_ != n_embd_) r.fail("n_head * head_dim must equal n_embd");

    const int64_t C = n_embd_, H = n_head_, Dh = head_dim_;
    const char* names[3] = {"cmp", "slc", "win"};
    torch::NoGradGuard ng;
    for (int b = 0; b < 3; ++b) {
      kproj_[b] = register_module(std::string("k_") + names[b], torch::nn::Linear(C, C));
      vproj_[b] = register_module(std::string("v_") + names[b], torch::nn::Linear(C, C));
      if (init.c_attn_w.defined()) {  // Conv1D [C, 3C]: k = x W[:, C:2C] + b[C:2C]
        auto W = init.c_attn_w.detach().to(torch::kCPU, torch::kFloat);
        kproj_[b]->weight.copy_(W.narrow(1, C, C).t());
        vproj_[b]->weight.copy_(W.narrow(1, 2 * C, C).t());
        if (init.c_attn_b.defined()) {
          auto bias = init.c_attn_b.detach().to(torch::kCPU, torch::kFloat);
          kproj_[b]->bias.copy_(bias.narrow(0, C, C));
          vproj_[b]->bias.copy_(bias.narrow(0, 2 * C, C));
        } else {
          kproj_[b]->bias.zero_();
          vproj_[b]->bias.zero_();
        }
      }
    }
    gate_ = register_module("gate", torch::nn::Linear(C, 3 * H));  // output laid out [H, 3]
    gate_->weight.zero_();
    gate_->bias.copy_(torch::tensor({gate_bias_[0], gate_bias_[1], gate_bias_[2]}, torch::kFloat).repeat({H}));
    for (int kv = 0; kv < 2; ++kv) {
      const std::string p = kv == 0 ? "cmp_k_" : "cmp_v_";
      pe_[kv] = register_parameter(p + "pos", torch::zeros({l_, Dh}));
      mlp1_[kv] = register_module(p + "fc1", torch::nn::Linear(l_ * Dh, hidden_));
      mlp2_[kv] = register_module(p + "fc2", torch::nn::Linear(hidden_, Dh));
      mlp2_[kv]->weight.zero_();
      mlp2_[kv]->bias.zero_();
    }
  }
  std::string kind() const override { return "nsa"; }

  struct Branches {
    torch::Tensor k[3], v[3];  // [B, H, T, Dh] per branch (cmp, slc, win)
    torch::Tensor kc, vc;      // [B, H, nbc, Dh] compressed
    torch::Tensor key_last;    // [nbc] last token of each compressed block
    torch::Tensor gates;       // [B, H, T, 3] or [1, H, 1, 3]
  };

  Branches branches(const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& x) {
    Branches br;
    const int64_t B = k.size(0), H = k.size(1), T = k.size(2), Dh = k.size(3);
    if (x.defined()) {
      auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, Dh}).transpose(1, 2); };  // [B, H, T, Dh]
      for (int b = 0; b < 3; ++b) {
        br.k[b] = heads(kproj_[b]->forward(x));
        br.v[b] = heads(vproj_[b]->forward(x));
      }
      br.gates = torch::sigmoid(gate_->forward(x)).view({B, T, H, 3}).permute({0, 2, 1, 3});  // [B, H, T, 3]
    } else {
      for (int b = 0; b < 3; ++b) br.k[b] = k, br.v[b] = v;
      br.gates = torch::sigmoid(gate_->bias).view({1, H, 1, 3});
    }
    br.gates = br.gates.to(k.scalar_type());
    br.kc = compress(br.k[0], 0);
    br.vc = compress(br.v[0], 1);
    const int64_t nbc = br.kc.size(2);
    br.key_last = torch::arange(nbc, torch::TensorOptions().dtype(torch::kLong).device(k.device())) * d_ + (l_ - 1);
    return br;
  }

  /// phi over blocks of l tokens at stride d: [B, H, T, Dh] -> [B, H, nbc, Dh].
  torch::Tensor compress(const torch::Tensor& t, int kv) {
    const int64_t B = t.size(0), H = t.size(1), T = t.size(2), Dh = t.size(3);
    if (T < l_) return t.new_zeros({B, H, 0, Dh});
    auto blocks = t.unfold(2, l_, d_).transpose(-1, -2) + pe_[kv].to(t.scalar_type());  // [B, H, nbc, l, Dh]
    const int64_t nbc = blocks.size(2);
    auto flat = blocks.reshape({B, H, nbc, l_ * Dh});
    auto mlp = mlp2_[kv]->forward(torch::gelu(mlp1_[kv]->forward(flat)));  // [B, H, nbc, Dh]
    return blocks.mean(3) + mlp;
  }

  /// Top-n selection blocks per query [B, H, T, n] (-1 = none), under no_grad.
  torch::Tensor select(const torch::Tensor& q, const Branches& br) const {
    torch::NoGradGuard ng;
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2);
    const int64_t nbc = br.kc.size(2), nbs = (T + ls_ - 1) / ls_;
    const int64_t n = std::min(n_, nbs);
    const auto lopt = torch::TensorOptions().dtype(torch::kLong).device(q.device());
    auto blk = torch::empty({B, H, T, n}, lopt);
    // Query chunks of <= 128 rows (fewer if one chunk would exceed 2^22 elements): transient O(T).
    const int64_t rows =
        std::clamp<int64_t>((int64_t{1} << 22) / std::max<int64_t>(1, B * H * (nbc + nbs)), 1, std::clamp<int64_t>(T, 1, 128));
    auto bidx = torch::arange(nbs, lopt).view({1, nbs});
    const auto tab = boundary_table(nbc, nbs, q);
    for (int64_t t0 = 0; t0 < T; t0 += rows) {
      const int64_t m = std::min(rows, T - t0);
      auto t = torch::arange(t0, t0 + m, lopt).view({m, 1});
      auto score = torch::zeros({B, H, m, nbs}, q.options());
      if (nbc > 0) {
        auto s = torch::matmul(q.narrow(2, t0, m), br.kc.transpose(-1, -2)) * scale_;  // [B, H, m, nbc]
        auto p = masked_softmax_probs_rows(s, br.key_last.view({1, nbc}) <= t);
        // F(x) = importance mass of tokens < x; selection block j scores F((j+1) l') - F(j l').
        auto cum = torch::nn::functional::pad(p.cumsum(-1), torch::nn::functional::PadFuncOptions({1, 0}));
        auto F = cum.index_select(3, tab.full) +
                 (p.index_select(3, tab.part.flatten()).view({B, H, m, nbs + 1, -1}) * tab.weight).sum(-1);
        score = F.narrow(3, 1, nbs) - F.narrow(3, 0, nbs);
      }
      // Forced blocks (distinct huge scores so the current block wins, then block 0, then older locals).
      auto cur = t.div(ls_, "floor");  // [m, 1] current selection block
      score = score.masked_fill(bidx >= cur - (local_ - 1), 2e30);
      score = score.masked_fill(bidx == 0, 3e30);
      score = score.masked_fill(bidx == cur, 4e30);
      score = score.masked_fill(bidx > cur, -kInf);
      auto [val, idx] = score.topk(n, -1);
      blk.narrow(2, t0, m).copy_(idx.masked_fill(val == -kInf, -1));
    }
    return blk;
  }

  /// Maps compressed-block probabilities to token importance mass below each selection-block
  /// boundary x_j = j l' (j = 0..nbs), a compressed block's probability being spread evenly over
  /// its l tokens: F(x_j) = cumsum(p)[full_j] + sum_r p[part_jr] * weight_jr, where full_j counts
  /// the blocks entirely below x_j and part_j lists the (<= ceil(l/d)) blocks straddling it.
  /// O(nbc + nbs l/d) per query instead of O(T).
  struct BoundaryTable {
    torch::Tensor full;    // [nbs + 1] int64, index into the zero-padded cumsum
    torch::Tensor part;    // [nbs + 1, P] int64
    torch::Tensor weight;  // [nbs + 1, P] fraction of the block below the boundary (0 = padding)
  };
  BoundaryTable boundary_table(int64_t nbc, int64_t nbs, const torch::Tensor& like) const {
    const int64_t P = (l_ + d_ - 1) / d_;
    std::vector<int64_t> full(nbs + 1), part((nbs + 1) * P, 0);
    std::vector<float> weight((nbs + 1) * P, 0.0f);
    for (int64_t j = 0; j <= nbs; ++j) {
      const int64_t x = j * ls_;
      const int64_t nfull = x >= l_ ? std::min(nbc, (x - l_) / d_ + 1) : 0;  // i d + l <= x
      full[j] = nfull;
      int64_t r = 0;
      for (int64_t i = nfull; i < nbc && i * d_ < x && r < P; ++i, ++r) {
        part[j * P + r] = i;
        weight[j * P + r] = static_cast<float>(x - i * d_) / static_cast<float>(l_);
      }
    }
    auto lopt = torch::TensorOptions().dtype(torch::kLong);
    return {torch::tensor(full, lopt).to(like.device()),
            torch::tensor(part, lopt).view({nbs + 1, P}).to(like.device()),
            torch::tensor(weight).view({nbs + 1, P}).to(like.device(), like.scalar_type())};
  }

  // Softmax over rows of s with a [m, S] visibility mask; empty rows -> 0.
  static torch::Tensor masked_softmax_probs_rows(const torch::Tensor& s, const torch::Tensor& visible) {
    auto sm = s.masked_fill(~visible, -kInf);
    auto mx = std::get<0>(sm.max(-1, true));
    mx = torch::where(torch::isfinite(mx), mx, torch::zeros_like(mx));
    auto e = torch::exp(sm - mx);
    auto sum = e.sum(-1, true);
    return e / torch::where(sum > 0, sum, torch::ones_like(sum));
  }

  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& x) override {
    auto br = branches(k, v, x);
    auto o_cmp = chunked_causal_attention(q, br.kc, br.vc, br.key_last, scale_);
    auto blk = select(q, br);
    auto o_slc = block_gather_attention(q, br.k[1], br.v[1], blk, ls_, scale_);
    auto o_win = window_sink_attention(q, br.k[2], br.v[2], scale_, w_, 0);
    {
      torch::NoGradGuard ng;
      last_gates_ = br.gates.mean(std::vector<int64_t>{0, 2}).detach().to(torch::kCPU, torch::kDouble);  // [H, 3]
    }
    auto g = br.gates;
    return g.narrow(3, 0, 1) * o_cmp + g.narrow(3, 1, 1) * o_slc + g.narrow(3, 2, 1) * o_win;
  }

  /// Gate-weighted combination of the three branches' probabilities on token positions.
  torch::Tensor effective_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& x) override {
    // k stands in for v (only its shape matters: probabilities do not depend on values).
    auto br = branches(k, k, x);
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), nbc = br.kc.size(2);
    const auto lopt = torch::TensorOptions().dtype(torch::kLong).device(q.device());
    auto tt = torch::arange(T, lopt);
    auto causal = tt.view({1, T}) <= tt.view({T, 1});
    // Compressed: block i's probability spread over its l tokens.
    torch::Tensor a_cmp = torch::zeros({B, H, T, T}, q.options());
    if (nbc > 0) {
      auto p = masked_softmax_probs(q, br.kc, scale_, br.key_last.view({1, nbc}) <= tt.view({T, 1}));
      auto start = (torch::arange(nbc, lopt) * d_).view({nbc, 1});
      auto member = ((tt.view({1, T}) >= start) & (tt.view({1, T}) < start + l_)).to(q.scalar_type()) / l_;
      a_cmp = torch::matmul(p, member);  // [B, H, T, T]
    }
    // Selected: tokens of the chosen blocks, causal.
    auto blk = select(q, br);
    const int64_t nbs = (T + ls_ - 1) / ls_;
    auto chosen = torch::zeros({B, H, T, nbs + 1}, lopt);
    chosen.scatter_(3, blk.masked_fill(blk < 0, nbs), 1);  // slot nbs collects the "-1"s
    auto tok_chosen = chosen.narrow(3, 0, nbs).repeat_interleave(ls_, 3).narrow(3, 0, T).to(torch::kBool) & causal;
    auto a_slc = masked_softmax_probs(q, br.k[1], scale_, tok_chosen);
    auto a_win = masked_softmax_probs(q, br.k[2], scale_, window_sink_mask(T, w_, 0, q.device()));
    auto g = br.gates.unsqueeze(-1);  // [B|1, H, T|1, 3, 1]
    return g.select(3, 0) * a_cmp + g.select(3, 1) * a_slc + g.select(3, 2) * a_win;
  }

  double density(int64_t T) const override {
    if (T <= 0) return 1.0;
    double reads = 0;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t ncmp = t >= l_ - 1 ? (t - (l_ - 1)) / d_ + 1 : 0;
      reads += static_cast<double>(std::min(t + 1, w_) + std::min(t + 1, n_ * ls_) + ncmp);
    }
    return std::min(1.0, reads / causal_pairs(T));
  }

  // What the kernels compute (2 FLOPs per multiply-add): window blocks of c = max(w, 16) queries
  // against c + w - 1 keys; n l' selected tokens per query; all nbc compressed keys per query
  // (masked, chunked) twice for QK (selection pass + branch) and once for PV; plus this
  // variant's own projections (3 branches x k, v: Linear C -> C), the gate and the compression MLPs.
  AttnCost cost(int64_t T, int64_t H, int64_t Dh) const override {
    const double Tf = static_cast<double>(T), C = static_cast<double>(H * Dh);
    const double w = static_cast<double>(std::min<int64_t>(w_, T));
    const double c = static_cast<double>(std::min<int64_t>(T, std::max<int64_t>(w_, 16)));
    const double nbc = T >= l_ ? static_cast<double>((T - l_) / d_ + 1) : 0.0;
    const double nbs = std::ceil(Tf / static_cast<double>(ls_));
    const double slots_win = Tf * (c + w - 1), slots_sel = Tf * std::min<double>(n_, nbs) * ls_;
    const double slots_cmp = Tf * nbc;
    double macs = H * Dh * (2 * slots_win + 2 * slots_sel + 3 * slots_cmp);
    macs += 6 * Tf * C * C + Tf * C * 3 * H;                                       // projections, gate
    macs += 2 * H * nbc * (static_cast<double>(l_) * Dh * hidden_ + hidden_ * Dh);  // compression MLPs
    const double bytes = 4.0 * (H * (slots_win + slots_sel + 2 * slots_cmp) + H * Dh * (slots_sel * 2) +
                                6 * Tf * C + 2 * H * nbc * Dh + 6 * C * C);
    return {2.0 * macs, bytes};
  }

  nlohmann::json coefficients() const override {
    torch::Tensor g = last_gates_;
    if (!g.defined()) g = torch::sigmoid(gate_->bias.detach()).view({n_head_, 3}).to(torch::kCPU, torch::kDouble);
    g = g.contiguous();
    nlohmann::json values = nlohmann::json::array();
    for (int64_t h = 0; h < g.size(0); ++h)
      values.push_back({g[h][0].item<double>(), g[h][1].item<double>(), g[h][2].item<double>()});
    return {{"names", {"compressed", "selected", "window"}}, {"values", values}};
  }
  nlohmann::json spec() const override { return spec_; }

 private:
  double scale_;
  int64_t n_head_, head_dim_, n_embd_;
  int64_t l_ = 8, d_ = 4, ls_ = 16, n_ = 4, w_ = 64, local_ = 2, hidden_ = 64;
  std::vector<double> gate_bias_;
  nlohmann::json spec_;
  torch::nn::Linear kproj_[3]{nullptr, nullptr, nullptr}, vproj_[3]{nullptr, nullptr, nullptr};
  torch::nn::Linear gate_{nullptr};
  torch::Tensor pe_[2];  // [l, Dh] intra-block position embeddings (keys, values)
  torch::nn::Linear mlp1_[2]{nullptr, nullptr}, mlp2_[2]{nullptr, nullptr};
  torch::Tensor last_gates_;  // [H, 3] mean gates of the last attend() (for coefficients())
};

VariantRegistrar reg("nsa", [](const nlohmann::json& spec, const LayerInit& init) {
  return std::make_shared<NativeSparseAttention>(spec, init);
});

}  // namespace
}  // namespace attnlab
