// Causal-LM pretraining of a GPT-2-architecture model from scratch or from a given model (used
// to train the bundled demo reference). Same data pipeline and run-directory format as distillation; the best
// model by validation loss is written as a Hugging Face model directory.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "model/gpt2_config.h"
#include "train/distill.h"

namespace attnlab {

struct PretrainConfig {
  Gpt2Config model;                 // architecture (vocab from the tokenizer)
  std::string data;                 // data dir or text file ("" = bundled WikiText-2)
  int64_t seq_len = 256, batch = 16, steps = 1000;
  double lr = 1e-3, weight_decay = 0.1, min_lr_ratio = 0.1, clip = 1.0, dropout = 0.0;
  int64_t warmup = 100, eval_every = 100, eval_batches = 16, checkpoint_every = 200;
  int threads = 0;
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string dtype = "f16";        // dtype of the exported model.safetensors
  std::string out;                  // run directory; the model goes to out/model
  /// Optional Hugging Face model directory to start from instead of random weights (continued
  /// pretraining). Its config.json defines the architecture: `model` is then ignored.
  std::string init;

  nlohmann::json to_json() const;
  static PretrainConfig from_json(const nlohmann::json& j, const std::string& source);
};

/// Blocking; progress through the same observer as distillation (kl = LM loss in nats).
/// Resumes when out/checkpoints/latest.json exists and resume is true.
std::string run_pretraining(const PretrainConfig& cfg, DistillObserver* observer, RunControl* control,
                            bool resume = false);

}  // namespace attnlab
