// attnlab-cli pretrain: train a GPT-2-architecture model from scratch (causal LM).
#include <torch/torch.h>

#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "train/pretrain.h"

namespace attnlab::cli {
namespace {

class PretrainPrinter : public DistillObserver {
 public:
  void on_step(const StepMetrics& m) override {
    if (m.step % 50 == 0 || m.step == m.total_steps)
      std::fprintf(stderr, "step %lld/%lld loss %.4f lr %.3g %.0f tok/s %.0fs\n", static_cast<long long>(m.step),
                   static_cast<long long>(m.total_steps), m.loss, m.lr, m.tokens_per_s, m.elapsed_s);
  }
  void on_eval(const EvalMetrics& e) override {
    std::fprintf(stderr, "valid @%lld: loss %.4f ppl %.2f\n", static_cast<long long>(e.step), e.kl, e.ppl_ref);
  }
  void on_finish(const std::string& s) override { std::fprintf(stderr, "%s\n", s.c_str()); }
};

void setup(CLI::App& root) {
  struct Opts {
    PretrainConfig c;
    std::string config;
    bool resume = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = root.add_subcommand("pretrain", "Train a GPT-2-architecture model from scratch (writes RUN/model)");
  auto& c = o->c;
  c.model.n_layer = 6;
  c.model.n_embd = 192;
  c.model.n_head = 6;
  c.model.n_positions = 512;
  cmd->add_option("--config", o->config, "JSON config (flags override)");
  cmd->add_option("--layers", c.model.n_layer, "n_layer")->capture_default_str();
  cmd->add_option("--width", c.model.n_embd, "n_embd")->capture_default_str();
  cmd->add_option("--heads", c.model.n_head, "n_head")->capture_default_str();
  cmd->add_option("--positions", c.model.n_positions, "n_positions (context)")->capture_default_str();
  cmd->add_option("--data", c.data, "data directory or text file (default: bundled WikiText-2)");
  cmd->add_option("--seq-len", c.seq_len, "tokens per sequence")->capture_default_str();
  cmd->add_option("--batch", c.batch, "sequences per step")->capture_default_str();
  cmd->add_option("--steps", c.steps, "optimisation steps")->capture_default_str();
  cmd->add_option("--lr", c.lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", c.weight_decay, "AdamW weight decay")->capture_default_str();
  cmd->add_option("--dropout", c.dropout, "embedding + residual dropout while training (GPT-2 used 0.1)")->capture_default_str();
  cmd->add_option("--warmup", c.warmup, "warm-up steps")->capture_default_str();
  cmd->add_option("--eval-every", c.eval_every, "validate every N steps")->capture_default_str();
  cmd->add_option("--eval-batches", c.eval_batches, "validation batches")->capture_default_str();
  cmd->add_option("--checkpoint-every", c.checkpoint_every, "checkpoint every N steps")->capture_default_str();
  cmd->add_option("--threads", c.threads, "intra-op threads");
  cmd->add_option("--seed", c.seed, "seed");
  cmd->add_option("--device", c.device, "cpu | cuda");
  cmd->add_option("--dtype", c.dtype, "exported weights: f16 | bf16 | f32");
  cmd->add_option("--out", c.out, "run directory (the model is written to RUN/model)")->required();
  cmd->add_flag("--resume", o->resume, "continue from RUN/checkpoints");
  cmd->add_option("--init", c.init,
                  "start from this model directory instead of random weights (its config.json sets the architecture)");
  cmd->callback([o, cmd] {
    if (!o->config.empty()) {
      auto j = nlohmann::json::parse(read_text_file(o->config));
      auto out = o->c.out, init = o->c.init;
      o->c = PretrainConfig::from_json(j, o->config);
      if (!out.empty()) o->c.out = out;
      if (!init.empty()) o->c.init = init;
    }
    if (!o->c.init.empty()) {
      // The architecture is the init model's; an explicit flag that contradicts it is an error.
      auto ic = Gpt2Config::load(std::filesystem::path(o->c.init) / "config.json");
      const std::pair<const char*, std::pair<int64_t, int64_t>> arch[] = {
          {"--layers", {o->c.model.n_layer, ic.n_layer}},
          {"--width", {o->c.model.n_embd, ic.n_embd}},
          {"--heads", {o->c.model.n_head, ic.n_head}},
          {"--positions", {o->c.model.n_positions, ic.n_positions}}};
      for (auto& [flag, v] : arch)
        if (cmd->count(flag) > 0 && v.first != v.second)
          throw Error(std::string(flag) + " " + std::to_string(v.first) + " contradicts --init " + o->c.init +
                      " (which has " + std::to_string(v.second) + ")");
      o->c.model = ic;
    }
    o->c.model = Gpt2Config::from_json(o->c.model.to_json(), "pretrain flags");
    PretrainPrinter p;
    auto status = run_pretraining(o->c, &p, nullptr, o->resume);
    std::cout << (std::filesystem::path(o->c.out) / "model").string() << "\n";
    if (status != "finished") throw Error(status);
  });
}

}  // namespace
ATTNLAB_CLI_COMMAND(pretrain, setup)
}  // namespace attnlab::cli
