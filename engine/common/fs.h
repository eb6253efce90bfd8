// Small filesystem helpers: whole-file reads, atomic writes (temp + fsync + rename).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace attnlab {

namespace fs = std::filesystem;

/// Reads a whole file; throws attnlab::Error naming the path on failure.
std::string read_text_file(const fs::path& path);

/// Writes `data` to `path` atomically: a temp file in the same folder, fsync, rename,
/// fsync of the folder. A reader never sees a half-written file.
void write_file_atomic(const fs::path& path, const void* data, size_t size);
inline void write_file_atomic(const fs::path& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

/// FNV-1a 64-bit hash, hex encoded; used to key on-disk caches (not for security).
std::string fnv1a_hex(const void* data, size_t size, uint64_t seed = 14695981039346656037ull);

/// The bundled resources folder: $ATTNLAB_RESOURCES, else next to the executable
/// (../share/attnlab/resources), else the source tree's resources/.
fs::path resources_dir();

}  // namespace attnlab
