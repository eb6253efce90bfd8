#include "data/corpus.h"

#include <cstring>
#include <fstream>

#include "common/error.h"
#include "common/fs.h"

namespace attnlab {

namespace {
constexpr char kCacheMagic[8] = {'A', 'T', 'L', 'T', 'O', 'K', '0', '1'};

bool is_file_corpus(const std::filesystem::path& p) { return std::filesystem::is_regular_file(p); }

// A single text file is cut into train/valid/test by token fraction.
std::pair<double, double> split_fraction(const std::string& split) {
  if (split == "train") return {0.0, 0.90};
  if (split == "valid") return {0.90, 0.95};
  return {0.95, 1.0};
}
}  // namespace

std::filesystem::path find_split_file(const std::filesystem::path& data, const std::string& split) {
  if (split != "train" && split != "valid" && split != "test")
    throw Error("unknown split '" + split + "' (expected train, valid or test)");
  if (!std::filesystem::exists(data)) throw Error("data location '" + data.string() + "' does not exist");
  if (is_file_corpus(data)) return data;
  std::vector<std::string> names;
  std::vector<std::string> stems = {split};
  if (split == "valid") stems.push_back("validation");
  for (auto& s : stems)
    for (const std::string& n : {"wiki." + s + ".raw", "wiki." + s + ".tokens", s + ".txt", s + ".raw", s + ".tokens", s})
      names.push_back(n);
  for (auto& n : names) {
    auto p = data / n;
    if (std::filesystem::is_regular_file(p)) return p;
  }
  std::string tried;
  for (auto& n : names) tried += (tried.empty() ? "" : ", ") + n;
  throw Error("data directory '" + data.string() + "' has no " + split + " split (looked for " + tried + ")");
}

std::filesystem::path default_token_cache_dir() {
  if (const char* e = std::getenv("ATTNLAB_CACHE")) return std::filesystem::path(e) / "tokens";
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "attnlab" / "tokens";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache" / "attnlab" / "tokens";
  return std::filesystem::temp_directory_path() / "attnlab-tokens";
}

std::vector<int32_t> load_split_tokens(const std::filesystem::path& data, const std::string& split,
                                       const Gpt2Tokenizer& tok, const std::filesystem::path& cache_dir_in) {
  auto file = find_split_file(data, split);
  std::string text = read_text_file(file);
  std::vector<int32_t> ids;
  const bool use_cache = cache_dir_in != "-";
  auto cache_dir = cache_dir_in.empty() ? default_token_cache_dir() : cache_dir_in;
  std::filesystem::path cache_file =
      cache_dir / (fnv1a_hex(text.data(), text.size()) + "-" + tok.fingerprint() + ".ids");
  if (use_cache && std::filesystem::exists(cache_file)) {
    std::ifstream in(cache_file, std::ios::binary);
    char magic[8];
    uint64_t n = 0;
    if (in.read(magic, 8) && std::memcmp(magic, kCacheMagic, 8) == 0 && in.read(reinterpret_cast<char*>(&n), 8)) {
      ids.resize(n);
      if (in.read(reinterpret_cast<char*>(ids.data()), static_cast<std::streamsize>(n * 4)) &&
          in.peek() == std::char_traits<char>::eof()) {
        // fall through to slicing below
      } else {
        ids.clear();  // corrupt cache: re-tokenize
      }
    }
  }
  if (ids.empty()) {
    ids = tok.encode(text);
    if (use_cache) {
      std::string blob(kCacheMagic, 8);
      uint64_t n = ids.size();
      blob.append(reinterpret_cast<const char*>(&n), 8);
      blob.append(reinterpret_cast<const char*>(ids.data()), ids.size() * 4);
      try {
        write_file_atomic(cache_file, blob);
      } catch (const Error&) {
        // An unwritable cache only costs time on the next run.
      }
    }
  }
  if (is_file_corpus(data)) {
    auto [a, b] = split_fraction(split);
    size_t lo = static_cast<size_t>(a * ids.size()), hi = static_cast<size_t>(b * ids.size());
    ids = std::vector<int32_t>(ids.begin() + lo, ids.begin() + hi);
  }
  return ids;
}

BlockDataset::BlockDataset(std::vector<int32_t> tokens, int64_t seq_len)
    : tokens_(std::move(tokens)), seq_len_(seq_len) {
  if (seq_len <= 0) throw Error("seq_len must be positive");
  num_blocks_ = static_cast<int64_t>(tokens_.size()) / seq_len;
  if (num_blocks_ == 0)
    throw Error("corpus has " + std::to_string(tokens_.size()) + " tokens, fewer than one block of seq_len = " +
                std::to_string(seq_len));
}

torch::Tensor BlockDataset::blocks(const std::vector<int64_t>& idx) const {
  auto out = torch::empty({static_cast<int64_t>(idx.size()), seq_len_}, torch::kLong);
  auto* p = out.data_ptr<int64_t>();
  for (size_t b = 0; b < idx.size(); ++b) {
    if (idx[b] < 0 || idx[b] >= num_blocks_) throw Error("block index out of range");
    const int32_t* src = tokens_.data() + idx[b] * seq_len_;
    for (int64_t t = 0; t < seq_len_; ++t) p[b * seq_len_ + t] = src[t];
  }
  return out;
}

std::vector<int64_t> BlockSampler::next(int64_t count) {
  std::vector<int64_t> out;
  while (static_cast<int64_t>(out.size()) < count) {
    if (order_epoch_ != epoch) {
      order_.resize(n);
      for (int64_t i = 0; i < n; ++i) order_[i] = i;
      std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
      for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with a portable draw
        int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
        std::swap(order_[i], order_[j]);
      }
      order_epoch_ = epoch;
    }
    out.push_back(order_[pos++]);
    if (pos >= n) {
      pos = 0;
      ++epoch;
    }
  }
  return out;
}

}  // namespace attnlab
