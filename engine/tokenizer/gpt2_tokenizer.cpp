// GPT-2 byte-level BPE, exact to OpenAI's encoder.py (github.com/openai/gpt-2, src/encoder.py).
//
// Pipeline: split out "<|endoftext|>" (allow_special) -> pre-tokenize each segment with GPT-2's
// regex (PCRE2, JIT) -> BPE each piece over byte ids by merge rank -> ids.
//
// The regex. GPT-2's pattern is
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// run by Python's `regex` module, whose \s is Unicode White_Space: U+0009-000D, 0020, 0085,
// 00A0, 1680, 2000-200A, 2028, 2029, 202F, 205F, 3000 (as in tiktoken's Rust regex and HF's
// Oniguruma). PCRE2's own \s under UCP also matches U+180E, and JavaScript's (js-tiktoken,
// gpt-3-encoder) matches U+FEFF but not U+0085, so we spell White_Space out as a class
// instead of writing \s. \p{L}/\p{N} come from PCRE2's Unicode tables (10.42: Unicode 14);
// letters or digits assigned after that version are "other" here.
//
// BPE. Exactly encoder.py's loop: take the lowest-ranked adjacent pair, merge every
// non-overlapping occurrence left to right, repeat. Pieces up to `heap_threshold` bytes run
// that loop directly; longer ones use a heap of (rank, position), which gives identical ids
// when the merges are "well ordered" (every merge ranks after all merges producing its two
// parts; checked at load, true for GPT-2) and is O(n log n): a 1 MB single word takes
// well under a second instead of hours. Duplicate merge lines: the last rank wins, as with
// encoder.py's dict().
//
// Invalid UTF-8 policy. encode() takes any byte string. The regex is compiled with
// PCRE2_MATCH_INVALID_UTF: a byte sequence that is not valid UTF-8 (stray continuation bytes,
// truncated sequences, overlongs, surrogates, > U+10FFFF) never matches and acts as a barrier,
// like the end of the text, for the valid text around it (so "a \xff" pre-tokenizes as
// "a", " ", then the byte). Each such byte becomes its own single-byte token (GPT-2's vocab has
// all 256). Hence decode(encode(x)) == x for every byte string x, and for valid UTF-8 the ids
// are GPT-2's. encode() never throws on its input (only on internal regex failure, which the
// fallbacks below make unreachable in practice).
//
// Cache. Pre-token piece -> ids, in 16 mutex-protected shards so encode() stays const and
// thread-safe; a shard that outgrows capacity/16 entries is cleared. Pieces over 64 bytes are
// not cached.
//
// Goldens: tests/fixtures/tokenizer (generated with js-tiktoken 1.0.21 and cross-checked with
// gpt-3-encoder 1.1.4 and encoder.py's algorithm under Python `regex`; see the README there).
#include "tokenizer/gpt2_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/error.h"
#include "common/fs.h"

namespace attnlab {
namespace {

constexpr const char* kEot = "<|endoftext|>";
constexpr size_t kMaxCachedPiece = 64;
constexpr size_t kShards = 16;

// Unicode White_Space, spelled out (see the header comment).
#define ATTNLAB_WS "\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
constexpr const char* kPattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" ATTNLAB_WS "\\p{L}\\p{N}]+|[" ATTNLAB_WS
    "]+(?![^" ATTNLAB_WS "])|[" ATTNLAB_WS "]+";
#undef ATTNLAB_WS

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 to
// U+0100.. in byte order.
std::array<uint32_t, 256> bytes_to_unicode() {
  std::array<uint32_t, 256> m{};
  std::array<bool, 256> keep{};
  for (int b = '!'; b <= '~'; ++b) keep[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) keep[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) keep[b] = true;
  uint32_t n = 0;
  for (int b = 0; b < 256; ++b) m[b] = keep[b] ? static_cast<uint32_t>(b) : 256 + n++;
  return m;
}

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 if it is not valid.
size_t utf8_valid_len(const unsigned char* s, size_t n, size_t i) {
  unsigned char c = s[i];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
  else return 0;
  if (i + len > n) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return len;
}

// Decodes one code point from valid UTF-8 (as produced by a JSON parser).
uint32_t next_cp(const std::string& s, size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

// Open-addressing map (left id, right id) -> (rank, merged id).
class PairTable {
 public:
  struct Hit {
    int32_t rank;
    int32_t merged;
  };
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, Slot{kEmpty, 0, 0});
    mask_ = cap - 1;
  }
  void put(int32_t a, int32_t b, int32_t rank, int32_t merged) {  // overwrites (last rank wins)
    uint64_t key = make_key(a, b);
    for (size_t i = hash(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty || slots_[i].key == key) {
        slots_[i] = Slot{key, rank, merged};
        return;
      }
    }
  }
  // rank < 0 when the pair has no merge.
  Hit get(int32_t a, int32_t b) const {
    uint64_t key = make_key(a, b);
    for (size_t i = hash(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return {s.rank, s.merged};
      if (s.key == kEmpty) return {-1, -1};
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key;
    int32_t rank;
    int32_t merged;
  };
  static uint64_t make_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  size_t hash(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 29) & mask_; }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// One cache shard: keys live in an arena, ids in a pool; both are dropped on overflow.
struct CacheShard {
  std::mutex mu;
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> map;  // -> (offset, count) in ids
  std::vector<std::unique_ptr<char[]>> chunks;
  size_t chunk_used = 0;
  std::vector<int32_t> ids;
  static constexpr size_t kChunk = 64 * 1024;

  void clear() {
    map.clear();
    chunks.clear();
    chunk_used = kChunk;
    ids.clear();
  }
  std::string_view store_key(const char* p, size_t n) {
    if (chunks.empty() || chunk_used + n > kChunk) {
      chunks.emplace_back(new char[kChunk]);
      chunk_used = 0;
    }
    char* dst = chunks.back().get() + chunk_used;
    std::memcpy(dst, p, n);
    chunk_used += n;
    return {dst, n};
  }
};

struct PcreCode {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~PcreCode() {
    if (code) pcre2_code_free(code);
  }
};

struct MatchData {
  pcre2_match_data* md;
  explicit MatchData(const pcre2_code* code) : md(pcre2_match_data_create_from_pattern(code, nullptr)) {
    if (!md) throw std::bad_alloc();
  }
  ~MatchData() { pcre2_match_data_free(md); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
};

std::string describe(const std::string& s) {
  std::string out = s.size() > 60 ? s.substr(0, 60) + "..." : s;
  return "'" + out + "'";
}

}  // namespace

struct Gpt2Tokenizer::Impl {
  std::vector<std::string> id_bytes;  // id -> raw bytes
  std::array<int32_t, 256> byte_id{};
  PairTable pairs;
  bool well_ordered = false;
  int32_t eot = -1;
  std::string eot_bytes;
  std::string fingerprint;
  PcreCode re;

  std::atomic<size_t> cache_capacity{65536};
  std::atomic<size_t> heap_threshold{64};
  mutable std::array<CacheShard, kShards> shards;

  void compile_regex();
  void encode_ordinary(const char* s, size_t n, std::vector<int32_t>& out, pcre2_match_data* md) const;
  void bpe(const char* p, size_t n, std::vector<int32_t>& out) const;
  void bpe_passes(const char* p, size_t n, std::vector<int32_t>& out) const;
  void bpe_heap(const char* p, size_t n, std::vector<int32_t>& out) const;
  const std::string& bytes_of(int32_t id, const char* what) const {
    if (id < 0 || static_cast<size_t>(id) >= id_bytes.size())
      throw Error(std::string(what) + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(id_bytes.size()) + ")");
    return id_bytes[static_cast<size_t>(id)];
  }
};

void Gpt2Tokenizer::Impl::compile_regex() {
  int err = 0;
  PCRE2_SIZE erroff = 0;
  re.code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &erroff, nullptr);
  if (!re.code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    throw Error("tokenizer: cannot compile the GPT-2 pre-tokenizer regex at offset " + std::to_string(erroff) +
                ": " + reinterpret_cast<const char*>(buf));
  }
  // JIT is an optimisation: without it (no JIT support, W^X policy) the interpreter runs.
  re.jit = pcre2_jit_compile(re.code, PCRE2_JIT_COMPLETE) == 0;
}

void Gpt2Tokenizer::Impl::encode_ordinary(const char* s, size_t n, std::vector<int32_t>& out,
                                          pcre2_match_data* md) const {
  auto subject = reinterpret_cast<PCRE2_SPTR>(s);
  auto emit_bytes = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) out.push_back(byte_id[static_cast<unsigned char>(s[i])]);
  };
  size_t off = 0;
  while (off < n) {
    int rc = re.jit ? pcre2_jit_match(re.code, subject, n, off, 0, md, nullptr)
                    : pcre2_match(re.code, subject, n, off, 0, md, nullptr);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
      // JIT stack or match limits: retry with the interpreter and generous limits. The
      // pattern has no nested quantifiers, so this is not expected to happen.
      pcre2_match_context* mc = pcre2_match_context_create(nullptr);
      pcre2_set_heap_limit(mc, 1u << 30);
      pcre2_set_match_limit(mc, UINT32_MAX);
      rc = pcre2_match(re.code, subject, n, off, PCRE2_NO_JIT, md, mc);
      pcre2_match_context_free(mc);
      if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(rc, buf, sizeof buf);
        throw Error(std::string("tokenizer: pre-tokenizer regex failed: ") + reinterpret_cast<const char*>(buf));
      }
    }
    if (rc == PCRE2_ERROR_NOMATCH) {  // only invalid UTF-8 is left
      emit_bytes(off, n);
      return;
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t start = ov[0], end = ov[1];
    emit_bytes(off, start);  // invalid UTF-8 skipped by the matcher: one token per byte
    if (end <= start) {      // cannot happen (every alternative consumes), but never loop
      end = start + 1;
      emit_bytes(start, std::min(end, n));
    } else {
      bpe(s + start, end - start, out);
    }
    off = end;
  }
}

void Gpt2Tokenizer::Impl::bpe(const char* p, size_t n, std::vector<int32_t>& out) const {
  if (n == 1) {
    out.push_back(byte_id[static_cast<unsigned char>(p[0])]);
    return;
  }
  const size_t cap = cache_capacity.load(std::memory_order_relaxed);
  if (cap == 0 || n > kMaxCachedPiece) {
    n > heap_threshold.load(std::memory_order_relaxed) && well_ordered ? bpe_heap(p, n, out) : bpe_passes(p, n, out);
    return;
  }
  std::string_view key(p, n);
  size_t h = std::hash<std::string_view>{}(key);
  CacheShard& sh = shards[(h >> 7) % kShards];
  {
    std::lock_guard<std::mutex> lock(sh.mu);
    auto it = sh.map.find(key);
    if (it != sh.map.end()) {
      const int32_t* ids = sh.ids.data() + it->second.first;
      out.insert(out.end(), ids, ids + it->second.second);
      return;
    }
  }
  size_t before = out.size();
  n > heap_threshold.load(std::memory_order_relaxed) && well_ordered ? bpe_heap(p, n, out) : bpe_passes(p, n, out);
  std::lock_guard<std::mutex> lock(sh.mu);
  if (sh.map.size() >= std::max<size_t>(1, cap / kShards)) sh.clear();
  if (sh.map.count(key)) return;  // another thread got there first
  auto off = static_cast<uint32_t>(sh.ids.size());
  sh.ids.insert(sh.ids.end(), out.begin() + static_cast<std::ptrdiff_t>(before), out.end());
  sh.map.emplace(sh.store_key(p, n), std::make_pair(off, static_cast<uint32_t>(out.size() - before)));
}

// encoder.py's loop, on ids: lowest-ranked pair, merge all its occurrences, repeat. Pair ranks
// are kept per position and looked up again only next to a merge.
void Gpt2Tokenizer::Impl::bpe_passes(const char* p, size_t n, std::vector<int32_t>& out) const {
  constexpr size_t kStack = kMaxCachedPiece * 2;
  int32_t stack_buf[6 * kStack];
  std::vector<int32_t> heap_buf;
  int32_t* base = stack_buf;
  if (n > kStack) {
    heap_buf.resize(6 * n);
    base = heap_buf.data();
  }
  // Double-buffered: symbol, rank of (i, i+1) (INT32_MAX: none), merged id of (i, i+1).
  int32_t *sym = base, *rank = base + n, *merged = base + 2 * n;
  int32_t *sym2 = base + 3 * n, *from = base + 4 * n, *rank2 = base + 5 * n;
  auto lookup = [&](int32_t* s, int32_t* r, int32_t* mg, size_t i) {
    PairTable::Hit hit = pairs.get(s[i], s[i + 1]);
    r[i] = hit.rank < 0 ? INT32_MAX : hit.rank;
    mg[i] = hit.merged;
  };
  size_t m = n;
  for (size_t i = 0; i < n; ++i) sym[i] = byte_id[static_cast<unsigned char>(p[i])];
  for (size_t i = 0; i + 1 < m; ++i) lookup(sym, rank, merged, i);
  while (m > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < m; ++i)
      if (rank[i] < rank[best]) best = i;
    const int32_t r = rank[best];
    if (r == INT32_MAX) break;
    const int32_t mid = merged[best];
    // Ranks are unique per pair, so rank[i] == r means the pair at i is the one being merged;
    // the first occurrence is at `best`.
    size_t j = best;
    for (size_t i = 0; i < best; ++i) from[i] = static_cast<int32_t>(i), sym2[i] = sym[i];
    for (size_t i = best; i < m; ++j) {
      if (i + 1 < m && rank[i] == r) {
        sym2[j] = mid;
        from[j] = -1;
        i += 2;
      } else {
        sym2[j] = sym[i];
        from[j] = static_cast<int32_t>(i);
        ++i;
      }
    }
    // New ranks: a pair of two untouched neighbours keeps its rank; pairs touching a merged
    // symbol are looked up. from[k] is dead once pair k is done and then holds its merged id.
    for (size_t k = 0; k + 1 < j; ++k) {
      if (from[k] >= 0 && from[k + 1] == from[k] + 1) {
        rank2[k] = rank[from[k]];
        from[k] = merged[from[k]];  // from[k] is dead after this pair; reuse it for the merged id
      } else {
        PairTable::Hit hit = pairs.get(sym2[k], sym2[k + 1]);
        rank2[k] = hit.rank < 0 ? INT32_MAX : hit.rank;
        from[k] = hit.merged;
      }
    }
    m = j;
    std::swap(sym, sym2);
    std::swap(rank, rank2);
    std::swap(merged, from);
  }
  out.insert(out.end(), sym, sym + m);
}

// Heap of (rank, position): one merge at a time, lowest rank first, leftmost first among equal
// ranks. Identical to bpe_passes when the merges are well ordered (see the header comment).
void Gpt2Tokenizer::Impl::bpe_heap(const char* p, size_t n, std::vector<int32_t>& out) const {
  std::vector<int32_t> sym(n), prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    sym[i] = byte_id[static_cast<unsigned char>(p[i])];
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  std::vector<uint64_t> heap;  // (rank << 32 | pos), min-heap
  heap.reserve(n);
  auto push = [&](int32_t pos) {
    int32_t nx = next[static_cast<size_t>(pos)];
    if (nx < 0) return;
    PairTable::Hit hit = pairs.get(sym[static_cast<size_t>(pos)], sym[static_cast<size_t>(nx)]);
    if (hit.rank < 0) return;
    heap.push_back((static_cast<uint64_t>(hit.rank) << 32) | static_cast<uint32_t>(pos));
    std::push_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  std::vector<char> alive(n, 1);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<uint64_t>());
    uint64_t e = heap.back();
    heap.pop_back();
    auto rank = static_cast<int32_t>(e >> 32);
    auto i = static_cast<size_t>(static_cast<uint32_t>(e));
    if (!alive[i] || next[i] < 0) continue;
    auto j = static_cast<size_t>(next[i]);
    PairTable::Hit hit = pairs.get(sym[i], sym[j]);
    if (hit.rank != rank) continue;  // stale entry
    sym[i] = hit.merged;
    alive[j] = 0;
    next[i] = next[j];
    if (next[j] >= 0) prev[static_cast<size_t>(next[j])] = static_cast<int32_t>(i);
    if (prev[i] >= 0) push(prev[i]);
    push(static_cast<int32_t>(i));
  }
  for (int32_t i = 0; i >= 0; i = next[static_cast<size_t>(i)]) out.push_back(sym[static_cast<size_t>(i)]);
}

// ---------------------------------------------------------------------------------------------
// Loading

Gpt2Tokenizer Gpt2Tokenizer::from_files(const std::filesystem::path& vocab_path,
                                        const std::filesystem::path& merges_path) {
  auto impl = std::make_unique<Impl>();
  const std::string vtext = read_text_file(vocab_path);
  const std::string mtext = read_text_file(merges_path);
  const std::string vname = "vocab file '" + vocab_path.string() + "'";
  const std::string mname = "merges file '" + merges_path.string() + "'";

  // fnv1a over vocab bytes followed by merges bytes (chained through the seed).
  std::string h1 = fnv1a_hex(vtext.data(), vtext.size());
  impl->fingerprint = fnv1a_hex(mtext.data(), mtext.size(), std::stoull(h1, nullptr, 16));

  // --- vocab.json / encoder.json: {"token": id, ...}
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(vtext);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(vname + ": malformed JSON (" + e.what() + "); expected an object mapping tokens to integer ids");
  }
  if (!j.is_object() || j.empty())
    throw Error(vname + ": expected a non-empty JSON object mapping tokens to integer ids");
  std::array<uint32_t, 256> b2u = bytes_to_unicode();
  std::unordered_map<uint32_t, unsigned char> u2b;
  for (int b = 0; b < 256; ++b) u2b[b2u[b]] = static_cast<unsigned char>(b);

  const size_t nvocab = j.size();
  std::unordered_map<std::string, int32_t> token_id;
  token_id.reserve(nvocab * 2);
  impl->id_bytes.assign(nvocab, std::string());
  std::vector<char> seen(nvocab, 0);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& tok = it.key();
    if (!it.value().is_number_integer())
      throw Error(vname + ": token " + describe(tok) + " has a non-integer id " + it.value().dump());
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || static_cast<size_t>(id) >= nvocab)
      throw Error(vname + ": token " + describe(tok) + " has id " + std::to_string(id) + "; expected ids 0.." +
                  std::to_string(nvocab - 1) + " (one per entry, no gaps)");
    if (seen[static_cast<size_t>(id)])
      throw Error(vname + ": id " + std::to_string(id) + " is used twice (again by " + describe(tok) + ")");
    seen[static_cast<size_t>(id)] = 1;
    // Byte-level tokens map back through bytes_to_unicode; anything else (an added token)
    // stands for its own UTF-8 bytes.
    std::string raw;
    raw.reserve(tok.size());
    bool byte_level = true;
    for (size_t i = 0; i < tok.size();) {
      auto f = u2b.find(next_cp(tok, i));
      if (f == u2b.end()) {
        byte_level = false;
        break;
      }
      raw.push_back(static_cast<char>(f->second));
    }
    impl->id_bytes[static_cast<size_t>(id)] = byte_level ? raw : tok;
    token_id.emplace(tok, static_cast<int32_t>(id));
  }
  for (int b = 0; b < 256; ++b) {
    std::string u;
    uint32_t cp = b2u[b];
    if (cp < 0x80) u.push_back(static_cast<char>(cp));
    else u += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    auto f = token_id.find(u);
    if (f == token_id.end()) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      throw Error(vname + ": no token for byte " + hex + " ('" + u +
                  "'); expected a GPT-2 byte-level vocab with all 256 byte tokens");
    }
    impl->byte_id[b] = f->second;
  }
  auto eot = token_id.find(kEot);
  if (eot == token_id.end()) throw Error(vname + ": no \"<|endoftext|>\" token; expected a GPT-2 vocab");
  impl->eot = eot->second;
  impl->eot_bytes = kEot;

  // --- merges.txt / vocab.bpe: "#version: ..." then one "left right" pair per line.
  struct Merge {
    int32_t a, b, merged;
  };
  std::vector<Merge> merges;
  merges.reserve(50000);
  size_t pos = 0, line_no = 0;
  while (pos < mtext.size()) {
    size_t eol = mtext.find('\n', pos);
    if (eol == std::string::npos) eol = mtext.size();
    std::string line = mtext.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
      throw Error(mname + " line " + std::to_string(line_no) + ": expected two symbols separated by one space, got " +
                  describe(line));
    std::string a = line.substr(0, sp), b = line.substr(sp + 1);
    auto fa = token_id.find(a), fb = token_id.find(b), fm = token_id.find(a + b);
    if (fa == token_id.end() || fb == token_id.end())
      throw Error(mname + " line " + std::to_string(line_no) + ": merge part " +
                  describe(fa == token_id.end() ? a : b) + " is not in the vocab (" + vocab_path.string() +
                  "); are the two files from the same model?");
    if (fm == token_id.end())
      throw Error(mname + " line " + std::to_string(line_no) + ": merge result " + describe(a + b) +
                  " is not in the vocab (" + vocab_path.string() + "); are the two files from the same model?");
    merges.push_back({fa->second, fb->second, fm->second});
  }
  if (merges.empty()) throw Error(mname + ": no merges; expected one \"left right\" pair per line");

  impl->pairs.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r)
    impl->pairs.put(merges[r].a, merges[r].b, static_cast<int32_t>(r), merges[r].merged);
  // Well ordered: every effective merge ranks after every effective merge producing a part.
  std::vector<int32_t> max_producer(nvocab, -1);
  for (size_t r = 0; r < merges.size(); ++r) {
    PairTable::Hit hit = impl->pairs.get(merges[r].a, merges[r].b);
    if (hit.rank != static_cast<int32_t>(r)) continue;  // superseded by a later duplicate
    auto& mp = max_producer[static_cast<size_t>(merges[r].merged)];
    mp = std::max(mp, static_cast<int32_t>(r));
  }
  bool ordered = true;
  for (size_t r = 0; r < merges.size() && ordered; ++r) {
    if (impl->pairs.get(merges[r].a, merges[r].b).rank != static_cast<int32_t>(r)) continue;
    if (max_producer[static_cast<size_t>(merges[r].a)] >= static_cast<int32_t>(r) ||
        max_producer[static_cast<size_t>(merges[r].b)] >= static_cast<int32_t>(r))
      ordered = false;
  }
  impl->well_ordered = ordered;

  impl->compile_regex();
  for (auto& sh : impl->shards) sh.clear();
  return Gpt2Tokenizer(std::move(impl));
}

Gpt2Tokenizer Gpt2Tokenizer::from_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  const std::pair<const char*, const char*> layouts[] = {{"vocab.json", "merges.txt"}, {"encoder.json", "vocab.bpe"}};
  for (auto& [v, m] : layouts)
    if (fs::exists(dir / v) && fs::exists(dir / m)) return from_files(dir / v, dir / m);
  for (auto& [v, m] : layouts) {
    if (fs::exists(dir / v)) throw Error("tokenizer folder '" + dir.string() + "' has " + v + " but no " + m);
    if (fs::exists(dir / m)) throw Error("tokenizer folder '" + dir.string() + "' has " + m + " but no " + v);
  }
  throw Error("no GPT-2 tokenizer in '" + dir.string() +
              "': expected vocab.json + merges.txt (Hugging Face) or encoder.json + vocab.bpe (OpenAI)");
}

Gpt2Tokenizer Gpt2Tokenizer::bundled() { return from_dir(resources_dir() / "tokenizer"); }

Gpt2Tokenizer::Gpt2Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gpt2Tokenizer::Gpt2Tokenizer(Gpt2Tokenizer&&) noexcept = default;
Gpt2Tokenizer& Gpt2Tokenizer::operator=(Gpt2Tokenizer&&) noexcept = default;
Gpt2Tokenizer::~Gpt2Tokenizer() = default;

// ---------------------------------------------------------------------------------------------
// Encoding / decoding

std::vector<int32_t> Gpt2Tokenizer::encode(const std::string& text, bool allow_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 4 + 8);
  MatchData md(impl_->re.code);
  const std::string& eot = impl_->eot_bytes;
  size_t pos = 0;
  if (allow_special) {
    for (size_t hit; (hit = text.find(eot, pos)) != std::string::npos; pos = hit + eot.size()) {
      impl_->encode_ordinary(text.data() + pos, hit - pos, out, md.md);
      out.push_back(impl_->eot);
    }
  }
  impl_->encode_ordinary(text.data() + pos, text.size() - pos, out, md.md);
  return out;
}

std::string Gpt2Tokenizer::decode(const std::vector<int32_t>& ids) const {
  size_t total = 0;
  for (int32_t id : ids) total += impl_->bytes_of(id, "decode").size();
  std::string out;
  out.reserve(total);
  for (int32_t id : ids) out += impl_->id_bytes[static_cast<size_t>(id)];
  return out;
}

std::string Gpt2Tokenizer::token_bytes(int32_t id) const { return impl_->bytes_of(id, "token_bytes"); }

std::string Gpt2Tokenizer::token_label(int32_t id) const {
  const std::string& b = impl_->bytes_of(id, "token_label");
  const auto* s = reinterpret_cast<const unsigned char*>(b.data());
  std::string out;
  for (size_t i = 0; i < b.size();) {
    unsigned char c = s[i];
    size_t len = utf8_valid_len(s, b.size(), i);
    if (c == ' ') out += "\xE2\x90\xA3";  // U+2423 OPEN BOX
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (len == 0 || c < 0x20 || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
      len = 1;
    } else {
      out.append(b, i, len);
    }
    i += len == 0 ? 1 : len;
  }
  return out;
}

int32_t Gpt2Tokenizer::eot_id() const { return impl_->eot; }
size_t Gpt2Tokenizer::vocab_size() const { return impl_->id_bytes.size(); }
const std::string& Gpt2Tokenizer::fingerprint() const { return impl_->fingerprint; }

void Gpt2Tokenizer::set_cache_capacity(size_t entries) {
  impl_->cache_capacity.store(entries);
  clear_cache();
}
void Gpt2Tokenizer::clear_cache() const {
  for (auto& sh : impl_->shards) {
    std::lock_guard<std::mutex> lock(sh.mu);
    sh.clear();
  }
}
void Gpt2Tokenizer::set_bpe_heap_threshold(size_t bytes) { impl_->heap_threshold.store(bytes); }

}  // namespace attnlab
