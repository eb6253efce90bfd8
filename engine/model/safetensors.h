// Safetensors reader (memory-mapped, zero-copy where the dtype matches) and writer.
// Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data buffer.
// Every offset is validated against the file size; overlapping tensors are rejected.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace attnlab {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data buffer
};

/// A memory-mapped safetensors file. Tensors returned by `tensor()` may alias the mapping
/// (F32 as float32 request): the file object must outlive them (they hold a shared_ptr).
class SafetensorsFile {
 public:
  /// Largest header accepted (the format's own reference implementation uses 100 MB).
  static constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);
  ~SafetensorsFile();

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  const SafetensorsEntry& entry(const std::string& name) const;

  /// The tensor as float32 (zero-copy view for F32 data, converted copy for F16/BF16).
  torch::Tensor tensor_f32(const std::string& name) const;
  /// The tensor in its stored dtype (zero-copy view of the mapping).
  torch::Tensor tensor_raw(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;  // start of the data buffer
  uint64_t data_size_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
  std::weak_ptr<SafetensorsFile> self_;
};

/// Writes tensors (contiguous CPU copies are made as needed) atomically.
/// dtype: the stored dtype of each tensor is kept (float32, float16, bfloat16, int64, int32...).
void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

std::string safetensors_dtype_name(torch::ScalarType t);

}  // namespace attnlab
