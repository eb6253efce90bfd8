// Run directories: config.json, metrics.jsonl (append + flush per row), checkpoints/.
#pragma once
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attnlab {

/// Appends one JSON object per line and flushes it, so a crash loses at most the last row.
class MetricsWriter {
 public:
  explicit MetricsWriter(const std::filesystem::path& file);
  ~MetricsWriter();
  void write(const nlohmann::json& row);

 private:
  std::FILE* f_ = nullptr;
  std::mutex mu_;
};

/// Reads metrics.jsonl; a truncated or corrupt LAST line (a crash mid-write) is skipped,
/// a corrupt line elsewhere is an error naming the line.
std::vector<nlohmann::json> read_metrics(const std::filesystem::path& file);

/// Keeps only rows with step <= max_step (used when resuming from a checkpoint), atomically.
void truncate_metrics(const std::filesystem::path& file, int64_t max_step);

}  // namespace attnlab
