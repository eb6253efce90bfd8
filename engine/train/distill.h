// The distillation loop: a frozen reference GPT-2 and a custom copy whose attention is a
// cheaper variant in chosen layers; minimise mean per-token KL(P_ref || P_custom) + the
// variant's regulariser. Progress flows through DistillObserver (CLI and GUI adapt it).
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace attnlab {

/// The complete, reproducible configuration of a run (config.json of a run directory; the
/// same JSON `attnlab-cli distill --config` reads and the GUI saves/loads).
struct DistillConfig {
  std::string model;                  // HF model directory of the reference ("" = bundled demo)
  std::string data;                   // data directory or text file ("" = bundled WikiText-2)
  std::string variant = "mask-mix";   // full | mask-mix | window | duo | performer | nsa
  nlohmann::json variant_spec = nlohmann::json::object();  // variant parameters (candidates, ...)
  std::string layers = "all";         // "all" or "0,2,5"
  std::string train_params = "variant";  // variant | attention | all
  int64_t seq_len = 128;
  int64_t batch = 4;
  int64_t steps = 200;
  double lr = 3e-2;
  double weight_decay = 0.0;
  int64_t warmup = 10;
  std::string schedule = "cosine";    // cosine | constant | linear
  double min_lr_ratio = 0.1;          // cosine/linear floor as a fraction of lr
  double l1 = 1e-3;                   // penalty weight for variants with a regulariser
  double clip = 1.0;                  // global grad-norm clip (0 = off)
  int64_t eval_every = 25;
  int64_t eval_batches = 4;
  int64_t checkpoint_every = 50;
  int threads = 0;                    // 0 = hardware concurrency
  uint64_t seed = 0;
  std::string device = "cpu";         // cpu | cuda
  std::string out;                    // run directory
  int64_t kl_chunk_tokens = 512;      // LM head + KL computed over this many tokens at a time

  nlohmann::json to_json() const;
  /// Unknown keys are rejected; errors name `source` and the field.
  static DistillConfig from_json(const nlohmann::json& j, const std::string& source);
  /// Checks ranges; throws attnlab::Error naming the field and what is expected.
  void validate() const;
  /// Parsed layer list for a model with n_layer layers.
  std::vector<int> layer_list(int64_t n_layer) const;
};

struct StepMetrics {
  int64_t step = 0;        // 1-based optimisation step just finished
  int64_t total_steps = 0;
  int64_t tokens = 0;      // tokens consumed so far
  double kl = 0, reg = 0, loss = 0, lr = 0, grad_norm = 0;
  double tokens_per_s = 0, elapsed_s = 0, step_time_s = 0;
  bool skipped = false;    // non-finite loss/gradients: weights untouched
};

struct EvalMetrics {
  int64_t step = 0;
  int64_t tokens = 0;      // evaluated tokens
  double kl = 0, ppl_ref = 0, ppl_custom = 0, top1_agreement = 0, density = 0;
};

/// Per-layer interpretable coefficients (mask-mix weights, gate means, ...).
struct CoefficientSnapshot {
  int64_t step = 0;
  std::vector<std::string> names;                 // e.g. candidate names
  std::vector<int> layers;                        // layer index of each row
  std::vector<std::vector<double>> values;        // [layer row][name] (mean over heads)
};

struct RunInfo {
  std::string run_dir;
  DistillConfig config;
  int64_t start_step = 0;       // > 0 when resumed
  int64_t n_layer = 0, n_head = 0;
  int64_t trainable_parameters = 0;
  double density = 1.0;
};

class DistillObserver {
 public:
  virtual ~DistillObserver() = default;
  virtual void on_start(const RunInfo&) {}
  virtual void on_step(const StepMetrics&) {}
  virtual void on_eval(const EvalMetrics&) {}
  virtual void on_coefficients(const CoefficientSnapshot&) {}
  /// kind: "nan_skip", "redraw", "prune", "checkpoint", "paused", "resumed", "stopped", ...
  virtual void on_event(const std::string& /*kind*/, const nlohmann::json& /*detail*/) {}
  /// status: "finished", "stopped", "failed: <why>".
  virtual void on_finish(const std::string& /*status*/) {}
};

/// Flags the caller flips from another thread; checked between steps.
struct RunControl {
  std::atomic<bool> stop{false};
  std::atomic<bool> pause{false};
};

/// Runs (or resumes) a distillation into config.out. Blocking; call from a worker thread.
/// Writes config.json, metrics.jsonl, checkpoints/. Returns the final status string.
std::string run_distillation(const DistillConfig& cfg, DistillObserver* observer, RunControl* control);
/// Resumes the run in run_dir from its latest checkpoint (steps may be raised by `steps`>0).
std::string resume_distillation(const std::filesystem::path& run_dir, DistillObserver* observer,
                                RunControl* control, int64_t steps = 0);

}  // namespace attnlab
