#include "eval/session.h"

#include <mutex>

#include "common/error.h"
#include "common/fs.h"
#include "data/corpus.h"
#include "train/setup.h"

namespace attnlab {

struct ModelPair::Impl {
  std::unique_ptr<DistillSetup> s;
  std::vector<int32_t> valid;

  // The residual stream entering each block for the last input (index n_layer: after the last
  // block), per model; undefined where not computed yet.
  std::mutex cache_mu;
  std::vector<int32_t> cache_ids;
  std::vector<torch::Tensor> ref_in, custom_in;
  int64_t blocks_run = 0;  // whole blocks (both models) run for the inspector

  // Both run with cache_mu held. Makes the input of `layer` known for `ids` (resetting the
  // cache for a new input), running the uncached blocks below it.
  void ensure_input(const std::vector<int32_t>& ids, int layer);
  // Runs block `layer` of both models on their cached inputs, caching the outputs.
  void run_block(int layer, const AttentionProbe* pr, const AttentionProbe* pc);
};

ModelPair::ModelPair(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelPair::~ModelPair() = default;

std::shared_ptr<ModelPair> ModelPair::from_config(const DistillConfig& cfg) {
  auto impl = std::make_unique<Impl>();
  impl->s = build_setup(cfg);
  impl->s->custom->eval();
  return std::shared_ptr<ModelPair>(new ModelPair(std::move(impl)));
}

std::shared_ptr<ModelPair> ModelPair::from_run(const std::filesystem::path& run_dir) {
  auto cfg_path = run_dir / "config.json";
  if (!std::filesystem::exists(cfg_path)) throw Error("'" + run_dir.string() + "' is not a run directory (no config.json)");
  auto j = nlohmann::json::parse(read_text_file(cfg_path));
  j.erase("attnlab_version");
  auto cfg = DistillConfig::from_json(j, cfg_path.string());
  cfg.device = "cpu";
  auto pair = from_config(cfg);
  auto latest = run_dir / "checkpoints" / "latest.json";
  if (std::filesystem::exists(latest)) {
    auto l = nlohmann::json::parse(read_text_file(latest));
    pair->impl_->s->load_state(run_dir / "checkpoints" / l.at("state").get<std::string>());
  }
  return pair;
}

int64_t ModelPair::n_layer() const { return impl_->s->ref->cfg.n_layer; }
int64_t ModelPair::n_head() const { return impl_->s->ref->cfg.n_head; }
int64_t ModelPair::n_positions() const { return impl_->s->ref->cfg.n_positions; }
const DistillConfig& ModelPair::config() const { return impl_->s->cfg; }
const Gpt2Tokenizer& ModelPair::tokenizer() const { return *impl_->s->tok; }

std::vector<std::string> ModelPair::token_labels(const std::vector<int32_t>& ids) const {
  std::vector<std::string> out;
  for (auto id : ids) {
    std::string b = impl_->s->tok->token_bytes(id), label;
    for (unsigned char c : b) {
      if (c == ' ') label += "\xC2\xB7";          // middle dot for spaces
      else if (c == '\n') label += "\xE2\x86\xB5";  // ↵
      else if (c == '\t') label += "\xE2\x86\x92";  // →
      else label += static_cast<char>(c);
    }
    out.push_back(label);
  }
  return out;
}

std::vector<int32_t> ModelPair::validation_sample(int64_t T, int64_t index) const {
  if (impl_->valid.empty())
    impl_->valid = load_split_tokens(resolve_data_path(impl_->s->cfg.data), "valid", *impl_->s->tok);
  T = std::min<int64_t>(T, n_positions());
  int64_t n = static_cast<int64_t>(impl_->valid.size()) / T;
  if (n == 0) throw Error("validation split is shorter than " + std::to_string(T) + " tokens");
  int64_t b = ((index % n) + n) % n;
  return std::vector<int32_t>(impl_->valid.begin() + b * T, impl_->valid.begin() + (b + 1) * T);
}

namespace {
torch::Tensor ids_tensor(const std::vector<int32_t>& ids, int64_t max_len) {
  if (ids.empty()) throw Error("no tokens");
  if (static_cast<int64_t>(ids.size()) > max_len)
    throw Error(std::to_string(ids.size()) + " tokens exceed the model's context of " + std::to_string(max_len));
  std::vector<int64_t> v(ids.begin(), ids.end());
  return torch::tensor(v, torch::kLong).unsqueeze(0);
}
std::vector<float> to_vec(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU).to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}
}  // namespace

void ModelPair::Impl::ensure_input(const std::vector<int32_t>& ids, int layer) {
  const int n = static_cast<int>(s->ref->cfg.n_layer);
  torch::NoGradGuard ng;
  if (ids != cache_ids || static_cast<int>(ref_in.size()) != n + 1) {
    auto x = ids_tensor(ids, s->ref->cfg.n_positions).to(s->device);
    cache_ids = ids;
    ref_in.assign(n + 1, torch::Tensor());
    custom_in.assign(n + 1, torch::Tensor());
    ref_in[0] = s->ref->embed(x);
    custom_in[0] = s->custom->embed(x);
  }
  int from = layer;
  while (from > 0 && !(ref_in[from].defined() && custom_in[from].defined())) --from;
  for (int l = from; l < layer; ++l) run_block(l, nullptr, nullptr);
}

void ModelPair::Impl::run_block(int layer, const AttentionProbe* pr, const AttentionProbe* pc) {
  torch::NoGradGuard ng;
  ref_in[layer + 1] = s->ref->blocks(ref_in[layer], layer, layer + 1, pr);
  custom_in[layer + 1] = s->custom->blocks(custom_in[layer], layer, layer + 1, pc);
  ++blocks_run;
}

int64_t ModelPair::blocks_run() const {
  std::lock_guard<std::mutex> lock(impl_->cache_mu);
  return impl_->blocks_run;
}

LayerAttention ModelPair::attention(const std::vector<int32_t>& ids, int layer) const {
  if (layer < 0 || layer >= n_layer()) throw Error("layer " + std::to_string(layer) + " out of range");
  ids_tensor(ids, n_positions());  // validates the input before the cache is touched
  torch::NoGradGuard ng;
  torch::Tensor pr, pc;
  {
    std::lock_guard<std::mutex> lock(impl_->cache_mu);
    impl_->ensure_input(ids, layer);
    // Only the probabilities: no values, no MLP.
    pr = impl_->s->ref->block_list[layer]->attention_probs(impl_->ref_in[layer])[0];
    pc = impl_->s->custom->block_list[layer]->attention_probs(impl_->custom_in[layer])[0];
  }
  LayerAttention out;
  out.layer = layer;
  out.n_head = pr.size(0);
  out.T = pr.size(1);
  for (int64_t h = 0; h < out.n_head; ++h) {
    out.ref.push_back(to_vec(pr[h]));
    out.custom.push_back(to_vec(pc[h]));
  }
  // Row KL(ref || custom), mean over heads; tiny floor so that log(0) never appears.
  auto a = pr.clamp_min(1e-12), b = pc.clamp_min(1e-12);
  out.row_kl = to_vec((pr * (a.log() - b.log())).sum(-1).mean(0));
  return out;
}

AttentionOverview ModelPair::overview(const std::vector<int32_t>& ids, int64_t size, int first, int last) const {
  if (last < 0) last = static_cast<int>(n_layer()) - 1;
  if (first < 0 || first > last || last >= n_layer())
    throw Error("overview layers " + std::to_string(first) + ".." + std::to_string(last) + " out of range");
  if (size < 1) throw Error("overview thumbnail size must be >= 1");
  ids_tensor(ids, n_positions());
  torch::NoGradGuard ng;
  AttentionOverview ov;
  ov.n_layer = n_layer();
  ov.n_head = n_head();
  ov.T = static_cast<int64_t>(ids.size());
  ov.size = std::min<int64_t>(size, ov.T);
  ov.ref.resize(ov.n_layer * ov.n_head);
  ov.custom.resize(ov.n_layer * ov.n_head);
  auto pool = [&](const torch::Tensor& p) {  // [H, T, T] -> [H, size, size]
    return torch::adaptive_avg_pool2d(p, {ov.size, ov.size});
  };
  AttentionProbe probe_r = [&](int l, const torch::Tensor& p) {
    auto q = pool(p[0]);
    for (int64_t h = 0; h < ov.n_head; ++h) ov.ref[l * ov.n_head + h] = to_vec(q[h]);
  };
  AttentionProbe probe_c = [&](int l, const torch::Tensor& p) {
    auto q = pool(p[0]);
    for (int64_t h = 0; h < ov.n_head; ++h) ov.custom[l * ov.n_head + h] = to_vec(q[h]);
  };
  std::lock_guard<std::mutex> lock(impl_->cache_mu);
  for (int l = first; l <= last; ++l) {
    impl_->ensure_input(ids, l);
    if (impl_->ref_in[l + 1].defined() && impl_->custom_in[l + 1].defined()) {
      // The next input is known: the probabilities alone.
      probe_r(l, impl_->s->ref->block_list[l]->attention_probs(impl_->ref_in[l]));
      probe_c(l, impl_->s->custom->block_list[l]->attention_probs(impl_->custom_in[l]));
    } else {
      impl_->run_block(l, &probe_r, &probe_c);  // the whole block: caches the next input too
    }
  }
  return ov;
}

CompletionPair ModelPair::compare(const std::string& prompt, const GenerateOptions& opt,
                                  const std::atomic<bool>* cancel) const {
  auto& s = *impl_->s;
  CompletionPair out;
  out.prompt_ids = s.tok->encode(prompt);
  if (out.prompt_ids.empty()) throw Error("the prompt is empty");
  out.ref_ids = generate(*s.ref, out.prompt_ids, opt, cancel);
  out.custom_ids = generate(*s.custom, out.prompt_ids, opt, cancel);
  for (auto id : out.ref_ids) out.ref_tokens.push_back(s.tok->decode({id}));
  for (auto id : out.custom_ids) out.custom_tokens.push_back(s.tok->decode({id}));
  out.ref_text = s.tok->decode(out.ref_ids);
  out.custom_text = s.tok->decode(out.custom_ids);
  size_t n = std::min(out.ref_ids.size(), out.custom_ids.size());
  for (size_t i = 0; i < n; ++i)
    if (out.ref_ids[i] != out.custom_ids[i]) {
      out.first_divergence = static_cast<int>(i);
      break;
    }
  if (out.first_divergence < 0 && out.ref_ids.size() != out.custom_ids.size()) out.first_divergence = static_cast<int>(n);
  // Per-token KL on the custom sequence: both models read prompt + custom tokens; the KL at
  // the position that produced custom token i.
  if (!out.custom_ids.empty()) {
    torch::NoGradGuard ng;
    std::vector<int32_t> seq = out.prompt_ids;
    seq.insert(seq.end(), out.custom_ids.begin(), out.custom_ids.end() - 1);
    int64_t start = std::max<int64_t>(0, static_cast<int64_t>(seq.size()) - n_positions());
    std::vector<int32_t> win(seq.begin() + start, seq.end());
    auto x = ids_tensor(win, n_positions()).to(s.device);
    auto lr = torch::log_softmax(s.ref->forward(x)[0], -1);
    auto lc = torch::log_softmax(s.custom->forward(x)[0], -1);
    auto kl = (lr.exp() * (lr - lc)).sum(-1);  // [T]
    int64_t first = static_cast<int64_t>(out.prompt_ids.size()) - 1 - start;
    for (size_t i = 0; i < out.custom_ids.size(); ++i) {
      int64_t pos = first + static_cast<int64_t>(i);
      out.custom_token_kl.push_back(pos >= 0 && pos < kl.size(0) ? kl[pos].item<double>() : 0.0);
    }
  }
  return out;
}

}  // namespace attnlab
