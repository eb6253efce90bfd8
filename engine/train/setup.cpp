#include "train/setup.h"

#include "common/error.h"
#include "common/fs.h"
#include "model/safetensors.h"

namespace attnlab {

std::filesystem::path resolve_model_dir(const std::string& model) {
  if (!model.empty()) return model;
  return resources_dir() / "models" / "attnlab-demo";
}

std::filesystem::path resolve_data_path(const std::string& data) {
  if (!data.empty()) return data;
  return resources_dir() / "data" / "wikitext-2";
}

nlohmann::json effective_variant_spec(const DistillConfig& cfg, int layer) {
  nlohmann::json spec = cfg.variant_spec.is_object() ? cfg.variant_spec : nlohmann::json::object();
  if ((cfg.variant == "mask-mix" || cfg.variant == "duo") && !spec.contains("l1")) spec["l1"] = cfg.l1;
  (void)layer;
  return spec;
}

std::unique_ptr<DistillSetup> build_setup(const DistillConfig& cfg) {
  cfg.validate();
  auto s = std::make_unique<DistillSetup>();
  s->cfg = cfg;
  if (cfg.device != "cpu") {
    if (!torch::cuda::is_available())
      throw Error("config field 'device': '" + cfg.device + "' requested but this LibTorch has no CUDA device");
    s->device = torch::Device(cfg.device);
  }
  auto model_dir = resolve_model_dir(cfg.model);
  s->ref = load_gpt2(model_dir);
  try {
    s->tok = std::make_unique<Gpt2Tokenizer>(Gpt2Tokenizer::from_dir(model_dir));
  } catch (const Error&) {
    s->tok = std::make_unique<Gpt2Tokenizer>(Gpt2Tokenizer::bundled());
  }
  torch::manual_seed(cfg.seed);
  s->custom = Gpt2(s->ref->clone_reference());
  if (s->device != torch::kCPU) s->ref->to(s->device);
  s->layers = cfg.layer_list(s->ref->cfg.n_layer);
  for (int l : s->layers) {
    auto init = s->custom->block_list[l]->layer_init();
    s->custom->set_variant(l, make_variant(cfg.variant, effective_variant_spec(cfg, l), init));
  }
  s->custom->to(s->device);
  s->first_shared = cfg.train_params == "all" ? 0 : s->layers.front();
  // Trainable selection.
  for (auto& p : s->custom->named_parameters()) p.value().set_requires_grad(false);
  for (auto& p : s->custom->named_parameters()) {
    const std::string& n = p.key();
    bool in_variant = n.find(".variant.") != std::string::npos;
    bool attn = n.find("attn_c_") != std::string::npos;
    bool swapped = false;
    for (int l : s->layers)
      if (n.rfind("h." + std::to_string(l) + ".", 0) == 0) swapped = true;
    bool train = in_variant || (cfg.train_params == "attention" && attn && swapped) || cfg.train_params == "all";
    if (train) {
      p.value().set_requires_grad(true);
      s->trainable.emplace_back(n, p.value());
    }
  }
  // Frozen parameters of the custom model share the reference's storage (no second copy).
  if (s->device == torch::kCPU || true) {
    auto ref_params = s->ref->named_parameters();
    torch::NoGradGuard ng;
    for (auto& p : s->custom->named_parameters())
      if (!p.value().requires_grad() && ref_params.contains(p.key())) p.value().set_data(ref_params[p.key()]);
  }
  s->ref->eval();
  return s;
}

std::vector<std::pair<std::string, torch::Tensor>> DistillSetup::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out = trainable;
  for (auto& b : custom->named_buffers())
    if (b.key().find(".variant.") != std::string::npos) out.emplace_back(b.key(), b.value());
  return out;
}

void DistillSetup::save_state(const std::filesystem::path& file) const {
  save_safetensors(file, state(), {{"format", "attnlab-state"}, {"variant", cfg.variant}});
}

void DistillSetup::load_state(const std::filesystem::path& file) {
  auto f = SafetensorsFile::open(file);
  torch::NoGradGuard ng;
  for (auto& [name, t] : state()) {
    if (!f->contains(name))
      throw Error("checkpoint '" + file.string() + "' has no tensor '" + name +
                  "' (was it written by a run with another variant or layer set?)");
    auto src = f->tensor_raw(name);
    if (src.sizes() != t.sizes())
      throw Error("checkpoint '" + file.string() + "': tensor '" + name + "' has shape " + c10::str(src.sizes()) +
                  ", expected " + c10::str(t.sizes()));
    t.copy_(src.to(t.scalar_type()));
  }
}

double DistillSetup::density(int64_t T) const {
  double d = 0;
  for (int l : layers) d += custom->block_list[l]->variant->density(T);
  return layers.empty() ? 1.0 : d / layers.size();
}

}  // namespace attnlab
