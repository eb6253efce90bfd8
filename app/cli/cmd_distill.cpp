// attnlab-cli distill / eval / generate.
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/fs.h"
#include "data/corpus.h"
#include "eval/evaluate.h"
#include "eval/session.h"
#include "generate/generate.h"
#include "model/gpt2.h"
#include "train/distill.h"
#include "train/setup.h"

namespace attnlab::cli {
namespace {

RunControl* g_control = nullptr;
void on_signal(int) {
  if (g_control) {
    if (g_control->stop.load()) std::_Exit(130);  // second Ctrl-C: leave now
    g_control->stop = true;
  }
}

std::string fmt_time(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  int t = static_cast<int>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%02d:%02d", t / 60, t % 60);
  return buf;
}

/// Progress on stderr: a redrawn bar on a TTY, plain lines otherwise.
class ConsoleObserver : public DistillObserver {
 public:
  ConsoleObserver() : tty_(isatty(STDERR_FILENO)) {}
  void on_start(const RunInfo& info) override {
    std::fprintf(stderr, "run %s: variant %s on layers %s, %lld trainable parameters, density %.3f%s\n",
                 info.run_dir.c_str(), info.config.variant.c_str(), info.config.layers.c_str(),
                 static_cast<long long>(info.trainable_parameters), info.density,
                 info.start_step ? (" (resumed at step " + std::to_string(info.start_step) + ")").c_str() : "");
    start_step_ = info.start_step;
  }
  void on_step(const StepMetrics& m) override {
    rate_ = rate_ == 0 ? m.tokens_per_s : 0.9 * rate_ + 0.1 * m.tokens_per_s;
    step_time_ = step_time_ == 0 ? m.step_time_s : 0.9 * step_time_ + 0.1 * m.step_time_s;
    double eta = step_time_ * (m.total_steps - m.step);
    if (tty_) {
      int width = 28, filled = static_cast<int>(width * m.step / std::max<int64_t>(1, m.total_steps));
      std::string bar(filled, '#');
      bar += std::string(width - filled, '.');
      std::fprintf(stderr, "\r[%s] %lld/%lld  KL %.4f  reg %.4f  %.0f tok/s  ETA %s   ", bar.c_str(),
                   static_cast<long long>(m.step), static_cast<long long>(m.total_steps), m.kl, m.reg, rate_,
                   fmt_time(eta).c_str());
      std::fflush(stderr);
      dirty_ = true;
    } else if (m.step == start_step_ + 1 || m.step % 10 == 0 || m.step == m.total_steps) {
      std::fprintf(stderr, "step %lld/%lld kl %.5f reg %.5f lr %.3g %.0f tok/s eta %s\n", static_cast<long long>(m.step),
                   static_cast<long long>(m.total_steps), m.kl, m.reg, m.lr, rate_, fmt_time(eta).c_str());
    }
  }
  void on_eval(const EvalMetrics& e) override {
    newline();
    std::fprintf(stderr, "eval @%lld: KL %.4f  ppl ref %.2f custom %.2f  top-1 %.3f  density %.3f\n",
                 static_cast<long long>(e.step), e.kl, e.ppl_ref, e.ppl_custom, e.top1_agreement, e.density);
  }
  void on_event(const std::string& kind, const nlohmann::json& d) override {
    if (kind == "checkpoint" || kind == "started" || kind == "resumed" || kind == "paused") return;
    newline();
    std::fprintf(stderr, "event %s %s\n", kind.c_str(), d.dump().c_str());
  }
  void on_finish(const std::string& status) override {
    newline();
    std::fprintf(stderr, "%s\n", status.c_str());
  }

 private:
  void newline() {
    if (dirty_) std::fprintf(stderr, "\n");
    dirty_ = false;
  }
  bool tty_;
  bool dirty_ = false;
  double rate_ = 0, step_time_ = 0;
  int64_t start_step_ = 0;
};

struct DistillFlags {
  std::string config, resume;
  DistillConfig cfg;
  std::string candidates, features;
  bool per_head = false;
};

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

void setup(CLI::App& root) {
  // ------------------------------------------------------------------ distill
  {
    auto f = std::make_shared<DistillFlags>();
    auto* cmd = root.add_subcommand("distill", "Distil the reference's attention into a cheaper variant");
    cmd->add_option("--config", f->config, "JSON config (flags given on the command line override it)");
    cmd->add_option("--resume", f->resume, "resume the run in RUN_DIR from its latest checkpoint");
    auto& c = f->cfg;
    cmd->add_option("--model", c.model, "reference: Hugging Face model directory (default: bundled demo)");
    cmd->add_option("--data", c.data, "data directory or text file (default: bundled WikiText-2)");
    cmd->add_option("--variant", c.variant, "full | mask-mix | window | duo | performer | nsa");
    cmd->add_option("--candidates", f->candidates, "mask-mix candidates, e.g. local:5,local:32,sink:4,stride:8,self");
    cmd->add_flag("--per-head", f->per_head, "mask-mix: one weight vector per head instead of per block");
    cmd->add_option("--features", f->features, "performer: favor (random features) | learned (Hedgehog)")
        ->check(CLI::IsMember({"favor", "learned"}));
    cmd->add_option("--variant-spec", [&c](const CLI::results_t& r) {
      try {
        c.variant_spec = nlohmann::json::parse(r[0]);
      } catch (const std::exception& e) {
        throw Error(std::string("--variant-spec: not a JSON object: ") + e.what());
      }
      return true;
    }, "variant parameters as a JSON object, e.g. '{\"features\":128}'");
    cmd->add_option("--layers", c.layers, "all, or a list such as 0,2,5 or 3-7");
    cmd->add_option("--train-params", c.train_params, "variant | attention | all");
    cmd->add_option("--seq-len", c.seq_len, "tokens per sequence");
    cmd->add_option("--batch", c.batch, "sequences per step");
    cmd->add_option("--steps", c.steps, "optimisation steps");
    cmd->add_option("--lr", c.lr, "peak learning rate (AdamW)");
    cmd->add_option("--weight-decay", c.weight_decay, "AdamW weight decay");
    cmd->add_option("--warmup", c.warmup, "linear warm-up steps");
    cmd->add_option("--schedule", c.schedule, "cosine | linear | constant");
    cmd->add_option("--l1", c.l1, "L1 penalty on mixture/gate weights");
    cmd->add_option("--clip", c.clip, "gradient-norm clip (0 = off)");
    cmd->add_option("--eval-every", c.eval_every, "validate every N steps");
    cmd->add_option("--eval-batches", c.eval_batches, "validation batches");
    cmd->add_option("--checkpoint-every", c.checkpoint_every, "checkpoint every N steps");
    cmd->add_option("--threads", c.threads, "intra-op threads (0 = all cores)");
    cmd->add_option("--seed", c.seed, "seed");
    cmd->add_option("--device", c.device, "cpu | cuda");
    cmd->add_option("--out", c.out, "run directory");
    cmd->callback([f, cmd] {
      RunControl control;
      g_control = &control;
      std::signal(SIGINT, on_signal);
      std::signal(SIGTERM, on_signal);
      ConsoleObserver obs;
      std::string status;
      if (!f->resume.empty()) {
        int64_t steps = cmd->count("--steps") ? f->cfg.steps : 0;
        status = resume_distillation(f->resume, &obs, &control, steps);
        std::cout << f->resume << "\n";
      } else {
        DistillConfig cfg;
        nlohmann::json j = f->config.empty() ? nlohmann::json::object() : read_json(f->config);
        cfg = DistillConfig::from_json(j, f->config.empty() ? "flags" : f->config);
        const std::string file_variant = j.contains("variant") && j["variant"].is_string() ? j["variant"].get<std::string>() : DistillConfig().variant;
        // Command-line flags override the file.
        nlohmann::json flags = f->cfg.to_json();
        for (auto& [key, value] : flags.items()) {
          std::string opt = "--" + key;
          for (auto& ch : opt) if (ch == '_') ch = '-';
          if (auto* o = cmd->get_option_no_throw(opt); o && o->count()) j[key] = value;
        }
        // Another variant than the file's starts from that variant's defaults.
        if (cmd->count("--variant") && f->cfg.variant != file_variant)
          j["variant_spec"] = nlohmann::json::object();
        if (cmd->count("--variant-spec")) j["variant_spec"] = f->cfg.variant_spec;
        cfg = DistillConfig::from_json(j, f->config.empty() ? "flags" : f->config);
        if (!f->candidates.empty()) cfg.variant_spec["candidates"] = f->candidates;
        if (f->per_head) cfg.variant_spec["per_head"] = true;
        if (!f->features.empty()) cfg.variant_spec["features_kind"] = f->features;
        if (cfg.out.empty()) throw Error("distill: --out RUN_DIR is required");
        status = run_distillation(cfg, &obs, &control);
        std::cout << cfg.out << "\n";
      }
      g_control = nullptr;
      if (status != "finished" && status != "stopped") throw Error(status);
    });
  }
  // ------------------------------------------------------------------ eval
  {
    struct Opts {
      std::string run, model, data, split = "valid";
      int64_t seq_len = 0;
      int64_t stride = 0, max_tokens = 0, blocks = 0;
      int threads = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = root.add_subcommand("eval", "Evaluate a run's custom model against its reference on held-out data");
    cmd->add_option("--run", o->run, "run directory");
    cmd->add_option("--model", o->model, "evaluate a reference model alone (no run): HF model directory");
    cmd->add_option("--data", o->data, "with --model: data directory or file (default: bundled WikiText-2)");
    cmd->add_option("--seq-len", o->seq_len, "with --model: block / window length (default: min(1024, n_positions))");
    cmd->add_option("--split", o->split, "valid | test");
    cmd->add_option("--stride", o->stride, "sliding-window evaluation with this stride (HF perplexity guide); 0 = blocks");
    cmd->add_option("--max-tokens", o->max_tokens, "evaluate at most this many tokens (0 = all)");
    cmd->add_option("--blocks", o->blocks, "block evaluation: number of seq_len blocks (0 = all)");
    cmd->add_option("--threads", o->threads, "intra-op threads");
    cmd->callback([o] {
      apply_threads(o->threads);
      if (o->run.empty() == o->model.empty())
        throw Error("eval: give --run RUN_DIR, or --model DIR to evaluate a reference alone");
      DistillConfig cfg;
      if (!o->run.empty()) {
        auto cfg_json = read_json((std::filesystem::path(o->run) / "config.json").string());
        cfg_json.erase("attnlab_version");
        cfg = DistillConfig::from_json(cfg_json, o->run + "/config.json");
      } else {
        // The reference alone: the `full` variant reproduces it exactly (KL 0, agreement 1).
        cfg.model = o->model;
        cfg.data = o->data;
        cfg.variant = "full";
        cfg.seq_len = o->seq_len > 0 ? o->seq_len
                                     : std::min<int64_t>(1024, load_gpt2(resolve_model_dir(o->model))->cfg.n_positions);
      }
      cfg.device = "cpu";
      auto s = build_setup(cfg);
      auto latest = std::filesystem::path(o->run) / "checkpoints" / "latest.json";
      if (!o->run.empty() && std::filesystem::exists(latest))
        s->load_state(std::filesystem::path(o->run) / "checkpoints" /
                      read_json(latest.string()).at("state").get<std::string>());
      auto tokens = load_split_tokens(resolve_data_path(cfg.data), o->split, *s->tok);
      if (o->max_tokens > 0 && static_cast<int64_t>(tokens.size()) > o->max_tokens) tokens.resize(o->max_tokens);
      EvalMetrics e;
      if (o->stride > 0) {
        e = evaluate_sliding(*s, tokens, cfg.seq_len, o->stride, 0);
      } else {
        int64_t nb = o->blocks > 0 ? o->blocks : static_cast<int64_t>(tokens.size()) / cfg.seq_len;
        e = evaluate_blocks(*s, tokens, cfg.seq_len, nb, cfg.batch);
      }
      nlohmann::json j = {{"split", o->split}, {"kl", e.kl}, {"ppl_ref", e.ppl_ref}, {"ppl_custom", e.ppl_custom},
                          {"top1_agreement", e.top1_agreement}, {"density", e.density}, {"tokens", e.tokens}};
      if (o->stride > 0) j["stride"] = o->stride;
      std::cout << j.dump() << "\n";
    });
  }
  // ------------------------------------------------------------------ generate
  {
    struct Opts {
      std::string model, run, prompt;
      GenerateOptions g;
      bool greedy = false, json = false;
      int threads = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = root.add_subcommand("generate", "Complete a prompt with the reference (or a run's custom model)");
    cmd->add_option("--model", o->model, "reference model directory (default: the run's, or the bundled demo)");
    cmd->add_option("--run", o->run, "use this run's custom model");
    cmd->add_option("--prompt", o->prompt, "prompt text")->required();
    cmd->add_option("--max-new-tokens", o->g.max_new_tokens, "tokens to generate");
    cmd->add_flag("--greedy", o->greedy, "greedy decoding (default unless --temperature/--top-k/--top-p)");
    cmd->add_option("--temperature", o->g.temperature, "sampling temperature");
    cmd->add_option("--top-k", o->g.top_k, "top-k sampling (0 = off)");
    cmd->add_option("--top-p", o->g.top_p, "nucleus sampling (1 = off)");
    cmd->add_option("--seed", o->g.seed, "sampling seed");
    cmd->add_option("--no-repeat-ngram", o->g.no_repeat_ngram,
                    "never repeat an n-gram of this size (greedy and sampling; 0 = off)");
    cmd->add_option("--threads", o->threads, "intra-op threads");
    cmd->add_flag("--json", o->json,
                  "with --run: one JSON line with both completions, their token ids, the first divergent "
                  "token, per-token KL and the distinct-4-gram ratio of each completion");
    cmd->callback([o, cmd] {
      apply_threads(o->threads);
      bool sampling = cmd->count("--temperature") || cmd->count("--top-k") || cmd->count("--top-p");
      o->g.greedy = o->greedy || !sampling;
      std::vector<int32_t> out;
      std::string text;
      if (!o->run.empty()) {
        auto pair = ModelPair::from_run(o->run);
        auto c = pair->compare(o->prompt, o->g);
        if (o->json) {
          double kl_mean = 0;
          for (double v : c.custom_token_kl) kl_mean += v;
          if (!c.custom_token_kl.empty()) kl_mean /= static_cast<double>(c.custom_token_kl.size());
          nlohmann::json j = {{"prompt", o->prompt},
                              {"reference", c.ref_text},
                              {"custom", c.custom_text},
                              {"reference_ids", c.ref_ids},
                              {"custom_ids", c.custom_ids},
                              {"first_divergence", c.first_divergence},
                              {"custom_token_kl_mean", kl_mean},
                              {"distinct4_reference", distinct_ngram_ratio(c.ref_ids, 4)},
                              {"distinct4_custom", distinct_ngram_ratio(c.custom_ids, 4)}};
          std::cout << j.dump() << "\n";
          return;
        }
        std::cout << o->prompt << c.custom_text << "\n";
        return;
      }
      auto dir = resolve_model_dir(o->model);
      auto model = load_gpt2(dir);
      Gpt2Tokenizer tok = std::filesystem::exists(dir / "vocab.json") ? Gpt2Tokenizer::from_dir(dir) : Gpt2Tokenizer::bundled();
      auto ids = tok.encode(o->prompt);
      out = generate(*model, ids, o->g);
      if (o->json) {
        nlohmann::json j = {{"prompt", o->prompt}, {"reference", tok.decode(out)}, {"reference_ids", out},
                            {"distinct4_reference", distinct_ngram_ratio(out, 4)}};
        std::cout << j.dump() << "\n";
        return;
      }
      std::cout << o->prompt << tok.decode(out) << "\n";
    });
  }
}

}  // namespace
ATTNLAB_CLI_COMMAND(distill, setup)
}  // namespace attnlab::cli
