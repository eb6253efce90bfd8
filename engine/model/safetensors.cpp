#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"

namespace attnlab {
namespace {

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  size_t size;
};
const DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2}, {"BF16", torch::kBFloat16, 2},
    {"F64", torch::kFloat64, 8}, {"I64", torch::kInt64, 8},    {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},      {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

}  // namespace

std::string safetensors_dtype_name(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  throw Error(std::string("safetensors: unsupported dtype ") + c10::toString(t));
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string p = path.string();
  auto fail = [&](const std::string& why) -> Error { return Error("safetensors file '" + p + "': " + why); };
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) throw fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw fail("cannot stat");
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    throw fail("truncated: " + std::to_string(file_size) + " bytes, expected at least the 8-byte header length");
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw fail(std::string("mmap failed: ") + std::strerror(errno));
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = map;
  f->map_size_ = file_size;
  const auto* bytes = static_cast<const uint8_t*>(map);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > kMaxHeaderBytes)
    throw fail("declared header length " + std::to_string(header_len) + " exceeds the limit of " +
               std::to_string(kMaxHeaderBytes) + " bytes (corrupt or not a safetensors file)");
  if (header_len > file_size - 8)
    throw fail("declared header length " + std::to_string(header_len) + " runs past the end of the file (" +
               std::to_string(file_size) + " bytes): truncated?");
  f->data_ = bytes + 8 + header_len;
  f->data_size_ = file_size - 8 - header_len;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const std::exception& e) {
    throw fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  std::vector<const SafetensorsEntry*> by_offset;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) throw fail("__metadata__ must be an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m)
        f->metadata_[m.key()] = m->is_string() ? m->get<std::string>() : m->dump();
      continue;
    }
    const std::string& name = it.key();
    const auto& v = *it;
    auto bad = [&](const std::string& why) { return fail("tensor '" + name + "': " + why); };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw bad("expected an object with dtype, shape and data_offsets");
    SafetensorsEntry e;
    e.name = name;
    if (!v["dtype"].is_string()) throw bad("dtype must be a string");
    e.dtype = v["dtype"].get<std::string>();
    const DtypeInfo* dt = find_dtype(e.dtype);
    if (!dt) throw bad("unsupported dtype '" + e.dtype + "' (expected F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)");
    if (!v["shape"].is_array()) throw bad("shape must be an array");
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
        throw bad("shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > (UINT64_MAX / dim)) throw bad("shape overflows");
      numel *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw bad("data_offsets must be [begin, end] non-negative integers");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.end < e.begin) throw bad("data_offsets end < begin");
    if (e.end > f->data_size_)
      throw bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                ") run past the data buffer (" + std::to_string(f->data_size_) + " bytes): truncated file?");
    if (numel > UINT64_MAX / dt->size || numel * dt->size != e.end - e.begin)
      throw bad("shape and dtype need " + std::to_string(numel * dt->size) + " bytes but data_offsets span " +
                std::to_string(e.end - e.begin));
    f->entries_[name] = std::move(e);
  }
  for (const auto& kv : f->entries_) by_offset.push_back(&kv.second);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end && by_offset[i]->end > by_offset[i]->begin)
      throw fail("tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap in the data buffer");
  f->self_ = f;
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(map_, map_size_);
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw Error("safetensors file '" + path_.string() + "': no tensor named '" + name + "'");
  return it->second;
}

torch::Tensor SafetensorsFile::tensor_raw(const std::string& name) const {
  const auto& e = entry(name);
  const DtypeInfo* dt = find_dtype(e.dtype);
  auto keep = self_.lock();  // the mapping lives as long as any view of it
  void* ptr = const_cast<uint8_t*>(data_ + e.begin);
  if (reinterpret_cast<uintptr_t>(ptr) % dt->size != 0) {
    // Unaligned data (legal in the format): copy into an aligned buffer.
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(dt->type));
    std::memcpy(t.data_ptr(), ptr, e.end - e.begin);
    return t;
  }
  return torch::from_blob(ptr, e.shape, [keep](void*) {}, torch::TensorOptions().dtype(dt->type));
}

torch::Tensor SafetensorsFile::tensor_f32(const std::string& name) const {
  auto t = tensor_raw(name);
  if (t.scalar_type() == torch::kFloat32) return t;
  const auto& e = entry(name);
  if (e.dtype != "F16" && e.dtype != "BF16" && e.dtype != "F64")
    throw Error("safetensors file '" + path_.string() + "': tensor '" + name + "' has dtype " + e.dtype +
                ", expected a floating-point dtype (F32, F16 or BF16)");
  return t.to(torch::kFloat32);
}

void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> contig;
  uint64_t offset = 0;
  for (const auto& [name, t0] : tensors) {
    auto t = t0.detach().to(torch::kCPU).contiguous();
    uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", safetensors_dtype_name(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    contig.push_back(t);
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // align the data buffer to 8 bytes
  std::string out;
  out.reserve(8 + h.size() + offset);
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += h;
  for (const auto& t : contig) out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, out);
}

}  // namespace attnlab
