#include "attention/mask_mix.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "attention/variant.h"
#include "common/error.h"

namespace attnlab {

std::string MaskCandidate::name() const {
  switch (kind) {
    case Local: return "local:" + std::to_string(n);
    case Sink: return "sink:" + std::to_string(n);
    case Stride: return "stride:" + std::to_string(n);
    case Self: return "self";
    case Full: return "full";
  }
  return "?";
}

std::vector<MaskCandidate> parse_mask_candidates(const std::string& spec) {
  std::vector<MaskCandidate> out;
  std::set<std::string> seen;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    item.erase(std::remove_if(item.begin(), item.end(), ::isspace), item.end());
    if (!item.empty()) {
      MaskCandidate c;
      auto colon = item.find(':');
      std::string kind = item.substr(0, colon);
      if (kind == "self" || kind == "full") {
        if (colon != std::string::npos) throw Error("candidates: '" + item + "' takes no size");
        c.kind = kind == "self" ? MaskCandidate::Self : MaskCandidate::Full;
      } else if (kind == "local" || kind == "sink" || kind == "stride") {
        if (colon == std::string::npos) throw Error("candidates: '" + item + "' needs a size, e.g. " + kind + ":8");
        try {
          size_t used = 0;
          c.n = std::stoll(item.substr(colon + 1), &used);
          if (used != item.size() - colon - 1) throw std::invalid_argument("x");
        } catch (const std::exception&) {
          throw Error("candidates: '" + item + "': size must be a positive integer");
        }
        if (c.n <= 0) throw Error("candidates: '" + item + "': size must be a positive integer");
        if (kind == "stride" && c.n < 2) throw Error("candidates: '" + item + "': stride must be >= 2");
        c.kind = kind == "local" ? MaskCandidate::Local : kind == "sink" ? MaskCandidate::Sink : MaskCandidate::Stride;
      } else {
        throw Error("candidates: unknown candidate '" + item + "' (expected local:N, sink:N, stride:N, self or full)");
      }
      if (!seen.insert(c.name()).second) throw Error("candidates: '" + c.name() + "' is listed twice");
      out.push_back(c);
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (out.empty()) throw Error("candidates: the list is empty");
  return out;
}

namespace {

constexpr float kMasked = -1e9f;  // finite: fully masked segment rows stay NaN-free

torch::Tensor cand_mask(const MaskCandidate& c, const torch::Tensor& I, const torch::Tensor& J) {
  auto causal = J.le(I);
  switch (c.kind) {
    case MaskCandidate::Local: return causal & (I - J).lt(c.n);
    case MaskCandidate::Sink: return causal & J.lt(c.n);
    case MaskCandidate::Stride: return causal & (I - J).remainder(c.n).eq(0);
    case MaskCandidate::Self: return I.eq(J);
    case MaskCandidate::Full: return causal;
  }
  return causal;
}

class MaskMix : public AttentionVariant {
 public:
  MaskMix(const nlohmann::json& spec, const LayerInit& init) : H_(init.n_head), scale_(init.attn_scale) {
    static const std::set<std::string> kKeys = {"candidates", "per_head", "l1", "prune_below", "prune_after", "init_weight"};
    for (auto& [k, v] : spec.items())
      if (!kKeys.count(k)) throw Error("mask-mix: unknown parameter '" + k + "' (expected candidates, per_head, l1, prune_below, prune_after, init_weight)");
    candidates_str_ = spec.value("candidates", std::string(kDefaultMaskCandidates));
    cands_ = parse_mask_candidates(candidates_str_);
    per_head_ = spec.value("per_head", false);
    l1_ = spec.value("l1", 1e-3);
    prune_below_ = spec.value("prune_below", 1e-2);
    prune_after_ = spec.value("prune_after", int64_t{50});
    init_weight_ = spec.value("init_weight", 1.0);
    if (l1_ < 0) throw Error("mask-mix: l1 must be >= 0");
    if (!(init_weight_ > 0)) throw Error("mask-mix: init_weight must be > 0");
    const int64_t Hw = per_head_ ? H_ : 1, K = static_cast<int64_t>(cands_.size());
    // softplus(α) = init_weight  <=>  α = log(exp(init_weight) - 1)
    alpha_ = register_parameter("alpha", torch::full({Hw, K}, std::log(std::expm1(init_weight_))));
    alive_ = register_buffer("alive", torch::ones({Hw, K}));
  }

  std::string kind() const override { return "mask-mix"; }

  nlohmann::json spec() const override {
    return {{"candidates", candidates_str_}, {"per_head", per_head_}, {"l1", l1_},
            {"prune_below", prune_below_}, {"prune_after", prune_after_}, {"init_weight", init_weight_}};
  }

  torch::Tensor weights() const { return torch::softplus(alpha_) * alive_; }  // [Hw, K]

  // Σ_k w_k M_k[I, J] for index tensors I, J broadcastable to S -> [Hw, S...].
  torch::Tensor mix(const torch::Tensor& I, const torch::Tensor& J) const {
    auto w = weights();
    auto shape = torch::broadcast_tensors({I, J})[0].sizes().vec();
    std::vector<int64_t> wshape = {w.size(0)};
    for (size_t d = 0; d < shape.size(); ++d) wshape.push_back(1);
    torch::Tensor total;
    for (size_t k = 0; k < cands_.size(); ++k) {
      if (!active_[k]) continue;
      auto term = w.select(1, k).view(wshape) * cand_mask(cands_[k], I, J).to(w.dtype()).unsqueeze(0);
      total = total.defined() ? total + term : term;
    }
    if (!total.defined()) total = torch::zeros(wshape, w.options());
    return total;
  }

  // log-bias; positions outside `valid` (or with no mixture weight) get kMasked.
  torch::Tensor bias(const torch::Tensor& I, const torch::Tensor& J, const torch::Tensor& valid) const {
    auto m = mix(I, J);
    auto ok = valid.unsqueeze(0) & m.gt(0);
    return torch::where(ok, torch::log(m.clamp_min(1e-30)), torch::full({}, kMasked, m.options()));
  }

  void refresh_structure() const {
    auto any = alive_.amax(0);  // [K]
    active_.assign(cands_.size(), false);
    W_ = 0;
    S_ = 0;
    strides_.clear();
    full_ = false;
    for (size_t k = 0; k < cands_.size(); ++k) {
      if (any[k].item<float>() <= 0) continue;
      active_[k] = true;
      const auto& c = cands_[k];
      if (c.kind == MaskCandidate::Local) W_ = std::max(W_, c.n);
      if (c.kind == MaskCandidate::Self || c.kind == MaskCandidate::Stride) W_ = std::max<int64_t>(W_, 1);
      if (c.kind == MaskCandidate::Sink) S_ = std::max(S_, c.n);
      if (c.kind == MaskCandidate::Stride) strides_.push_back(c.n);
      if (c.kind == MaskCandidate::Full) full_ = true;
    }
  }

  // Is (I, J) already covered by an earlier segment (band, sinks, earlier strides)?
  torch::Tensor covered(const torch::Tensor& I, const torch::Tensor& J, size_t n_strides) const {
    auto d = I - J;
    auto c = d.lt(W_) | J.lt(S_);
    for (size_t s = 0; s < n_strides; ++s) c = c | d.remainder(strides_[s]).eq(0);
    return c;
  }

  struct Segment {
    torch::Tensor lse, out;  // [B, H, T], [B, H, T, Dh]
  };

  static Segment finish(const torch::Tensor& z, const torch::Tensor& v) {
    auto lse = torch::logsumexp(z, -1, true);
    auto p = torch::exp(z - lse);
    return {lse.squeeze(-1), torch::matmul(p, v)};
  }

  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor&) override {
    refresh_structure();
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), Dh = q.size(3);
    auto iopt = torch::TensorOptions().dtype(torch::kLong).device(q.device());
    std::vector<Segment> segs;
    // 1. Band: queries in blocks of c, keys [b c - (W-1), b c + c): scores [B, H, nb, c, c+W-1].
    if (W_ > 0) {
      const int64_t c = std::min<int64_t>(std::max<int64_t>(W_, 32), T);
      const int64_t nb = (T + c - 1) / c, Tp = nb * c, L = c + W_ - 1;
      auto pad_q = [&](const torch::Tensor& t) { return torch::constant_pad_nd(t, {0, 0, 0, Tp - T}); };
      auto pad_kv = [&](const torch::Tensor& t) { return torch::constant_pad_nd(t, {0, 0, W_ - 1, Tp - T}); };
      auto qb = pad_q(q).view({B, H, nb, c, Dh});
      auto kw = pad_kv(k).unfold(2, L, c).transpose(-1, -2);  // [B, H, nb, L, Dh]
      auto vw = pad_kv(v).unfold(2, L, c).transpose(-1, -2);
      auto b = torch::arange(nb, iopt).view({nb, 1, 1});
      auto I = b * c + torch::arange(c, iopt).view({1, c, 1});
      auto J = b * c - (W_ - 1) + torch::arange(L, iopt).view({1, 1, L});
      auto valid = J.ge(0) & J.le(I) & (I - J).lt(W_) & I.lt(T);
      auto z = torch::matmul(qb, kw.transpose(-1, -2)) * scale_ + bias(I, J, valid).unsqueeze(0);
      auto s = finish(z, vw);  // out [B, H, nb, c, Dh]
      segs.push_back({s.lse.reshape({B, H, Tp}).slice(2, 0, T), s.out.reshape({B, H, Tp, Dh}).slice(2, 0, T)});
    }
    // 2. Sinks not already in the band: [B, H, T, S].
    if (S_ > 0) {
      const int64_t S = std::min(S_, T);
      auto I = torch::arange(T, iopt).view({T, 1});
      auto J = torch::arange(S, iopt).view({1, S});
      auto valid = J.le(I) & (I - J).ge(W_);
      auto z = torch::matmul(q, k.slice(2, 0, S).transpose(-1, -2)) * scale_ + bias(I, J, valid).unsqueeze(0);
      segs.push_back(finish(z, v.slice(2, 0, S)));
    }
    // 3. Strides: residue classes r = i mod s attend within their class: s blocks of (T/s)^2.
    for (size_t si = 0; si < strides_.size(); ++si) {
      const int64_t s = strides_[si], n = (T + s - 1) / s, Tp = n * s;
      auto res = [&](const torch::Tensor& t) {
        return torch::constant_pad_nd(t, {0, 0, 0, Tp - T}).view({B, H, n, s, Dh}).transpose(2, 3);  // [B,H,s,n,Dh]
      };
      auto r = torch::arange(s, iopt).view({s, 1, 1});
      auto I = torch::arange(n, iopt).view({1, n, 1}) * s + r;
      auto J = torch::arange(n, iopt).view({1, 1, n}) * s + r;
      auto valid = J.le(I) & I.lt(T) & ~covered(I, J, si);
      auto z = torch::matmul(res(q), res(k).transpose(-1, -2)) * scale_ + bias(I, J, valid).unsqueeze(0);
      auto sg = finish(z, res(v));  // lse [B,H,s,n], out [B,H,s,n,Dh]
      segs.push_back({sg.lse.transpose(2, 3).reshape({B, H, Tp}).slice(2, 0, T),
                      sg.out.transpose(2, 3).reshape({B, H, Tp, Dh}).slice(2, 0, T)});
    }
    // 4. Full (sanity-check candidate): everything not covered above, dense.
    if (full_) {
      auto I = torch::arange(T, iopt).view({T, 1});
      auto J = torch::arange(T, iopt).view({1, T});
      auto valid = J.le(I) & ~covered(I, J, strides_.size());
      auto z = torch::matmul(q, k.transpose(-1, -2)) * scale_ + bias(I, J, valid).unsqueeze(0);
      segs.push_back(finish(z, v));
    }
    TORCH_CHECK(!segs.empty(), "mask-mix: no active candidate");
    // Merge the segments' softmaxes exactly (as flash attention merges tiles).
    std::vector<torch::Tensor> lses;
    for (auto& s : segs) lses.push_back(s.lse);
    auto total = torch::logsumexp(torch::stack(lses), 0);  // [B, H, T]
    torch::Tensor out;
    for (auto& s : segs) {
      auto term = torch::exp(s.lse - total).unsqueeze(-1) * s.out;
      out = out.defined() ? out + term : term;
    }
    return out;
  }

  torch::Tensor effective_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor&) override {
    refresh_structure();
    const int64_t T = q.size(2);
    auto iopt = torch::TensorOptions().dtype(torch::kLong).device(q.device());
    auto I = torch::arange(T, iopt).view({T, 1});
    auto J = torch::arange(T, iopt).view({1, T});
    auto z = torch::matmul(q, k.transpose(-1, -2)) * scale_ + bias(I, J, J.le(I)).unsqueeze(0);
    auto p = torch::softmax(z, -1);
    // Rows whose support is empty cannot occur with softplus weights; masked entries are exact 0.
    return torch::where(z.le(kMasked / 2), torch::zeros({}, p.options()), p);
  }

  torch::Tensor regularizer() override { return l1_ * weights().sum(); }

  nlohmann::json coefficients() const override {
    auto w = weights().detach().to(torch::kCPU).contiguous();
    nlohmann::json names = nlohmann::json::array(), values = nlohmann::json::array();
    for (auto& c : cands_) names.push_back(c.name());
    for (int64_t h = 0; h < w.size(0); ++h) {
      std::vector<double> row;
      for (int64_t kk = 0; kk < w.size(1); ++kk) row.push_back(w[h][kk].item<double>());
      values.push_back(row);
    }
    return {{"names", names}, {"values", values}};
  }

  void on_step(int64_t step, int64_t /*total_steps*/, const EventSink& events) override {
    if (step < prune_after_ || prune_below_ <= 0) return;
    torch::NoGradGuard ng;
    auto w = weights();
    auto drop = w.lt(prune_below_) & alive_.gt(0);
    // Keep at least one candidate per row alive.
    auto remaining = (alive_.gt(0) & ~drop).sum(1);
    for (int64_t h = 0; h < w.size(0); ++h) {
      if (remaining[h].item<int64_t>() == 0) continue;
      for (int64_t kk = 0; kk < w.size(1); ++kk) {
        if (!drop[h][kk].item<bool>()) continue;
        alive_[h][kk] = 0.0f;
        if (events)
          events("prune", {{"candidate", cands_[kk].name()}, {"head", per_head_ ? h : -1},
                           {"weight", w[h][kk].item<double>()}, {"step", step}});
      }
    }
  }

  double density(int64_t T) const override {
    refresh_structure();
    if (full_) return 1.0;
    double pairs = 0;
    for (int64_t i = 0; i < T; ++i) {
      int64_t band = std::min<int64_t>(W_, i + 1);
      int64_t sinks = std::max<int64_t>(0, std::min<int64_t>(S_, i - W_ + 1));
      int64_t cnt = 0;
      if (strides_.size() == 1) {
        int64_t s = strides_[0], lo = std::max<int64_t>(S_, 0), hi = i - W_;  // j in [lo, hi], j ≡ i mod s
        if (hi >= lo) cnt = (hi - lo >= 0) ? ((i - lo) / s - (i - hi + s - 1) / s + 1) : 0;
        cnt = std::max<int64_t>(0, cnt);
      } else if (!strides_.empty()) {
        for (int64_t j = S_; j <= i - W_; ++j)
          for (auto s : strides_)
            if ((i - j) % s == 0) {
              ++cnt;
              break;
            }
      }
      pairs += band + sinks + cnt;
    }
    return pairs / causal_pairs(T);
  }

  AttnCost cost(int64_t T, int64_t H, int64_t Dh) const override {
    refresh_structure();
    double computed = 0;  // score entries actually computed (incl. block padding)
    if (W_ > 0) {
      int64_t c = std::min<int64_t>(std::max<int64_t>(W_, 32), T);
      computed += static_cast<double>((T + c - 1) / c * c) * (c + W_ - 1);
    }
    computed += static_cast<double>(T) * std::min(S_, T);
    for (auto s : strides_) {
      double n = std::ceil(static_cast<double>(T) / s);
      computed += s * n * n;
    }
    if (full_) computed += static_cast<double>(T) * T;
    return {4.0 * computed * Dh * H, 4.0 * (computed * H + 3.0 * T * Dh * H)};
  }

 private:
  int64_t H_;
  double scale_;
  std::string candidates_str_;
  std::vector<MaskCandidate> cands_;
  bool per_head_ = false;
  double l1_ = 1e-3, prune_below_ = 1e-2, init_weight_ = 1.0;
  int64_t prune_after_ = 50;
  torch::Tensor alpha_, alive_;
  // Structure derived from `alive_` (refreshed at each call).
  mutable std::vector<bool> active_;
  mutable int64_t W_ = 0, S_ = 0;
  mutable std::vector<int64_t> strides_;
  mutable bool full_ = false;
};

VariantRegistrar reg("mask-mix", [](const nlohmann::json& spec, const LayerInit& init) {
  return std::make_shared<MaskMix>(spec, init);
});

}  // namespace
}  // namespace attnlab
