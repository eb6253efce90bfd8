// Shared construction of a distillation: reference + custom model, variants in chosen
// layers, trainable parameter selection, checkpoint state. Used by the trainer, eval,
// generation and the GUI's ModelPair.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/gpt2.h"
#include "tokenizer/gpt2_tokenizer.h"
#include "train/distill.h"

namespace attnlab {

/// "" -> the bundled demo reference (resources/models/attnlab-demo); else the path.
std::filesystem::path resolve_model_dir(const std::string& model);
/// "" -> the bundled WikiText-2 (resources/data/wikitext-2); else the path.
std::filesystem::path resolve_data_path(const std::string& data);

struct DistillSetup {
  DistillConfig cfg;
  torch::Device device{torch::kCPU};
  Gpt2 ref{nullptr}, custom{nullptr};
  std::vector<int> layers;   // layers with the variant
  int first_shared = 0;      // layers [0, first_shared) are identical in ref and custom
  std::vector<std::pair<std::string, torch::Tensor>> trainable;  // name -> parameter
  std::unique_ptr<Gpt2Tokenizer> tok;

  /// Variant parameters + the selected model parameters, by module path.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void load_state(const std::filesystem::path& safetensors);
  void save_state(const std::filesystem::path& safetensors) const;
  /// Mean variant density over swapped layers at length T.
  double density(int64_t T) const;
};

/// Variant spec with the trainer's global settings filled in (l1 for penalised variants, seed).
nlohmann::json effective_variant_spec(const DistillConfig& cfg, int layer);

std::unique_ptr<DistillSetup> build_setup(const DistillConfig& cfg);

}  // namespace attnlab
