#include "hub/digest.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "common/error.h"

#ifdef ATTNLAB_HAVE_OPENSSL
#define OPENSSL_SUPPRESS_DEPRECATED  // the one-shot SHA*_Init API is deprecated in 3.0, still fine
#include <openssl/sha.h>
#endif

namespace attnlab::hub {
namespace {

std::string to_hex(const unsigned char* d, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = k[d[i] >> 4];
    s[2 * i + 1] = k[d[i] & 15];
  }
  return s;
}

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
inline uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

#ifndef ATTNLAB_HAVE_OPENSSL
const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// Merkle-Damgard block buffering shared by both hashes (64-byte blocks, big-endian length).
template <class Compress>
struct Md {
  unsigned char buf[64];
  size_t used = 0;
  uint64_t bits = 0;
  void update(const unsigned char* p, size_t n, Compress& c) {
    bits += static_cast<uint64_t>(n) * 8;
    if (used) {
      size_t take = std::min(n, 64 - used);
      std::memcpy(buf + used, p, take);
      used += take, p += take, n -= take;
      if (used < 64) return;
      c(buf);
      used = 0;
    }
    for (; n >= 64; p += 64, n -= 64) c(p);
    std::memcpy(buf, p, n);
    used = n;
  }
  void finish(Compress& c) {
    uint64_t b = bits;
    unsigned char pad = 0x80;
    update(&pad, 1, c);
    unsigned char zero = 0;
    while (used != 56) update(&zero, 1, c);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(b >> (56 - 8 * i));
    update(len, 8, c);
  }
};

struct Sha256Compress {
  uint32_t h[8];
  void init() {
    const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::memcpy(h, h0, sizeof h);
  }
  void operator()(const unsigned char* p) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t(p[4 * i]) << 24) | (uint32_t(p[4 * i + 1]) << 16) | (uint32_t(p[4 * i + 2]) << 8) | p[4 * i + 3];
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      uint32_t ch = (e & f) ^ (~e & g);
      uint32_t t1 = hh + S1 + ch + K256[i] + w[i];
      uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
      uint32_t t2 = S0 + mj;
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
  }
};

struct Sha1Compress {
  uint32_t h[5];
  void init() {
    const uint32_t h0[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    std::memcpy(h, h0, sizeof h);
  }
  void operator()(const unsigned char* p) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t(p[4 * i]) << 24) | (uint32_t(p[4 * i + 1]) << 16) | (uint32_t(p[4 * i + 2]) << 8) | p[4 * i + 3];
    for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
      else f = b ^ c ^ d, k = 0xCA62C1D6;
      uint32_t t = rotl(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rotl(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
};

template <int N>
std::string digest_hex(const uint32_t* h) {
  unsigned char out[4 * N];
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<unsigned char>(h[i] >> (24 - 8 * j));
  return to_hex(out, sizeof out);
}
#endif

}  // namespace

#ifdef ATTNLAB_HAVE_OPENSSL
struct Sha256::State { SHA256_CTX ctx; };
struct Sha1::State { SHA_CTX ctx; };
Sha256::Sha256() : s_(new State) { SHA256_Init(&s_->ctx); }
void Sha256::reset() { SHA256_Init(&s_->ctx); }
void Sha256::update(const void* d, size_t n) { SHA256_Update(&s_->ctx, d, n); }
std::string Sha256::hex() {
  unsigned char out[32];
  SHA256_Final(out, &s_->ctx);
  return to_hex(out, 32);
}
Sha1::Sha1() : s_(new State) { SHA1_Init(&s_->ctx); }
void Sha1::update(const void* d, size_t n) { SHA1_Update(&s_->ctx, d, n); }
std::string Sha1::hex() {
  unsigned char out[20];
  SHA1_Final(out, &s_->ctx);
  return to_hex(out, 20);
}
#else
struct Sha256::State {
  Sha256Compress c;
  Md<Sha256Compress> md;
};
struct Sha1::State {
  Sha1Compress c;
  Md<Sha1Compress> md;
};
Sha256::Sha256() : s_(new State) { reset(); }
void Sha256::reset() {
  s_->c.init();
  s_->md = {};
}
void Sha256::update(const void* d, size_t n) { s_->md.update(static_cast<const unsigned char*>(d), n, s_->c); }
std::string Sha256::hex() {
  s_->md.finish(s_->c);
  return digest_hex<8>(s_->c.h);
}
Sha1::Sha1() : s_(new State) {
  s_->c.init();
  s_->md = {};
}
void Sha1::update(const void* d, size_t n) { s_->md.update(static_cast<const unsigned char*>(d), n, s_->c); }
std::string Sha1::hex() {
  s_->md.finish(s_->c);
  return digest_hex<5>(s_->c.h);
}
#endif
Sha256::~Sha256() = default;
Sha1::~Sha1() = default;

std::string sha256_hex(const std::string& data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.hex();
}

std::string git_blob_sha1_hex(const std::string& data) {
  Sha1 h;
  std::string head = "blob " + std::to_string(data.size());
  h.update(head.data(), head.size() + 1);  // includes the NUL
  h.update(data.data(), data.size());
  return h.hex();
}

namespace {
template <class H>
void hash_stream(const std::filesystem::path& file, H& h, int64_t limit) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open '" + file.string() + "': " + std::strerror(errno));
  std::vector<char> buf(1 << 20);
  int64_t left = limit;
  while (in && (limit < 0 || left > 0)) {
    size_t want = buf.size();
    if (limit >= 0) want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(want)));
    in.read(buf.data(), static_cast<std::streamsize>(want));
    auto got = in.gcount();
    if (got <= 0) break;
    h.update(buf.data(), static_cast<size_t>(got));
    left -= got;
  }
  if (in.bad()) throw Error("cannot read '" + file.string() + "'");
}
}  // namespace

void hash_file(const std::filesystem::path& file, Sha256& h, int64_t limit) { hash_stream(file, h, limit); }

std::string sha256_file_hex(const std::filesystem::path& file) {
  Sha256 h;
  hash_stream(file, h, -1);
  return h.hex();
}

std::string git_blob_sha1_file_hex(const std::filesystem::path& file) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) throw Error("cannot stat '" + file.string() + "': " + ec.message());
  Sha1 h;
  std::string head = "blob " + std::to_string(size);
  h.update(head.data(), head.size() + 1);
  hash_stream(file, h, -1);
  return h.hex();
}

}  // namespace attnlab::hub
