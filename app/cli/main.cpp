// attnlab-cli: the headless face of the engine (scripts, GPU boxes). Links only `engine`.
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "common/alloc.h"
#include "common/error.h"

namespace attnlab::cli {
std::vector<CommandSetup>& commands() {
  static std::vector<CommandSetup> c;
  return c;
}
CLI::App& bench_group(CLI::App& root) {
  for (auto* s : root.get_subcommands([](CLI::App* a) { return a->get_name() == "bench"; })) return *s;
  auto* b = root.add_subcommand("bench", "Benchmark programs (figures for docs/benchmarks.md)");
  b->require_subcommand(1);
  return *b;
}
void apply_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
}
}  // namespace attnlab::cli

int main(int argc, char** argv) {
  // libgomp reads OMP_WAIT_POLICY when it loads, before main(): re-exec once with it set.
  // Spinning OpenMP workers fight OpenBLAS for the cores (see docs/build-notes).
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("ATTNLAB_NO_REEXEC")) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // falls through only if exec fails
  }
  attnlab::tune_allocator();
  CLI::App app{"attnlab-cli: distil GPT-2 attention into cheaper variants (headless)"};
  app.require_subcommand(1);
  for (auto& setup : attnlab::cli::commands()) setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const attnlab::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "error (torch): " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
