// Test classes register themselves by name; test_main runs the one named on the command line
// (CTest registers one test per class), or all of them with no argument.
#pragma once
#include <functional>
#include <map>
#include <string>

class QObject;

namespace attnlab::testing {
using Factory = std::function<QObject*()>;
std::map<std::string, Factory>& registry();
struct Registrar {
  Registrar(const char* name, Factory f) { registry()[name] = std::move(f); }
};
}  // namespace attnlab::testing

#define ATTNLAB_TEST(Class, name) \
  static attnlab::testing::Registrar attnlab_registrar_##Class(name, [] { return static_cast<QObject*>(new Class); });
