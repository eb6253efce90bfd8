// attnlab-cli bench distill / bench forward: throughput of the distillation step and of the
// GPT-2 forward pass on a random-weight GPT-2-small-shaped model (figures for
// docs/benchmarks.md; a program, not a test).
#include <torch/torch.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sstream>

#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "common/error.h"
#include "common/fs.h"
#include "model/gpt2.h"
#include "train/distill.h"

namespace attnlab::cli {
namespace {

using Clock = std::chrono::steady_clock;

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

std::filesystem::path bench_model(int layers, int width, int heads, const std::string& tmp) {
  auto dir = std::filesystem::path(tmp) / ("gpt2-bench-" + std::to_string(layers) + "x" + std::to_string(width));
  if (!std::filesystem::exists(dir / "model.safetensors")) {
    Gpt2Config c;
    c.n_layer = layers;
    c.n_embd = width;
    c.n_head = heads;
    save_gpt2(random_gpt2(c, 0), dir, torch::kFloat32, resources_dir() / "tokenizer");
  }
  return dir;
}

struct StepTimer : DistillObserver {
  std::vector<double> times;
  void on_step(const StepMetrics& m) override { times.push_back(m.step_time_s); }
};

void setup(CLI::App& root) {
  auto& bench = bench_group(root);
  {
    struct Opts {
      std::string variants = "full,mask-mix", candidates, tmp = "/tmp", model, train_params = "attention";
      int layers = 12, width = 768, heads = 12, threads = 0;
      int64_t seq_len = 256, batch = 4, steps = 6;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = bench.add_subcommand("distill", "Distillation step throughput (tokens/s, step time, peak RSS)");
    cmd->add_option("--variants", o->variants, "comma-separated variants");
    cmd->add_option("--candidates", o->candidates, "mask-mix candidates (default: the variant's)");
    cmd->add_option("--model", o->model, "model dir (default: random GPT-2-small shape written to --tmp)");
    cmd->add_option("--train-params", o->train_params,
                    "trainable set for every variant: attention (default: the same work for all, and the only "
                    "choice for variants without parameters of their own) | variant | all");
    cmd->add_option("--layers", o->layers, "random model layers");
    cmd->add_option("--width", o->width, "random model width");
    cmd->add_option("--heads", o->heads, "random model heads");
    cmd->add_option("--seq-len", o->seq_len, "tokens per sequence");
    cmd->add_option("--batch", o->batch, "sequences per step");
    cmd->add_option("--steps", o->steps, "timed steps (+2 warm-up)");
    cmd->add_option("--threads", o->threads, "intra-op threads (0 = all cores)");
    cmd->add_option("--tmp", o->tmp, "scratch directory");
    cmd->callback([o] {
      apply_threads(o->threads);
      auto model = o->model.empty() ? bench_model(o->layers, o->width, o->heads, o->tmp) : std::filesystem::path(o->model);
      nlohmann::json results = nlohmann::json::array();
      for (const std::string& v : split_list(o->variants, ',')) {
        DistillConfig c;
        c.model = model.string();
        c.variant = v;
        c.train_params = o->train_params;
        if (v == "mask-mix" && !o->candidates.empty()) c.variant_spec["candidates"] = o->candidates;
        c.seq_len = o->seq_len;
        c.batch = o->batch;
        c.steps = o->steps + 2;
        c.eval_every = 0;
        c.checkpoint_every = 0;
        c.eval_batches = 1;
        c.threads = o->threads;
        c.out = (std::filesystem::path(o->tmp) / ("attnlab-bench-run-" + v + "-" + std::to_string(::getpid()))).string();
        std::filesystem::remove_all(c.out);
        StepTimer t;
        run_distillation(c, &t, nullptr);
        std::filesystem::remove_all(c.out);
        double sum = 0;
        for (size_t i = 2; i < t.times.size(); ++i) sum += t.times[i];
        double step = sum / std::max<size_t>(1, t.times.size() - 2);
        nlohmann::json r = {{"variant", v}, {"train_params", c.train_params}, {"step_s", step},
                            {"tokens_per_s", o->batch * o->seq_len / step}, {"peak_rss_mb", peak_rss_mb()},
                            {"batch", o->batch}, {"seq_len", o->seq_len}, {"threads", torch::get_num_threads()}};
        std::cerr << r.dump() << "\n";
        results.push_back(r);
      }
      std::cout << results.dump(2) << "\n";
    });
  }
  {
    struct Opts {
      std::string model, tmp = "/tmp";
      int layers = 12, width = 768, heads = 12, threads = 0, repeat = 3;
      int64_t seq_len = 256, batch = 4;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = bench.add_subcommand("forward", "GPT-2 load time and forward tokens/s");
    cmd->add_option("--model", o->model, "model dir (default: random GPT-2-small shape)");
    cmd->add_option("--seq-len", o->seq_len, "tokens per sequence");
    cmd->add_option("--batch", o->batch, "sequences");
    cmd->add_option("--repeat", o->repeat, "timed repetitions");
    cmd->add_option("--threads", o->threads, "intra-op threads (0 = all cores)");
    cmd->add_option("--tmp", o->tmp, "scratch directory");
    cmd->callback([o] {
      apply_threads(o->threads);
      auto dir = o->model.empty() ? bench_model(o->layers, o->width, o->heads, o->tmp) : std::filesystem::path(o->model);
      auto t0 = Clock::now();
      auto m = load_gpt2(dir);
      double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
      torch::InferenceMode im;
      auto ids = torch::randint(0, m->cfg.vocab_size, {o->batch, o->seq_len}, torch::kLong);
      m->forward(ids);  // warm-up
      double best = 1e30;
      for (int r = 0; r < o->repeat; ++r) {
        auto t = Clock::now();
        m->forward(ids);
        best = std::min(best, std::chrono::duration<double>(Clock::now() - t).count());
      }
      nlohmann::json j = {{"load_s", load_s}, {"forward_s", best}, {"tokens_per_s", o->batch * o->seq_len / best},
                          {"batch", o->batch}, {"seq_len", o->seq_len}, {"threads", torch::get_num_threads()},
                          {"peak_rss_mb", peak_rss_mb()}};
      std::cout << j.dump() << "\n";
    });
  }
}

}  // namespace
ATTNLAB_CLI_COMMAND(bench_distill, setup)
}  // namespace attnlab::cli
