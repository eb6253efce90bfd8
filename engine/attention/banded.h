// Sparse-support attention kernels shared by the cheap variants (window, duo, nsa).
// None of them builds a dense T x T matrix: memory and time follow the support.
//
// Shapes: q, k, v are [B, H, T, Dh] (causal decoder, query t sits at position t);
// outputs are [B, H, T, Dh]. `scale` multiplies q·k.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace attnlab {

/// Local window + attention sinks (StreamingLLM) in one softmax. Query t reads keys
/// j in (t - window, t] (the `window` most recent tokens, itself included) and the sinks
/// j < sinks that are not already in its window. Computed blockwise: queries in blocks of
/// c = max(window, 16) tokens, each block against its c + window - 1 keys (a strided view of
/// the front-padded K/V), sinks as an extra [T, sinks] score block. Plain autograd; saved
/// memory O(T (c + window + sinks) + T Dh).
torch::Tensor window_sink_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    double scale, int64_t window, int64_t sinks);

/// Dense [T, T] bool support of window_sink_attention (true = read); for effective matrices and tests.
torch::Tensor window_sink_mask(int64_t T, int64_t window, int64_t sinks, const torch::Device& device);

/// Keys read by window_sink_attention over all T queries (sum over t of the support size).
double window_sink_reads(int64_t T, int64_t window, int64_t sinks);

/// Memory-efficient dense attention over a short key list with a causal rule: key j is visible
/// to query t iff key_last[j] <= t (key_last: [S] int64, the last token a key summarises).
/// k, v: [B, H, S, Dh]. Queries with no visible key output 0. Custom autograd function that
/// processes queries in chunks and recomputes probabilities in backward: saved memory is
/// O(B H (T + S) Dh), transient O(chunk S). Time O(T S Dh).
torch::Tensor chunked_causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const torch::Tensor& key_last, double scale);

/// Attention over gathered key blocks: query t reads the tokens of blocks blk[b, h, t, :]
/// (block i = tokens [i * block, (i + 1) * block)), causally masked (token <= t), blk = -1
/// meaning "no block". blk: [B, H, T, n] int64. One softmax over the union of the blocks.
/// Custom autograd function: K/V blocks are gathered per query chunk in forward and again in
/// backward (scatter-add for dK/dV), so saved memory is O(B H T (Dh + n)), not O(T n block Dh).
torch::Tensor block_gather_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& blk, int64_t block, double scale);

/// Dense masked softmax probabilities [B, H, T, S] (mask [T, S] or broadcastable, true = read).
/// Rows with no readable key are all zero. For effective-attention matrices at small T.
torch::Tensor masked_softmax_probs(const torch::Tensor& q, const torch::Tensor& k, double scale,
                                   const torch::Tensor& mask);

}  // namespace attnlab
