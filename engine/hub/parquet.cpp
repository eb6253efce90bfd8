#include "hub/parquet.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>

#include "common/error.h"
#include "common/fs.h"

namespace attnlab::hub {
namespace {

[[noreturn]] void fail(const std::string& what) { throw Error(what); }

// ---- Thrift compact protocol, decoded into a generic tree ---------------------------------
struct TValue {
  enum Kind { Int, Bool, Double, Binary, List, Struct } kind = Int;
  int64_t i = 0;
  bool b = false;
  double d = 0;
  std::string s;
  std::vector<TValue> list;
  std::map<int, TValue> fields;

  const TValue* field(int id) const {
    auto it = fields.find(id);
    return it == fields.end() ? nullptr : &it->second;
  }
  int64_t int_or(int id, int64_t dflt) const {
    auto* f = field(id);
    return f && f->kind == Int ? f->i : dflt;
  }
};

class Compact {
 public:
  Compact(const uint8_t* p, size_t n, const std::string& where) : p_(p), end_(p + n), where_(where) {}
  size_t consumed(const uint8_t* base) const { return static_cast<size_t>(p_ - base); }

  TValue read_struct(int depth = 0) {
    if (depth > 32) bad("nesting too deep");
    TValue v;
    v.kind = TValue::Struct;
    int last = 0;
    while (true) {
      uint8_t h = byte();
      if (h == 0) break;
      int type = h & 0x0f, delta = h >> 4;
      int id = delta ? last + delta : static_cast<int>(zigzag(varint()));
      last = id;
      v.fields[id] = read_value(type, depth);
    }
    return v;
  }

 private:
  TValue read_value(int type, int depth) {
    TValue v;
    switch (type) {
      case 1: case 2: v.kind = TValue::Bool; v.b = type == 1; break;
      case 3: v.kind = TValue::Int; v.i = static_cast<int8_t>(byte()); break;
      case 4: case 5: case 6: v.kind = TValue::Int; v.i = zigzag(varint()); break;
      case 7: {
        need(8);
        v.kind = TValue::Double;
        std::memcpy(&v.d, p_, 8);
        p_ += 8;
        break;
      }
      case 8: {
        uint64_t n = varint();
        need(n);
        v.kind = TValue::Binary;
        v.s.assign(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        break;
      }
      case 9: case 10: {
        uint8_t h = byte();
        uint64_t n = h >> 4;
        if (n == 15) n = varint();
        int et = h & 0x0f;
        if (n > static_cast<uint64_t>(end_ - p_)) bad("list longer than the data");
        v.kind = TValue::List;
        for (uint64_t k = 0; k < n; ++k) {
          if (et == 1 || et == 2) {  // booleans in containers are one byte each
            TValue b;
            b.kind = TValue::Bool;
            b.b = byte() == 1;
            v.list.push_back(b);
          } else {
            v.list.push_back(read_value(et, depth + 1));
          }
        }
        break;
      }
      case 11: {  // map: skipped (key-value metadata only)
        uint64_t n = varint();
        if (n) {
          uint8_t kv = byte();
          for (uint64_t k = 0; k < n; ++k) {
            read_value(kv >> 4, depth + 1);
            read_value(kv & 0x0f, depth + 1);
          }
        }
        v.kind = TValue::List;
        break;
      }
      case 12: v = read_struct(depth + 1); break;
      default: bad("unknown thrift type " + std::to_string(type));
    }
    return v;
  }
  uint8_t byte() {
    need(1);
    return *p_++;
  }
  uint64_t varint() {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = byte();
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
    }
    bad("varint too long");
  }
  static int64_t zigzag(uint64_t n) { return static_cast<int64_t>(n >> 1) ^ -static_cast<int64_t>(n & 1); }
  void need(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - p_)) bad("truncated metadata");
  }
  [[noreturn]] void bad(const std::string& what) { fail(where_ + ": corrupt parquet metadata (" + what + ")"); }

  const uint8_t* p_;
  const uint8_t* end_;
  std::string where_;
};

// ---- Encodings --------------------------------------------------------------------------
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

// RLE / bit-packed hybrid (levels and dictionary indices), `count` values.
void decode_hybrid(const uint8_t* p, const uint8_t* end, int bit_width, size_t count, std::vector<uint32_t>& out,
                   const std::string& where) {
  out.clear();
  out.reserve(count);
  if (bit_width < 0 || bit_width > 32) fail(where + ": bad bit width " + std::to_string(bit_width));
  const size_t vbytes = (static_cast<size_t>(bit_width) + 7) / 8;
  while (out.size() < count) {
    uint64_t h = 0;
    for (int shift = 0;; shift += 7) {
      if (p >= end || shift > 63) fail(where + ": truncated RLE data");
      uint8_t b = *p++;
      h |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (h & 1) {  // bit-packed groups of 8
      uint64_t n = (h >> 1) * 8;
      uint64_t nbytes = (h >> 1) * static_cast<uint64_t>(bit_width);
      if (nbytes > static_cast<uint64_t>(end - p)) {
        nbytes = static_cast<uint64_t>(end - p);  // writers may truncate the last group
        n = std::min<uint64_t>(n, nbytes * 8 / std::max(1, bit_width));
      }
      uint64_t bitpos = 0;
      for (uint64_t k = 0; k < n && out.size() < count; ++k) {
        uint64_t v = 0;
        for (int bit = 0; bit < bit_width; ++bit, ++bitpos)
          v |= static_cast<uint64_t>((p[bitpos >> 3] >> (bitpos & 7)) & 1) << bit;
        out.push_back(static_cast<uint32_t>(v));
      }
      p += nbytes;
    } else {  // run
      uint64_t n = h >> 1;
      if (vbytes > static_cast<size_t>(end - p)) fail(where + ": truncated RLE run");
      uint32_t v = 0;
      for (size_t k = 0; k < vbytes; ++k) v |= uint32_t(p[k]) << (8 * k);
      p += vbytes;
      if (n == 0) fail(where + ": empty RLE run");
      for (uint64_t k = 0; k < n && out.size() < count; ++k) out.push_back(v);
    }
  }
}

// DELTA_BINARY_PACKED integers; returns the position after them.
const uint8_t* decode_delta(const uint8_t* p, const uint8_t* end, std::vector<int64_t>& out, const std::string& where) {
  auto varint = [&]() -> uint64_t {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) fail(where + ": truncated DELTA_BINARY_PACKED data");
      uint8_t b = *p++;
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
    }
    fail(where + ": bad varint");
  };
  auto zz = [](uint64_t n) { return static_cast<int64_t>(n >> 1) ^ -static_cast<int64_t>(n & 1); };
  uint64_t block = varint(), minis = varint(), total = varint();
  int64_t v = zz(varint());
  out.clear();
  if (total == 0) return p;
  if (minis == 0 || block == 0 || block % minis != 0 || total > (1ull << 32))
    fail(where + ": bad DELTA_BINARY_PACKED header");
  const uint64_t per_mini = block / minis;
  out.reserve(total);
  out.push_back(v);
  while (out.size() < total) {
    int64_t min_delta = zz(varint());
    if (static_cast<uint64_t>(end - p) < minis) fail(where + ": truncated DELTA_BINARY_PACKED block");
    const uint8_t* widths = p;
    p += minis;
    for (uint64_t m = 0; m < minis && out.size() < total; ++m) {
      int bw = widths[m];
      if (bw > 64) fail(where + ": bad DELTA_BINARY_PACKED bit width");
      uint64_t nbytes = per_mini * static_cast<uint64_t>(bw) / 8;
      if (nbytes > static_cast<uint64_t>(end - p)) fail(where + ": truncated DELTA_BINARY_PACKED miniblock");
      uint64_t bitpos = 0;
      for (uint64_t k = 0; k < per_mini && out.size() < total; ++k) {
        uint64_t d = 0;
        for (int bit = 0; bit < bw; ++bit, ++bitpos) d |= static_cast<uint64_t>((p[bitpos >> 3] >> (bitpos & 7)) & 1) << bit;
        v = static_cast<int64_t>(static_cast<uint64_t>(v) + static_cast<uint64_t>(min_delta) + d);
        out.push_back(v);
      }
      p += nbytes;
    }
  }
  return p;
}

struct Column {
  int index = -1;
  int max_def = 0;
};

}  // namespace

std::string snappy_decompress(std::string_view in) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const auto* end = p + in.size();
  uint64_t n = 0;
  for (int shift = 0;; shift += 7) {
    if (p >= end || shift > 35) fail("corrupt snappy data (length)");
    uint8_t b = *p++;
    n |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  std::string out;
  out.reserve(n);
  while (p < end) {
    uint8_t tag = *p++;
    size_t len = 0, off = 0;
    switch (tag & 3) {
      case 0: {
        len = (tag >> 2) + 1;
        if (len > 60) {
          size_t nb = len - 60;
          if (nb > static_cast<size_t>(end - p)) fail("corrupt snappy data (literal)");
          len = 0;
          for (size_t k = 0; k < nb; ++k) len |= size_t(p[k]) << (8 * k);
          len += 1;
          p += nb;
        }
        if (len > static_cast<size_t>(end - p) || out.size() + len > n) fail("corrupt snappy data (literal)");
        out.append(reinterpret_cast<const char*>(p), len);
        p += len;
        continue;
      }
      case 1:
        if (p >= end) fail("corrupt snappy data (copy)");
        len = ((tag >> 2) & 7) + 4;
        off = (size_t(tag >> 5) << 8) | *p++;
        break;
      case 2:
        if (end - p < 2) fail("corrupt snappy data (copy)");
        len = (tag >> 2) + 1;
        off = p[0] | (size_t(p[1]) << 8);
        p += 2;
        break;
      case 3:
        if (end - p < 4) fail("corrupt snappy data (copy)");
        len = (tag >> 2) + 1;
        off = le32(p);
        p += 4;
        break;
    }
    if (off == 0 || off > out.size() || out.size() + len > n) fail("corrupt snappy data (offset)");
    size_t from = out.size() - off;
    for (size_t k = 0; k < len; ++k) out.push_back(out[from + k]);
  }
  if (out.size() != n) fail("corrupt snappy data (length mismatch)");
  return out;
}

int64_t for_each_parquet_string(const std::filesystem::path& file, const std::string& column,
                                const std::function<void(std::string_view)>& fn) {
  const std::string where = "'" + file.string() + "'";
  std::string data = read_text_file(file);
  if (data.size() < 12 || data.compare(0, 4, "PAR1") != 0 || data.compare(data.size() - 4, 4, "PAR1") != 0)
    fail(where + " is not a parquet file (no PAR1 magic)");
  const auto* base = reinterpret_cast<const uint8_t*>(data.data());
  uint32_t meta_len = le32(base + data.size() - 8);
  if (meta_len > data.size() - 12) fail(where + ": corrupt parquet footer");
  const uint8_t* meta = base + data.size() - 8 - meta_len;
  Compact mc(meta, meta_len, where);
  TValue fmd = mc.read_struct();

  // Schema: a root with leaf children (nested schemas unsupported).
  auto* schema = fmd.field(2);
  if (!schema || schema->list.size() < 2) fail(where + ": parquet schema is empty");
  Column col;
  std::vector<std::string> names;
  int leaf = 0;
  for (size_t k = 1; k < schema->list.size(); ++k) {
    const TValue& el = schema->list[k];
    if (el.int_or(5, 0) > 0) fail(where + ": nested parquet schemas are not supported");
    auto* nm = el.field(4);
    std::string name = nm ? nm->s : "";
    names.push_back(name);
    bool match = column.empty() ? el.int_or(1, -1) == 6 : name == column;
    if (match && col.index < 0) {
      if (el.int_or(1, -1) != 6) fail(where + ": column '" + name + "' is not a string (BYTE_ARRAY) column");
      int64_t rep = el.int_or(3, 0);
      if (rep == 2) fail(where + ": repeated column '" + name + "' is not supported");
      col.index = leaf;
      col.max_def = rep == 1 ? 1 : 0;
    }
    ++leaf;
  }
  if (col.index < 0) {
    std::string list;
    for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
    fail(where + ": no " + (column.empty() ? "string column" : "column '" + column + "'") + " (columns: " + list + ")");
  }

  int64_t rows = 0;
  auto* groups = fmd.field(4);
  if (!groups) return 0;
  std::vector<std::string> dict;
  std::vector<uint32_t> defs, idx;
  for (const TValue& rg : groups->list) {
    auto* cols = rg.field(1);
    if (!cols || static_cast<int>(cols->list.size()) <= col.index) fail(where + ": row group lacks the column");
    const TValue& cc = cols->list[col.index];
    if (auto* fp = cc.field(1); fp && !fp->s.empty()) fail(where + ": external column chunks are not supported");
    auto* md = cc.field(3);
    if (!md) fail(where + ": column chunk without metadata");
    int64_t codec = md->int_or(4, 0);
    if (codec != 0 && codec != 1) {
      static const char* names_[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
      std::string cn = codec >= 0 && codec < 8 ? names_[codec] : std::to_string(codec);
      fail(where + ": parquet compression " + cn + " is not supported (only UNCOMPRESSED and SNAPPY)");
    }
    int64_t num_values = md->int_or(5, 0);
    int64_t off = md->int_or(9, 0);
    int64_t dict_off = md->int_or(11, 0);
    if (dict_off > 0 && dict_off < off) off = dict_off;
    dict.clear();
    int64_t seen = 0;
    while (seen < num_values) {
      if (off < 4 || static_cast<uint64_t>(off) >= data.size()) fail(where + ": page offset out of range");
      Compact pc(base + off, data.size() - static_cast<size_t>(off), where);
      TValue ph = pc.read_struct();
      size_t hdr = pc.consumed(base + off);
      int64_t ptype = ph.int_or(1, -1);
      int64_t usize = ph.int_or(2, 0), csize = ph.int_or(3, 0);
      if (csize < 0 || usize < 0 || static_cast<uint64_t>(off) + hdr + static_cast<uint64_t>(csize) > data.size())
        fail(where + ": page extends past the end of the file");
      std::string_view payload(data.data() + off + hdr, static_cast<size_t>(csize));
      off += static_cast<int64_t>(hdr) + csize;
      auto decompress = [&](std::string_view in, int64_t expect) -> std::string {
        if (codec == 0) return std::string(in);
        std::string out;
        try {
          out = snappy_decompress(in);
        } catch (const Error& e) {
          fail(where + ": " + e.what());
        }
        if (expect >= 0 && static_cast<int64_t>(out.size()) != expect) fail(where + ": page size mismatch");
        return out;
      };
      auto plain_strings = [&](const uint8_t* p, const uint8_t* end, size_t count, auto&& emit) {
        for (size_t k = 0; k < count; ++k) {
          if (end - p < 4) fail(where + ": truncated PLAIN values");
          uint32_t n = le32(p);
          p += 4;
          if (n > static_cast<size_t>(end - p)) fail(where + ": truncated PLAIN value");
          emit(std::string_view(reinterpret_cast<const char*>(p), n));
          p += n;
        }
      };
      if (ptype == 2) {  // dictionary page
        auto* dh = ph.field(7);
        int64_t n = dh ? dh->int_or(1, 0) : 0;
        int64_t enc = dh ? dh->int_or(2, 0) : 0;
        if (enc != 0 && enc != 2) fail(where + ": unsupported dictionary encoding " + std::to_string(enc));
        std::string page = decompress(payload, usize);
        const auto* p = reinterpret_cast<const uint8_t*>(page.data());
        dict.clear();
        dict.reserve(static_cast<size_t>(n));
        plain_strings(p, p + page.size(), static_cast<size_t>(n), [&](std::string_view s) { dict.emplace_back(s); });
        continue;
      }
      if (ptype != 0 && ptype != 3) continue;  // index pages etc.
      std::string page;
      const uint8_t *p = nullptr, *end = nullptr;
      int64_t nvals = 0, enc = 0;
      defs.clear();
      if (ptype == 0) {
        auto* dh = ph.field(5);
        if (!dh) fail(where + ": data page without header");
        nvals = dh->int_or(1, 0);
        enc = dh->int_or(2, 0);
        page = decompress(payload, usize);
        p = reinterpret_cast<const uint8_t*>(page.data());
        end = p + page.size();
        if (col.max_def > 0) {
          if (end - p < 4) fail(where + ": truncated definition levels");
          uint32_t n = le32(p);
          p += 4;
          if (n > static_cast<size_t>(end - p)) fail(where + ": truncated definition levels");
          decode_hybrid(p, p + n, 1, static_cast<size_t>(nvals), defs, where);
          p += n;
        }
      } else {
        auto* dh = ph.field(8);
        if (!dh) fail(where + ": data page v2 without header");
        nvals = dh->int_or(1, 0);
        enc = dh->int_or(4, 0);
        int64_t dl = dh->int_or(5, 0), rl = dh->int_or(6, 0);
        auto* comp = dh->field(7);
        bool compressed = comp ? comp->b : true;
        if (dl < 0 || rl < 0 || dl + rl > csize) fail(where + ": bad level lengths");
        const auto* lv = reinterpret_cast<const uint8_t*>(payload.data()) + rl;
        if (col.max_def > 0) decode_hybrid(lv, lv + dl, 1, static_cast<size_t>(nvals), defs, where);
        std::string_view rest = payload.substr(static_cast<size_t>(dl + rl));
        page = compressed ? decompress(rest, usize - dl - rl) : std::string(rest);
        p = reinterpret_cast<const uint8_t*>(page.data());
        end = p + page.size();
      }
      size_t present = static_cast<size_t>(nvals);
      if (col.max_def > 0) {
        present = 0;
        for (auto d : defs) present += d == 1;
      }
      // Values in row order; nulls (def 0) are skipped.
      if (enc == 0) {
        plain_strings(p, end, present, fn);
      } else if (enc == 2 || enc == 8) {
        if (p >= end) {
          if (present) fail(where + ": truncated dictionary indices");
        } else {
          int bw = *p++;
          decode_hybrid(p, end, bw, present, idx, where);
          for (uint32_t i : idx) {
            if (i >= dict.size()) fail(where + ": dictionary index out of range");
            fn(dict[i]);
          }
        }
      } else if (enc == 6 || enc == 7) {  // DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY
        std::vector<int64_t> prefix, lens;
        if (enc == 7) p = decode_delta(p, end, prefix, where);
        p = decode_delta(p, end, lens, where);
        if ((enc == 7 && prefix.size() != lens.size()) || lens.size() < present)
          fail(where + ": inconsistent DELTA byte-array page");
        std::string prev, cur;
        for (size_t k = 0; k < present; ++k) {
          if (lens[k] < 0 || lens[k] > end - p) fail(where + ": truncated DELTA byte-array value");
          std::string_view suffix(reinterpret_cast<const char*>(p), static_cast<size_t>(lens[k]));
          p += lens[k];
          if (enc == 6) {
            fn(suffix);
            continue;
          }
          if (prefix[k] < 0 || static_cast<size_t>(prefix[k]) > prev.size()) fail(where + ": bad DELTA_BYTE_ARRAY prefix");
          cur.assign(prev, 0, static_cast<size_t>(prefix[k]));
          cur.append(suffix);
          fn(cur);
          prev.swap(cur);
        }
      } else {
        fail(where + ": parquet encoding " + std::to_string(enc) +
             " is not supported (only PLAIN, dictionary and DELTA byte-array encodings)");
      }
      seen += nvals;
      rows += nvals;
    }
  }
  return rows;
}

std::vector<std::string> read_parquet_strings(const std::filesystem::path& file, const std::string& column) {
  std::vector<std::string> out;
  for_each_parquet_string(file, column, [&](std::string_view s) { out.emplace_back(s); });
  return out;
}

}  // namespace attnlab::hub
