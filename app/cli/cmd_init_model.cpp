// attnlab-cli init-model: write a random- or hash-initialised GPT-2 in the HF layout
// (for tests, benchmarks and parity checks; real weights come from `download` or `pretrain`).
// attnlab-cli convert: re-write a model folder in another dtype (e.g. a pretrain checkpoint,
// kept in f32, as an f16 model for bundling).
#include <torch/torch.h>

#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "model/gpt2.h"

namespace attnlab::cli {
namespace {

void setup(CLI::App& root) {
  struct Opts {
    std::string out, init = "random", dtype = "f32";
    Gpt2Config cfg;
    uint64_t seed = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = root.add_subcommand("init-model", "Write a GPT-2 with random (or hash) weights in the HF layout");
  cmd->add_option("--out", o->out, "output model directory")->required();
  cmd->add_option("--layers", o->cfg.n_layer, "n_layer")->capture_default_str();
  cmd->add_option("--width", o->cfg.n_embd, "n_embd")->capture_default_str();
  cmd->add_option("--heads", o->cfg.n_head, "n_head")->capture_default_str();
  cmd->add_option("--vocab", o->cfg.vocab_size, "vocab_size")->capture_default_str();
  cmd->add_option("--positions", o->cfg.n_positions, "n_positions")->capture_default_str();
  cmd->add_option("--init", o->init, "random (GPT-2's N(0, 0.02)) or hash (platform-independent)")
      ->check(CLI::IsMember({"random", "hash"}));
  cmd->add_option("--dtype", o->dtype, "f32, f16 or bf16")->check(CLI::IsMember({"f32", "f16", "bf16"}));
  cmd->add_option("--seed", o->seed, "seed");
  cmd->callback([o] {
    o->cfg = Gpt2Config::from_json(o->cfg.to_json(), "init-model flags");
    auto m = o->init == "hash" ? hash_gpt2(o->cfg, o->seed) : random_gpt2(o->cfg, o->seed);
    auto dt = o->dtype == "f16" ? torch::kFloat16 : o->dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
    save_gpt2(m, o->out, dt, resources_dir() / "tokenizer");
    std::cout << o->out << "\n";
  });
}

void setup_convert(CLI::App& root) {
  struct Opts {
    std::string model, out, dtype = "f16";
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = root.add_subcommand("convert", "Re-write a GPT-2 model folder (HF layout) in another dtype");
  cmd->add_option("--model", o->model, "model directory (config.json + model.safetensors)")->required();
  cmd->add_option("--out", o->out, "output model directory (not the input)")->required();
  cmd->add_option("--dtype", o->dtype, "f32, f16 or bf16")->check(CLI::IsMember({"f32", "f16", "bf16"}))->capture_default_str();
  cmd->callback([o] {
    namespace fs = std::filesystem;
    if (fs::exists(o->out) && fs::equivalent(o->model, o->out))
      throw Error("convert: --out must differ from --model ('" + o->out + "')");
    auto m = load_gpt2(o->model);
    auto dt = o->dtype == "f16" ? torch::kFloat16 : o->dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
    // The model's own tokenizer files when it has them, else the bundled GPT-2 ones.
    const fs::path tok = fs::exists(fs::path(o->model) / "vocab.json") && fs::exists(fs::path(o->model) / "merges.txt")
                             ? fs::path(o->model)
                             : resources_dir() / "tokenizer";
    save_gpt2(m, o->out, dt, tok);
    std::cout << o->out << "\n";
  });
}

}  // namespace
ATTNLAB_CLI_COMMAND(init_model, setup)
ATTNLAB_CLI_COMMAND(convert, setup_convert)
}  // namespace attnlab::cli
