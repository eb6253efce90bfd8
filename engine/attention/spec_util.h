// Spec parsing shared by the attention variants: defaults filled in, unknown keys and bad
// types rejected with an attnlab::Error that names the variant and the key.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace attnlab {

class SpecReader {
 public:
  /// `defaults` lists every accepted key with its default; `spec` keys outside it are refused.
  SpecReader(std::string kind, const nlohmann::json& spec, nlohmann::json defaults)
      : kind_(std::move(kind)), spec_(spec.is_null() ? nlohmann::json::object() : spec), filled_(std::move(defaults)) {
    if (!spec_.is_object()) fail("the spec must be a JSON object, got " + spec_.dump());
    for (auto& [key, value] : spec_.items()) {
      if (!filled_.contains(key)) {
        std::string names;
        for (auto& [k, v] : filled_.items()) names += (names.empty() ? "" : ", ") + k;
        fail("unknown spec key '" + key + "' (expected one of: " + names + ")");
      }
      filled_[key] = value;
    }
  }

  int64_t get_int(const std::string& key, int64_t lo, int64_t hi = std::numeric_limits<int64_t>::max()) {
    const auto& v = filled_.at(key);
    bool integral = v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    if (!integral) fail("spec key '" + key + "' must be an integer, got " + v.dump());
    auto x = v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
    if (x < lo || x > hi)
      fail("spec key '" + key + "' must be in [" + std::to_string(lo) + ", " +
           (hi == std::numeric_limits<int64_t>::max() ? std::string("inf") : std::to_string(hi)) + "], got " +
           std::to_string(x));
    filled_[key] = x;
    return x;
  }
  double get_double(const std::string& key, double lo = -std::numeric_limits<double>::infinity(),
                    double hi = std::numeric_limits<double>::infinity()) {
    const auto& v = filled_.at(key);
    if (!v.is_number()) fail("spec key '" + key + "' must be a number, got " + v.dump());
    double x = v.get<double>();
    if (!(x >= lo && x <= hi)) fail("spec key '" + key + "' is out of range: " + v.dump());
    return x;
  }
  std::string get_string(const std::string& key, const std::set<std::string>& allowed) {
    const auto& v = filled_.at(key);
    if (!v.is_string() || !allowed.count(v.get<std::string>())) {
      std::string names;
      for (auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
      fail("spec key '" + key + "' must be one of " + names + ", got " + v.dump());
    }
    return v.get<std::string>();
  }
  std::vector<double> get_doubles(const std::string& key, size_t n) {
    const auto& v = filled_.at(key);
    if (!v.is_array() || v.size() != n) fail("spec key '" + key + "' must be a list of " + std::to_string(n) + " numbers");
    std::vector<double> out;
    for (auto& e : v) {
      if (!e.is_number()) fail("spec key '" + key + "' must hold numbers, got " + e.dump());
      out.push_back(e.get<double>());
    }
    return out;
  }
  [[noreturn]] void fail(const std::string& msg) const { throw Error(kind_ + ": " + msg); }
  /// The full spec: defaults plus the user's values (normalised).
  const nlohmann::json& filled() const { return filled_; }

 private:
  std::string kind_;
  nlohmann::json spec_, filled_;
};

}  // namespace attnlab
