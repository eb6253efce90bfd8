#include "model/gpt2.h"

#include <cmath>
#include <fstream>
#include <set>

#include "common/error.h"
#include "common/fs.h"
#include "model/safetensors.h"

namespace attnlab {

namespace {

torch::Tensor activation(const torch::Tensor& x, const std::string& name) {
  if (name == "gelu_new" || name == "gelu_fast" || name == "gelu_pytorch_tanh") {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): HF's NewGELUActivation, written out
    // the same way so that rounding matches.
    return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0))));
  }
  if (name == "gelu") return torch::gelu(x);
  if (name == "relu") return torch::relu(x);
  if (name == "quick_gelu") return x * torch::sigmoid(1.702 * x);
  throw Error("unsupported activation_function '" + name + "'");
}

// x [.., in] @ w [in, out] + b: HF's Conv1D.
torch::Tensor conv1d(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  auto sizes = x.sizes().vec();
  sizes.back() = w.size(1);
  return torch::addmm(b, x.reshape({-1, x.size(-1)}), w).view(sizes);
}

// [B, T, H * Dh] -> [B, H, T, Dh]
torch::Tensor split_heads(const torch::Tensor& t, int64_t H) {
  return t.view({t.size(0), t.size(1), H, t.size(2) / H}).transpose(1, 2);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
Gpt2BlockImpl::Gpt2BlockImpl(const Gpt2Config& c, int layer_idx) : cfg(c), layer(layer_idx) {
  const int64_t C = cfg.n_embd, I = cfg.inner();
  auto z = [](std::vector<int64_t> s) { return torch::zeros(s); };
  ln_1_w = register_parameter("ln_1_weight", torch::ones({C}), false);
  ln_1_b = register_parameter("ln_1_bias", z({C}), false);
  c_attn_w = register_parameter("attn_c_attn_weight", torch::empty({C, 3 * C}), false);
  c_attn_b = register_parameter("attn_c_attn_bias", z({3 * C}), false);
  attn_proj_w = register_parameter("attn_c_proj_weight", torch::empty({C, C}), false);
  attn_proj_b = register_parameter("attn_c_proj_bias", z({C}), false);
  ln_2_w = register_parameter("ln_2_weight", torch::ones({C}), false);
  ln_2_b = register_parameter("ln_2_bias", z({C}), false);
  c_fc_w = register_parameter("mlp_c_fc_weight", torch::empty({C, I}), false);
  c_fc_b = register_parameter("mlp_c_fc_bias", z({I}), false);
  mlp_proj_w = register_parameter("mlp_c_proj_weight", torch::empty({I, C}), false);
  mlp_proj_b = register_parameter("mlp_c_proj_bias", z({C}), false);
}

double Gpt2BlockImpl::attn_scale() const {
  double s = cfg.scale_attn_weights ? 1.0 / std::sqrt(static_cast<double>(cfg.head_dim())) : 1.0;
  if (cfg.scale_attn_by_inverse_layer_idx) s /= static_cast<double>(layer + 1);
  return s;
}

LayerInit Gpt2BlockImpl::layer_init() const {
  LayerInit li;
  li.layer = layer;
  li.n_head = cfg.n_head;
  li.head_dim = cfg.head_dim();
  li.n_embd = cfg.n_embd;
  li.attn_scale = attn_scale();
  li.c_attn_w = c_attn_w.detach();
  li.c_attn_b = c_attn_b.detach();
  return li;
}

torch::Tensor Gpt2BlockImpl::attention(const torch::Tensor& h, const AttentionProbe* probe) {
  const int64_t B = h.size(0), T = h.size(1), C = cfg.n_embd, H = cfg.n_head;
  auto qkv = conv1d(h, c_attn_w, c_attn_b);                  // [B, T, 3C]
  auto parts = qkv.split(C, -1);
  auto q = split_heads(parts[0], H), k = split_heads(parts[1], H), v = split_heads(parts[2], H);
  torch::Tensor a;
  if (variant) {
    a = variant->attend(q, k, v, h);
    if (probe && *probe) {
      torch::NoGradGuard ng;
      (*probe)(layer, variant->effective_attention(q, k, h));
    }
  } else {
    auto probs = causal_softmax_probs(q, k, attn_scale());
    if (probe && *probe) (*probe)(layer, probs.detach());
    a = torch::matmul(probs, v);
  }
  a = a.transpose(1, 2).contiguous().view({B, T, C});  // [B, T, C]
  return conv1d(a, attn_proj_w, attn_proj_b);
}

torch::Tensor Gpt2BlockImpl::attention_probs(const torch::Tensor& x) {
  torch::NoGradGuard ng;
  const int64_t C = cfg.n_embd, H = cfg.n_head;
  auto h = torch::layer_norm(x, {C}, ln_1_w, ln_1_b, cfg.layer_norm_epsilon);
  auto qk = conv1d(h, c_attn_w.narrow(1, 0, 2 * C), c_attn_b.narrow(0, 0, 2 * C));  // [B, T, 2C]: no values
  auto parts = qk.split(C, -1);
  auto q = split_heads(parts[0], H), k = split_heads(parts[1], H);
  return variant ? variant->effective_attention(q, k, h) : causal_softmax_probs(q, k, attn_scale());
}

torch::Tensor Gpt2BlockImpl::forward(const torch::Tensor& x, const AttentionProbe* probe) {
  const double eps = cfg.layer_norm_epsilon;
  auto h = torch::layer_norm(x, {cfg.n_embd}, ln_1_w, ln_1_b, eps);
  const bool drop = dropout > 0 && is_training();
  auto a = attention(h, probe);
  auto y = x + (drop ? torch::dropout(a, dropout, true) : a);
  auto m = torch::layer_norm(y, {cfg.n_embd}, ln_2_w, ln_2_b, eps);
  m = conv1d(activation(conv1d(m, c_fc_w, c_fc_b), cfg.activation_function), mlp_proj_w, mlp_proj_b);
  return y + (drop ? torch::dropout(m, dropout, true) : m);
}

// ---------------------------------------------------------------------------------------------
Gpt2Impl::Gpt2Impl(const Gpt2Config& c) : cfg(c) {
  const int64_t C = cfg.n_embd;
  wte = register_parameter("wte_weight", torch::empty({cfg.vocab_size, C}), false);
  wpe = register_parameter("wpe_weight", torch::empty({cfg.n_positions, C}), false);
  ln_f_w = register_parameter("ln_f_weight", torch::ones({C}), false);
  ln_f_b = register_parameter("ln_f_bias", torch::zeros({C}), false);
  if (!cfg.tie_word_embeddings)
    lm_head_w = register_parameter("lm_head_weight", torch::empty({cfg.vocab_size, C}), false);
  h = register_module("h", torch::nn::ModuleList());
  for (int i = 0; i < cfg.n_layer; ++i) {
    block_list.emplace_back(cfg, i);
    h->push_back(block_list.back());
  }
}

torch::Tensor Gpt2Impl::embed(const torch::Tensor& ids) {
  TORCH_CHECK(ids.dim() == 2, "token ids must be [B, T]");
  const int64_t T = ids.size(1);
  if (T > cfg.n_positions)
    throw Error("sequence of " + std::to_string(T) + " tokens exceeds the model's n_positions = " +
                std::to_string(cfg.n_positions));
  auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
  auto e = torch::embedding(wte, ids) + torch::embedding(wpe, pos).unsqueeze(0);
  return dropout > 0 && is_training() ? torch::dropout(e, dropout, true) : e;
}

torch::Tensor Gpt2Impl::blocks(torch::Tensor x, int from, int to, const AttentionProbe* probe) {
  for (int i = from; i < to; ++i) x = block_list[i]->forward(x, probe);
  return x;
}

torch::Tensor Gpt2Impl::final_norm(const torch::Tensor& x) {
  return torch::layer_norm(x, {cfg.n_embd}, ln_f_w, ln_f_b, cfg.layer_norm_epsilon);
}

torch::Tensor Gpt2Impl::lm_head(const torch::Tensor& x) {
  const auto& w = lm_head_w.defined() ? lm_head_w : wte;
  auto sizes = x.sizes().vec();
  sizes.back() = w.size(0);
  return torch::mm(x.reshape({-1, x.size(-1)}), w.t()).view(sizes);
}

torch::Tensor Gpt2Impl::hidden(const torch::Tensor& ids, const AttentionProbe* probe) {
  return final_norm(blocks(embed(ids), 0, static_cast<int>(cfg.n_layer), probe));
}

torch::Tensor Gpt2Impl::forward(const torch::Tensor& ids) { return lm_head(hidden(ids)); }

void Gpt2Impl::set_dropout(double p) {
  if (!(p >= 0 && p < 1)) throw Error("dropout must be in [0, 1), got " + std::to_string(p));
  dropout = p;
  for (auto& b : block_list) b->dropout = p;
}

void Gpt2Impl::set_variant(int layer, VariantPtr v) {
  TORCH_CHECK(layer >= 0 && layer < cfg.n_layer, "layer out of range");
  auto& b = block_list[layer];
  if (b->variant) b->unregister_module("variant");
  b->variant = v;
  if (v) b->register_module("variant", v);
}

std::vector<std::pair<std::string, torch::Tensor>> Gpt2Impl::hf_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.emplace_back("wte.weight", wte);
  out.emplace_back("wpe.weight", wpe);
  for (int i = 0; i < cfg.n_layer; ++i) {
    const auto& b = block_list[i];
    const std::string p = "h." + std::to_string(i) + ".";
    out.emplace_back(p + "ln_1.weight", b->ln_1_w);
    out.emplace_back(p + "ln_1.bias", b->ln_1_b);
    out.emplace_back(p + "attn.c_attn.weight", b->c_attn_w);
    out.emplace_back(p + "attn.c_attn.bias", b->c_attn_b);
    out.emplace_back(p + "attn.c_proj.weight", b->attn_proj_w);
    out.emplace_back(p + "attn.c_proj.bias", b->attn_proj_b);
    out.emplace_back(p + "ln_2.weight", b->ln_2_w);
    out.emplace_back(p + "ln_2.bias", b->ln_2_b);
    out.emplace_back(p + "mlp.c_fc.weight", b->c_fc_w);
    out.emplace_back(p + "mlp.c_fc.bias", b->c_fc_b);
    out.emplace_back(p + "mlp.c_proj.weight", b->mlp_proj_w);
    out.emplace_back(p + "mlp.c_proj.bias", b->mlp_proj_b);
  }
  out.emplace_back("ln_f.weight", ln_f_w);
  out.emplace_back("ln_f.bias", ln_f_b);
  if (lm_head_w.defined()) out.emplace_back("lm_head.weight", lm_head_w);
  return out;
}

std::shared_ptr<Gpt2Impl> Gpt2Impl::clone_reference() const {
  auto m = std::make_shared<Gpt2Impl>(cfg);
  auto src = hf_tensors();
  auto dst = m->hf_tensors();
  torch::NoGradGuard ng;
  for (size_t i = 0; i < src.size(); ++i) dst[i].second.copy_(src[i].second);
  m->to(wte.device());
  return m;
}

// ---------------------------------------------------------------------------------------------
namespace {

struct TensorSource {
  std::vector<std::shared_ptr<SafetensorsFile>> files;
  std::map<std::string, SafetensorsFile*> where;  // name -> file
};

TensorSource open_weights(const std::filesystem::path& dir) {
  TensorSource src;
  auto single = dir / "model.safetensors";
  auto index = dir / "model.safetensors.index.json";
  if (std::filesystem::exists(single)) {
    src.files.push_back(SafetensorsFile::open(single));
  } else if (std::filesystem::exists(index)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text_file(index));
    } catch (const nlohmann::json::exception& e) {
      throw Error(index.string() + ": not valid JSON: " + e.what());
    }
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(index.string() + ": expected a 'weight_map' object");
    std::set<std::string> shards;
    for (auto& [k, v] : j["weight_map"].items()) shards.insert(v.get<std::string>());
    for (auto& s : shards) {
      if (s.find('/') != std::string::npos || s.find("..") != std::string::npos)
        throw Error(index.string() + ": shard name '" + s + "' must be a plain file name");
      src.files.push_back(SafetensorsFile::open(dir / s));
    }
  } else {
    for (const char* pickled : {"pytorch_model.bin", "model.ckpt", "tf_model.h5", "flax_model.msgpack"})
      if (std::filesystem::exists(dir / pickled))
        throw Error("model directory '" + dir.string() + "' has only " + pickled +
                    ": AttnLab loads safetensors only (pickled checkpoints can execute code when loaded). "
                    "Convert it with Python: GPT2LMHeadModel.from_pretrained(dir).save_pretrained(dir, "
                    "safe_serialization=True), or download the model's model.safetensors.");
    throw Error("model directory '" + dir.string() + "' has no model.safetensors (nor a sharded index)");
  }
  for (auto& f : src.files)
    for (auto& [name, e] : f->entries()) src.where[name] = f.get();
  return src;
}

}  // namespace

Gpt2 load_gpt2(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir))
    throw Error("model directory '" + dir.string() + "' does not exist or is not a directory");
  auto cfg_path = dir / "config.json";
  if (!std::filesystem::exists(cfg_path)) throw Error("model directory '" + dir.string() + "' has no config.json");
  Gpt2Config cfg = Gpt2Config::load(cfg_path);
  TensorSource src = open_weights(dir);
  Gpt2 model(cfg);
  const int64_t C = cfg.n_embd;
  std::set<std::string> used;
  auto expected = model->hf_tensors();
  torch::NoGradGuard ng;
  for (auto& [name, target] : expected) {
    std::string found;
    for (const std::string& cand : {name, "transformer." + name})
      if (src.where.count(cand)) found = cand;
    if (found.empty())
      throw Error("model '" + dir.string() + "': missing tensor '" + name + "' (expected shape " +
                  c10::str(target.sizes()) + ")");
    SafetensorsFile* f = src.where[found];
    const auto& e = f->entry(found);
    if (e.dtype != "F32" && e.dtype != "F16" && e.dtype != "BF16")
      throw Error("model '" + dir.string() + "': tensor '" + found + "' has dtype " + e.dtype +
                  ", expected F32, F16 or BF16");
    if (e.shape != target.sizes().vec())
      throw Error("model '" + dir.string() + "': tensor '" + found + "' has shape " + c10::str(c10::IntArrayRef(e.shape)) +
                  ", expected " + c10::str(target.sizes()) + " for config n_embd=" + std::to_string(C) +
                  " n_head=" + std::to_string(cfg.n_head) + " vocab_size=" + std::to_string(cfg.vocab_size) +
                  " n_positions=" + std::to_string(cfg.n_positions));
    used.insert(found);
    target.set_data(f->tensor_f32(found));  // zero-copy view of the mapping for F32
  }
  model->backing = src.files.empty() ? nullptr : src.files.front();
  // Keep every shard alive: the tensors' deleters hold shared_ptrs to their files.
  return model;
}

Gpt2 random_gpt2(const Gpt2Config& cfg, uint64_t seed) {
  Gpt2 m(cfg);
  torch::NoGradGuard ng;
  auto gen = at::detail::createCPUGenerator(seed);
  const double std0 = 0.02, std_proj = 0.02 / std::sqrt(2.0 * cfg.n_layer);
  for (auto& [name, t] : m->hf_tensors()) {
    bool is_weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    bool is_ln = name.find("ln_") != std::string::npos;
    if (is_ln) continue;  // ones / zeros already
    if (!is_weight) continue;  // biases zero
    bool proj = name.find("c_proj.weight") != std::string::npos;
    t.normal_(0.0, proj ? std_proj : std0, gen);
  }
  return m;
}

namespace {
inline uint64_t splitmix64(uint64_t z) {
  z ^= z >> 30;
  z *= 0xBF58476D1CE4E5B9ull;
  z ^= z >> 27;
  z *= 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

Gpt2 hash_gpt2(const Gpt2Config& cfg, uint64_t seed) {
  Gpt2 m(cfg);
  torch::NoGradGuard ng;
  const float amp_w = static_cast<float>(0.02 * std::sqrt(3.0));
  const float amp_proj = static_cast<float>(0.02 / std::sqrt(2.0 * cfg.n_layer) * std::sqrt(3.0));
  auto tensors = m->hf_tensors();
  for (size_t t = 0; t < tensors.size(); ++t) {
    const std::string& name = tensors[t].first;
    auto out = torch::empty(tensors[t].second.sizes(), torch::kFloat32);
    float* p = out.data_ptr<float>();
    const bool is_ln = name.find("ln_") != std::string::npos;
    const bool is_weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    const bool proj = name.find("c_proj.weight") != std::string::npos;
    const uint64_t base = seed * 0x9E3779B97F4A7C15ull + (t + 1) * 0xBF58476D1CE4E5B9ull;
    for (int64_t i = 0; i < out.numel(); ++i) {
      uint64_t z = splitmix64(base + static_cast<uint64_t>(i));
      float u = static_cast<float>(static_cast<int64_t>(z >> 40)) / 8388608.0f - 1.0f;  // [-1, 1), exact
      if (is_ln) p[i] = is_weight ? 1.0f + 0.1f * u : 0.1f * u;
      else if (is_weight) p[i] = u * (proj ? amp_proj : amp_w);
      else p[i] = 0.02f * u;
    }
    tensors[t].second.set_data(out);
  }
  return m;
}

void save_gpt2(const Gpt2& model, const std::filesystem::path& dir, torch::ScalarType dtype,
               const std::filesystem::path& tokenizer_dir) {
  std::filesystem::create_directories(dir);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& [name, t] : model->hf_tensors()) out.emplace_back(name, t.detach().to(torch::kCPU).to(dtype));
  save_safetensors(dir / "model.safetensors", out, {{"format", "pt"}});
  write_file_atomic(dir / "config.json", model->cfg.to_json().dump(2) + "\n");
  if (!tokenizer_dir.empty()) {
    for (const char* f : {"vocab.json", "merges.txt"}) {
      auto from = tokenizer_dir / f;
      if (std::filesystem::exists(from)) write_file_atomic(dir / f, read_text_file(from));
    }
  }
}

}  // namespace attnlab
