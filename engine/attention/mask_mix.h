// `mask-mix`: a learnable linear combination of K fixed candidate attention masks.
//   p_ij ∝ exp(s_ij) · Σ_k w_k M_k[i, j],   w_k = softplus(α_k) ≥ 0   (per block or per head)
// i.e. an additive log-bias log Σ_k w_k M_k[i, j] on the scores, restricted to the union of
// the candidates' supports. An L1 penalty λ Σ_k w_k drives unneeded candidates to zero; those
// below `prune_below` after `prune_after` steps are removed, which shrinks the support that
// is computed (banded / sink / strided segments, never a dense masked T×T unless `full` is a
// candidate).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace attnlab {

struct MaskCandidate {
  enum Kind { Local, Sink, Stride, Self, Full } kind = Local;
  int64_t n = 0;  // window / sink count / stride
  std::string name() const;
};

/// Parses "local:5,local:10,local:32,sink:4,stride:8,self,full". Throws attnlab::Error.
///   local:n   the past n tokens including the token itself (i-n < j <= i)
///   sink:n    the first n positions (j < n), StreamingLLM's attention sinks
///   stride:s  every s-th token back (i - j ≡ 0 mod s), Sparse-Transformer strided pattern
///   self      the diagonal (j = i)
///   full      every causal pair (sanity checks only; dense)
std::vector<MaskCandidate> parse_mask_candidates(const std::string& spec);

inline const char* kDefaultMaskCandidates = "local:5,local:10,local:32,sink:4,stride:8,self";

}  // namespace attnlab
