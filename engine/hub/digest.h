// SHA-256 and SHA-1 (for the Hub's content hashes). Self-contained so the engine needs no
// libcrypto; with ATTNLAB_HAVE_OPENSSL defined (and libcrypto linked) OpenSSL's faster
// implementation is used instead.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace attnlab::hub {

/// Incremental SHA-256: update() any number of times, then hex() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n);
  /// Lower-case hex digest; finalizes the state (call reset() to reuse).
  std::string hex();
  void reset();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

/// Incremental SHA-1 (git blob ids of small, non-LFS files).
class Sha1 {
 public:
  Sha1();
  ~Sha1();
  Sha1(const Sha1&) = delete;
  Sha1& operator=(const Sha1&) = delete;
  void update(const void* data, size_t n);
  std::string hex();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

std::string sha256_hex(const std::string& data);
/// git's blob id: sha1("blob <size>\0" + content).
std::string git_blob_sha1_hex(const std::string& data);
/// Hashes a file (or its first `limit` bytes) into `h`; throws attnlab::Error on read errors.
void hash_file(const std::filesystem::path& file, Sha256& h, int64_t limit = -1);
std::string sha256_file_hex(const std::filesystem::path& file);
std::string git_blob_sha1_file_hex(const std::filesystem::path& file);

}  // namespace attnlab::hub
