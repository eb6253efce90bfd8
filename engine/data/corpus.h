// Text corpora -> token-id caches -> contiguous blocks of seq_len tokens.
//
// Document-joining rule: a split file is encoded as ONE string, exactly as it is on disk
// (WikiText's line layout, headings and blank lines included; no separator tokens are
// added), the way GPT-2 perplexity on WikiText is usually measured. The token stream is
// then cut into consecutive, non-overlapping blocks of seq_len tokens; the tail shorter
// than seq_len is dropped. Blocks may straddle article boundaries.
#pragma once
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "tokenizer/gpt2_tokenizer.h"

namespace attnlab {

/// Finds a split ("train", "valid", "test") in a data location. A directory may spell it
/// wiki.train.raw, wiki.train.tokens, train.txt, train.raw, train.tokens, train (and
/// "validation" for valid). A plain text FILE serves as its own corpus: train = first 90% of
/// its tokens, valid = next 5%, test = last 5% (see split_fraction()).
std::filesystem::path find_split_file(const std::filesystem::path& data, const std::string& split);

/// Token ids of a split, cached on disk under cache_dir keyed by hash(text) + tokenizer
/// fingerprint (empty cache_dir = default_token_cache_dir(); "-" = no cache).
std::vector<int32_t> load_split_tokens(const std::filesystem::path& data, const std::string& split,
                                       const Gpt2Tokenizer& tok, const std::filesystem::path& cache_dir = {});

/// $ATTNLAB_CACHE, else $XDG_CACHE_HOME/attnlab/tokens, else ~/.cache/attnlab/tokens.
std::filesystem::path default_token_cache_dir();

/// Consecutive blocks of seq_len tokens over a token stream, shuffled by a seeded RNG per
/// epoch. The sampler's position is plain data so a checkpoint can store it.
class BlockDataset {
 public:
  BlockDataset(std::vector<int32_t> tokens, int64_t seq_len);
  int64_t num_blocks() const { return num_blocks_; }
  int64_t seq_len() const { return seq_len_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  /// Blocks by index -> int64 tensor [n, seq_len].
  torch::Tensor blocks(const std::vector<int64_t>& idx) const;

 private:
  std::vector<int32_t> tokens_;
  int64_t seq_len_, num_blocks_;
};

/// Deterministic shuffled order over [0, n): epoch e uses a permutation seeded by (seed, e).
struct BlockSampler {
  int64_t n = 0;
  uint64_t seed = 0;
  int64_t epoch = 0, pos = 0;
  std::vector<int64_t> next(int64_t count);

 private:
  std::vector<int64_t> order_;
  int64_t order_epoch_ = -1;
};

}  // namespace attnlab
