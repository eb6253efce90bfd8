// attnlab-cli subcommands register themselves here; main() builds the CLI11 app from them.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace attnlab::cli {

using CommandSetup = std::function<void(CLI::App& root)>;
std::vector<CommandSetup>& commands();
/// The `bench` group (created on first use) under which benchmark programs hang.
CLI::App& bench_group(CLI::App& root);
/// Applies --threads (0 = hardware concurrency) to LibTorch's intra-op pool.
void apply_threads(int threads);

struct Registrar {
  explicit Registrar(CommandSetup s) { commands().push_back(std::move(s)); }
};

}  // namespace attnlab::cli

#define ATTNLAB_CLI_COMMAND(id, fn) static attnlab::cli::Registrar attnlab_cli_reg_##id(fn);
