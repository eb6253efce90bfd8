#include "test_util.h"

#include <random>

#include "common/fs.h"

namespace attnlab::testing {
std::filesystem::path temp_dir(const std::string& tag) {
  std::random_device rd;
  auto p = std::filesystem::temp_directory_path() / ("attnlab-test-" + tag + "-" + std::to_string(rd()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}
std::filesystem::path resources() { return attnlab::resources_dir(); }
std::filesystem::path fixtures() { return ATTNLAB_TEST_FIXTURES; }
}  // namespace attnlab::testing
