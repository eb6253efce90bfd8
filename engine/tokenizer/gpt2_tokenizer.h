// GPT-2 byte-level BPE tokenizer (Radford et al. 2019; HF `vocab.json` + `merges.txt`,
// or OpenAI's `encoder.json` + `vocab.bpe`). Pre-tokenization uses GPT-2's exact regex via
// PCRE2 (Unicode \p{L}/\p{N}, contractions, `\s+(?!\S)`), then BPE by merge rank.
// Invalid UTF-8 policy: documented in gpt2_tokenizer.cpp and README (see encode()).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace attnlab {

class Gpt2Tokenizer {
 public:
  /// vocab: vocab.json or encoder.json; merges: merges.txt or vocab.bpe.
  static Gpt2Tokenizer from_files(const std::filesystem::path& vocab, const std::filesystem::path& merges);
  /// A model directory holding vocab.json + merges.txt (or encoder.json + vocab.bpe).
  static Gpt2Tokenizer from_dir(const std::filesystem::path& dir);
  /// The bundled GPT-2 tokenizer under resources/tokenizer.
  static Gpt2Tokenizer bundled();

  Gpt2Tokenizer(Gpt2Tokenizer&&) noexcept;
  Gpt2Tokenizer& operator=(Gpt2Tokenizer&&) noexcept;
  ~Gpt2Tokenizer();

  /// Encodes UTF-8 text. With allow_special, the literal "<|endoftext|>" becomes its id.
  /// Takes any bytes: each byte that is not part of valid UTF-8 becomes its own byte token
  /// (and splits the text around it). Thread-safe.
  std::vector<int32_t> encode(const std::string& text, bool allow_special = true) const;
  /// Byte-exact inverse of encode, for any input bytes. Throws attnlab::Error on an id
  /// outside the vocab.
  std::string decode(const std::vector<int32_t>& ids) const;
  /// The raw bytes of one token (may be a partial UTF-8 sequence).
  std::string token_bytes(int32_t id) const;
  int32_t eot_id() const;
  size_t vocab_size() const;
  /// A hash of vocab + merges, used to key token caches.
  const std::string& fingerprint() const;

  /// A printable label for one token (plot axes, tables): valid UTF-8 as is, space as U+2423
  /// "␣", \n \r \t as two-character escapes, other control bytes, DEL and bytes that are
  /// not (complete) valid UTF-8 as \xNN. Throws attnlab::Error for an id outside the vocab.
  std::string token_label(int32_t id) const;

  /// Encode cache (pre-token piece -> ids, sharded, mutex-protected; shared by all threads
  /// calling encode()). Default 65536 entries; 0 disables it. Not to be called concurrently
  /// with encode(); clear_cache() may be.
  void set_cache_capacity(size_t entries);
  void clear_cache() const;
  /// Pieces longer than this many bytes use the O(n log n) heap BPE instead of the quadratic
  /// pass-by-pass loop (both give identical ids; testing and benchmark hook). Default 64.
  void set_bpe_heap_threshold(size_t bytes);

 private:
  struct Impl;
  explicit Gpt2Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnlab
