// `performer`: FAVOR+ linear attention (Choromanski et al. 2021, "Rethinking Attention with
// Performers", arXiv:2009.14794).
//
// Softmax kernel exp(s q·k) is estimated with positive random features on the prescaled
// x' = s^(1/2) x:  phi(x) = m^(-1/2) exp(W x' - |x'|^2 / 2),  E[phi(q)·phi(k)] = exp(s q·k),
// W [m, Dh] = stacked orthogonal Gaussian blocks (QR of N(0,1) [Dh, Dh] matrices) whose rows
// are rescaled by independent chi(Dh) norms, so each row is marginally N(0, I).
// Attention out_i = sum_{j<=i} phi(q_i)·phi(k_j) v_j / sum_{j<=i} phi(q_i)·phi(k_j).
// (m^(-1/2) cancels in the ratio and is not applied.)
//
// Causal prefix sums in chunks of c tokens (spec "chunk"): inside a chunk the masked quadratic
// form (phi(Q_c) phi(K_c)^T o tril) V_c; across chunks a carried state S = sum phi(k) v^T [m, Dh]
// and z = sum phi(k) [m]. Memory O(T m + T c + (T / c) m Dh) (the per-chunk states are kept
// for backward); with c >= Dh that is O(T m). Time O(T m Dh + T c (2 m + Dh)).
//
// Numerical stabilisation (fp32 accumulation whatever the input dtype, fp64 kept as is):
//  * queries: the per-row max of W q' - |q'|^2/2 is subtracted (a per-query constant: cancels
//    in the ratio exactly);
//  * keys: a detached running max M_j = max over keys j' <= j and features of
//    W k' - |k'|^2/2 is subtracted (the causal form of the "global max constant": query i works
//    in the scale M_i of its own prefix, key j enters it multiplied by exp(M_j - M_i) <= 1 --
//    a [c, c] factor inside a chunk, a per-query factor exp(E_prev - M_i) on the carried state
//    stored in the scale E of the previous chunk's end). Nothing overflows, nothing from the
//    future touches a past row (not even through rounding), and the prefix's largest key keeps
//    a feature equal to exactly 1, so the prefix key mass below has max_f Z_{i,f} >= 1;
//  * denominator floor, relative: den_i >= 1e-6 * |phi(q_i)|_1 * max_f Z_{i,f}, where
//    Z_i = sum_{j<=i} phi(k_j) is the prefix key mass in query i's scale. |phi(q_i)|_1 max_f Z_{i,f}
//    is the largest value den_i could take for that query's feature mass, so the floor only acts
//    on rows that cancelled to ~1e-6 of it, never with a bare epsilon; with the scales above it
//    is >= 1e-6 (phi(q_i) has a feature equal to 1), so out = num / den and its gradients stay
//    finite even for q, k scaled x30 (a 0 floor, impossible here, would output 0 rather than 0/0).
//
// Redraw: W is redrawn every `redraw_every` steps (0 = never) from seed(spec seed, layer,
// redraw count), reported as a "redraw" event; not in the last redraw_every / 2 steps of a run.
//
// features_kind "learned" (Hedgehog, Zhang et al. 2024, arXiv:2402.04347):
// phi(x) = [softmax(x' W_h), softmax(-x' W_h)] per head, W [H, Dh, m/2] trainable, initialised
// with the same orthogonal random-feature draw (m/2 rows) so that phi(q)·phi(k) starts as a
// self-normalised, antithetic FAVOR+ estimate of exp(s q·k) (per-query/per-key normalisers of
// the softmaxes ~ exp(|x'|^2 / 2), exactly FAVOR+'s correction terms). No redraws.
//
// The block's q/k/v/o projections stay the reference's: initialisation from the reference is
// implicit.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "attention/spec_util.h"
#include "attention/variant.h"

namespace attnlab {
namespace {

constexpr double kDenFloorRel = 1e-6;
constexpr double kInf = std::numeric_limits<double>::infinity();

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// [m, d] orthogonal Gaussian random features with chi(d)-distributed row norms.
torch::Tensor orthogonal_gaussian(int64_t m, int64_t d, uint64_t seed) {
  torch::NoGradGuard ng;
  auto gen = at::detail::createCPUGenerator(seed);
  auto opt = torch::TensorOptions().dtype(torch::kDouble);
  std::vector<torch::Tensor> blocks;
  for (int64_t done = 0; done < m; done += d) {
    auto g = at::randn({d, d}, gen, opt);
    auto [q, r] = torch::linalg_qr(g);
    q = q * torch::sign(torch::diagonal(r)).unsqueeze(0);  // Haar-distributed
    blocks.push_back(q.t());                                // rows orthonormal
  }
  auto w = torch::cat(blocks, 0).narrow(0, 0, m);
  auto norms = at::randn({m, d}, gen, opt).norm(2, {1}, true);  // chi(d)
  return (w * norms).to(torch::kFloat);
}

class Performer : public AttentionVariant {
 public:
  Performer(const nlohmann::json& spec, const LayerInit& init)
      : scale_(init.attn_scale), layer_(init.layer), n_head_(init.n_head), head_dim_(init.head_dim) {
    SpecReader r("performer", spec,
                 {{"features", 256}, {"chunk", 64}, {"redraw_every", 100}, {"seed", 0}, {"features_kind", "favor"}});
    m_ = r.get_int("features", 1, 1 << 20);
    chunk_ = r.get_int("chunk", 1, 1 << 20);
    redraw_every_ = r.get_int("redraw_every", 0);
    seed_ = static_cast<uint64_t>(r.get_int("seed", 0));
    learned_ = r.get_string("features_kind", {"favor", "learned"}) == "learned";
    if (learned_ && (m_ < 2 || m_ % 2 != 0)) r.fail("features_kind 'learned' needs an even 'features' >= 2");
    spec_ = r.filled();
    redraws_ = register_buffer("redraws", torch::zeros({1}, torch::kLong));
    if (learned_) {
      auto w = orthogonal_gaussian(m_ / 2, head_dim_, draw_seed(0));  // [m/2, Dh]
      feature_w_ = register_parameter("feature_w", w.t().unsqueeze(0).repeat({n_head_, 1, 1}).contiguous());
    } else {
      proj_ = register_buffer("proj", orthogonal_gaussian(m_, head_dim_, draw_seed(0)));  // [m, Dh]
    }
  }
  std::string kind() const override { return "performer"; }

  /// Stabilised features, padded to a whole number of chunks.
  struct Features {
    torch::Tensor q;  // [B, H, Tp, m] phi(q) / its row max
    torch::Tensor k;  // [B, H, Tp, m] phi(k_j) * exp(-M_j); 0 on padding
    torch::Tensor M;  // [B, H, Tp] running key max M_j (detached; zeros for learned features)
    int64_t T, nc, c;
  };

  Features features(const torch::Tensor& q0, const torch::Tensor& k0) const {
    const auto dt = q0.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
    const int64_t B = q0.size(0), H = q0.size(1), T = q0.size(2);
    const int64_t c = std::max<int64_t>(1, std::min(chunk_, T)), nc = (T + c - 1) / c, Tp = nc * c;
    namespace F = torch::nn::functional;
    const double rs = std::sqrt(scale_);
    auto q = F::pad(q0.to(dt) * rs, F::PadFuncOptions({0, 0, 0, Tp - T}));  // [B, H, Tp, Dh]
    auto k = F::pad(k0.to(dt) * rs, F::PadFuncOptions({0, 0, 0, Tp - T}));
    auto real = (torch::arange(Tp, q.options().dtype(torch::kLong)) < T).view({1, 1, Tp, 1});
    Features f{{}, {}, {}, T, nc, c};
    if (learned_) {
      auto w = feature_w_.to(q.device(), dt).unsqueeze(0);  // [1, H, Dh, m/2]
      auto soft = [&](const torch::Tensor& x) {
        auto a = torch::matmul(x, w);  // [B, H, Tp, m/2]
        return torch::cat({torch::softmax(a, -1), torch::softmax(-a, -1)}, -1);
      };
      f.q = soft(q);
      f.k = soft(k) * real;
      f.M = torch::zeros({B, H, Tp}, q.options());
      return f;
    }
    auto w = proj_.to(q.device(), dt);  // [m, Dh]
    auto lq = torch::matmul(q, w.t()) - 0.5 * q.pow(2).sum(-1, true);  // [B, H, Tp, m]
    f.q = torch::exp(lq - std::get<0>(lq.max(-1, true)).detach());
    auto lk = (torch::matmul(k, w.t()) - 0.5 * k.pow(2).sum(-1, true)).masked_fill(~real, -kInf);
    f.M = std::get<0>(torch::cummax(lk.detach().amax(-1), -1));  // [B, H, Tp], max over keys <= j
    f.k = torch::exp(lk - f.M.unsqueeze(-1));                     // entries in [0, 1]
    return f;
  }

  /// den_i floored at 1e-6 |phi(q_i)|_1 max_f Z_{i,f}; rows with no key mass at all -> 1 (num is 0).
  static torch::Tensor safe_den(const torch::Tensor& den, const torch::Tensor& phi_q, const torch::Tensor& Z) {
    auto floor = (kDenFloorRel * phi_q.sum(-1) * std::get<0>(Z.max(-1))).detach();
    auto d = torch::maximum(den, floor);
    return torch::where(d > 0, d, torch::ones_like(d));
  }

  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor&) override {
    const int64_t B = q.size(0), H = q.size(1), Dh = v.size(3);
    if (q.size(2) == 0) return q.clone();
    auto f = features(q, k);
    const int64_t nc = f.nc, c = f.c, Tp = nc * c, m = f.q.size(-1);
    namespace F = torch::nn::functional;
    auto vb = F::pad(v.to(f.q.dtype()), F::PadFuncOptions({0, 0, 0, Tp - f.T})).view({B, H, nc, c, Dh});
    auto qf = f.q.view({B, H, nc, c, m}), kf = f.k.view({B, H, nc, c, m});
    auto Mb = f.M.view({B, H, nc, c});
    // Intra-chunk: masked quadratic form; key j rescaled to query i's scale by exp(M_j - M_i) <= 1.
    auto ar = torch::arange(c, q.options().dtype(torch::kLong));
    auto future = ar.view({1, c}) > ar.view({c, 1});  // [c (i), c (j)]
    auto rescale = torch::exp((Mb.unsqueeze(-2) - Mb.unsqueeze(-1)).masked_fill(future, -kInf));  // [B, H, nc, c, c]
    auto A = torch::matmul(qf, kf.transpose(-1, -2)) * rescale;                                    // [B, H, nc, c, c]
    auto num = torch::matmul(A, vb);                                                               // [B, H, nc, c, Dh]
    auto den = A.sum(-1);                                                                          // [B, H, nc, c]
    // Across chunks: the state before chunk ci holds chunks < ci in the scale E_{ci-1} (the running
    // max at the end of chunk ci - 1); query i of chunk ci reads it times exp(E_{ci-1} - M_i) <= 1.
    auto E = Mb.select(3, c - 1);                                               // [B, H, nc]
    auto kf_end = kf * torch::exp(Mb - E.unsqueeze(-1)).unsqueeze(-1);          // keys in their chunk-end scale
    auto P = torch::matmul(kf_end.transpose(-1, -2), vb);                       // [B, H, nc, m, Dh]
    auto zc = kf_end.sum(3);                                                    // [B, H, nc, m]
    auto decay = torch::exp(E.narrow(2, 0, nc - 1) - E.narrow(2, 1, nc - 1));   // [B, H, nc - 1], <= 1
    std::vector<torch::Tensor> S{torch::zeros({B, H, m, Dh}, P.options())}, z{torch::zeros({B, H, m}, P.options())};
    for (int64_t ci = 1; ci < nc; ++ci) {
      // state before ci = (state before ci - 1) * exp(E_{ci-2} - E_{ci-1}) + P_{ci-1}
      auto d = ci >= 2 ? decay.select(2, ci - 2) : torch::ones({B, H}, P.options());
      S.push_back(S.back() * d.view({B, H, 1, 1}) + P.select(2, ci - 1));
      z.push_back(z.back() * d.view({B, H, 1}) + zc.select(2, ci - 1));
    }
    auto Ss = torch::stack(S, 2), zs = torch::stack(z, 2);  // [B, H, nc, m, Dh], [B, H, nc, m]
    auto Eprev = torch::cat({Mb.narrow(2, 0, 1).select(3, 0), E.narrow(2, 0, nc - 1)}, 2);  // [B, H, nc]
    auto qscale = torch::exp(Eprev.unsqueeze(-1) - Mb);                                      // [B, H, nc, c], <= 1
    num = num + torch::matmul(qf, Ss) * qscale.unsqueeze(-1);
    den = den + torch::matmul(qf, zs.unsqueeze(-1)).squeeze(-1) * qscale;
    // Prefix key mass Z_i in query i's scale, for the floor (no gradient needed).
    torch::Tensor Z;
    {
      torch::NoGradGuard ng;
      Z = torch::matmul(rescale, kf) + zs.unsqueeze(3) * qscale.unsqueeze(-1);  // [B, H, nc, c, m]
    }
    auto out = num / safe_den(den, qf, Z).unsqueeze(-1);
    return out.view({B, H, Tp, Dh}).narrow(2, 0, f.T).to(q.scalar_type());
  }

  torch::Tensor effective_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor&) override {
    auto f = features(q, k);
    const int64_t Tp = f.nc * f.c;
    auto ar = torch::arange(Tp, q.options().dtype(torch::kLong));
    auto future = ar.view({1, Tp}) > ar.view({Tp, 1});
    // Key j rescaled to query i's scale: exp(M_j - M_i) <= 1 for j <= i.
    auto rescale = torch::exp((f.M.unsqueeze(-2) - f.M.unsqueeze(-1)).masked_fill(future, -kInf));
    auto A = torch::matmul(f.q, f.k.transpose(-1, -2)) * rescale;  // [B, H, Tp, Tp]
    auto Z = torch::matmul(rescale, f.k);                          // [B, H, Tp, m] prefix mass
    auto P = A / safe_den(A.sum(-1), f.q, Z).unsqueeze(-1);
    return P.narrow(2, 0, f.T).narrow(3, 0, f.T).to(q.scalar_type());
  }

  double density(int64_t) const override { return 1.0; }
  AttnCost cost(int64_t T, int64_t H, int64_t Dh) const override {
    const double Tf = static_cast<double>(T), m = static_cast<double>(m_);
    const double c = static_cast<double>(std::max<int64_t>(1, std::min(chunk_, T)));
    const double nc = std::ceil(Tf / c);
    // features (q, k): T m Dh each; intra-chunk: T c m + T c Dh; states: T m Dh (K^T V) + T m Dh (Q S).
    // + T c m for the prefix key mass of the denominator floor.
    const double macs = 2 * Tf * m * Dh + Tf * c * (2 * m + Dh) + 2 * Tf * m * Dh;
    const double bytes = 4.0 * (3 * Tf * Dh + 2 * Tf * m + Tf * c + 2 * nc * m * Dh);
    return {2.0 * macs * H, bytes * H};
  }

  void on_step(int64_t step, int64_t total_steps, const EventSink& events) override {
    if (learned_ || redraw_every_ <= 0 || step <= 0 || step % redraw_every_ != 0) return;
    // Fresh features need steps to adapt to: none in the last half-period of a run (a redraw
    // right before the end raised the final KL of a 200-step run from 0.002 to 0.005).
    if (total_steps > 0 && total_steps - step < redraw_every_ / 2) return;
    torch::NoGradGuard ng;
    const int64_t count = redraws_.item<int64_t>() + 1;
    redraws_.fill_(count);
    proj_.copy_(orthogonal_gaussian(m_, head_dim_, draw_seed(count)));
    if (events)
      events("redraw", {{"variant", "performer"}, {"layer", layer_}, {"step", step}, {"redraws", count},
                        {"features", m_}});
  }
  nlohmann::json spec() const override { return spec_; }

 private:
  uint64_t draw_seed(int64_t count) const {
    return splitmix64(splitmix64(splitmix64(seed_) + static_cast<uint64_t>(layer_)) + static_cast<uint64_t>(count));
  }

  double scale_;
  int layer_;
  int64_t n_head_, head_dim_;
  int64_t m_ = 256, chunk_ = 64, redraw_every_ = 100;
  uint64_t seed_ = 0;
  bool learned_ = false;
  nlohmann::json spec_;
  torch::Tensor proj_;       // [m, Dh] random features (favor), buffer
  torch::Tensor feature_w_;  // [H, Dh, m/2] learned features, parameter
  torch::Tensor redraws_;    // [1] redraw count, buffer
};

VariantRegistrar reg("performer", [](const nlohmann::json& spec, const LayerInit& init) {
  return std::make_shared<Performer>(spec, init);
});

}  // namespace
}  // namespace attnlab
