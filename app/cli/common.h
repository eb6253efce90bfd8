// Helpers shared by attnlab-cli commands.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/gpt2_tokenizer.h"

namespace attnlab::cli {
/// "1,2,3" -> {1,2,3}; errors name the flag.
std::vector<int64_t> parse_int_list(const std::string& s, const std::string& flag);
/// "a, b,,c" split at `delim`, items trimmed of spaces/tabs, empty items dropped.
std::vector<std::string> split_list(const std::string& s, char delim);
/// The model directory's tokenizer files, else the bundled GPT-2 tokenizer.
Gpt2Tokenizer tokenizer_for_model(const std::string& model_dir);
}  // namespace attnlab::cli
