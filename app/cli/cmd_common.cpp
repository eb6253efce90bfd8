#include <filesystem>

#include "cli/common.h"
#include "common/error.h"

namespace attnlab::cli {

std::vector<std::string> split_list(const std::string& s, char delim) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(delim, pos);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(pos, end - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    pos = end + 1;
  }
  return out;
}

std::vector<int64_t> parse_int_list(const std::string& s, const std::string& flag) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a == std::string::npos) throw Error(flag + ": empty item in '" + s + "'");
    item = item.substr(a, b - a + 1);
    try {
      size_t used = 0;
      out.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw Error(flag + ": '" + item + "' is not an integer");
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

Gpt2Tokenizer tokenizer_for_model(const std::string& model_dir) {
  namespace fs = std::filesystem;
  fs::path d(model_dir);
  if (!model_dir.empty() && (fs::exists(d / "vocab.json") || fs::exists(d / "encoder.json")))
    return Gpt2Tokenizer::from_dir(d);
  return Gpt2Tokenizer::bundled();
}

}  // namespace attnlab::cli
