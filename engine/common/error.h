// Errors that reach a user: every message names the file/field and what was expected.
#pragma once
#include <stdexcept>
#include <string>

namespace attnlab {

/// Raised for bad user input (files, configs, flags). The message is meant for the user.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace attnlab
