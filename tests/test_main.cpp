#include <torch/torch.h>

#include <QCoreApplication>
#include <QtTest/QtTest>
#include <cstdio>
#include <memory>

#include "common/alloc.h"
#include "test_registry.h"
#ifdef ATTNLAB_GUI_TESTS
#include <QApplication>
#endif

namespace attnlab::testing {
std::map<std::string, Factory>& registry() {
  static std::map<std::string, Factory> r;
  return r;
}
}  // namespace attnlab::testing

int main(int argc, char** argv) {
  attnlab::tune_allocator();
#ifdef ATTNLAB_GUI_TESTS
  QApplication app(argc, argv);
#else
  QCoreApplication app(argc, argv);
#endif
  QLocale::setDefault(QLocale::c());
  torch::set_num_threads(2);
  auto& reg = attnlab::testing::registry();
  std::vector<std::string> names;
  QStringList rest{QString::fromLocal8Bit(argv[0])};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (reg.count(a)) names.push_back(a);
    else rest << QString::fromLocal8Bit(argv[i]);
  }
  if (names.empty())
    for (auto& kv : reg) names.push_back(kv.first);
  int failed = 0;
  for (auto& n : names) {
    std::unique_ptr<QObject> obj(reg[n]());
    failed += QTest::qExec(obj.get(), rest);
  }
  return failed == 0 ? 0 : 1;
}
