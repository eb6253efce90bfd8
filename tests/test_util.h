// Shared helpers for tests: temp dirs, tiny random GPT-2 checkpoints in the HF layout.
#pragma once
#include <filesystem>
#include <string>

namespace attnlab::testing {
/// A fresh, empty temporary directory (removed by the OS tmp cleaner; tests may remove it).
std::filesystem::path temp_dir(const std::string& tag);
/// Bundled resources dir (tokenizer, data).
std::filesystem::path resources();
std::filesystem::path fixtures();
}  // namespace attnlab::testing
