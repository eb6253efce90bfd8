#include "train/run_store.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/fs.h"

namespace attnlab {

MetricsWriter::MetricsWriter(const std::filesystem::path& file) {
  std::filesystem::create_directories(file.parent_path());
  // A previous crash may have left a partial last line: start on a fresh line.
  bool needs_newline = false;
  if (std::filesystem::exists(file) && std::filesystem::file_size(file) > 0) {
    std::ifstream in(file, std::ios::binary);
    in.seekg(-1, std::ios::end);
    char c = 0;
    in.get(c);
    needs_newline = c != '\n';
  }
  f_ = std::fopen(file.c_str(), "ab");
  if (!f_) throw Error("cannot open '" + file.string() + "' for appending: " + std::strerror(errno));
  if (needs_newline) std::fputc('\n', f_);
}

MetricsWriter::~MetricsWriter() {
  if (f_) std::fclose(f_);
}

void MetricsWriter::write(const nlohmann::json& row) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string line = row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
}

std::vector<nlohmann::json> read_metrics(const std::filesystem::path& file) {
  std::string text = read_text_file(file);
  std::vector<nlohmann::json> rows;
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      auto j = nlohmann::json::parse(lines[i]);
      if (!j.is_object()) throw std::runtime_error("not an object");
      rows.push_back(std::move(j));
    } catch (const std::exception& e) {
      bool last = true;
      for (size_t k = i + 1; k < lines.size(); ++k)
        if (lines[k].find_first_not_of(" \t\r") != std::string::npos) last = false;
      if (last) break;  // a crash mid-write: tolerated
      // A torn line in the middle (a crash, then a resumed run appended): skip it too, but
      // only if it is not valid JSON at all; anything else is real corruption.
      if (i + 1 < lines.size() && lines[i].front() == '{' && lines[i].back() != '}') continue;
      throw Error(file.string() + ": line " + std::to_string(i + 1) + " is not a JSON object: " + e.what());
    }
  }
  return rows;
}

void truncate_metrics(const std::filesystem::path& file, int64_t max_step) {
  if (!std::filesystem::exists(file)) return;
  std::string out;
  for (auto& r : read_metrics(file)) {
    if (r.contains("step") && r["step"].is_number_integer() && r["step"].get<int64_t>() > max_step) continue;
    out += r.dump() + "\n";
  }
  write_file_atomic(file, out);
}

}  // namespace attnlab
