// The distillation loop (see distill.h). One step:
//   1. reference, no autograd: embeddings + the layers both models share -> h_shared;
//      the rest of the reference -> final hidden h_ref (never its [B,T,V] logits at once);
//   2. custom from h_shared through its own layers (variants) -> h_custom;
//   3. KL(P_ref || P_custom) chunk by chunk over tokens (both LM heads per chunk), its
//      gradient gathered at h_custom, then one backward through the custom layers;
//   4. + the variants' regularisers; non-finite loss/gradients skip the step; clip; AdamW.
#include "train/distill.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/fs.h"
#include "data/corpus.h"
#include "eval/evaluate.h"
#include "train/run_store.h"
#include "train/setup.h"

namespace attnlab {

namespace {

using Clock = std::chrono::steady_clock;

double lr_at(const DistillConfig& c, int64_t step) {  // step is 1-based
  if (c.warmup > 0 && step <= c.warmup) return c.lr * static_cast<double>(step) / c.warmup;
  if (c.schedule == "constant") return c.lr;
  double t = c.steps > c.warmup ? static_cast<double>(step - c.warmup) / (c.steps - c.warmup) : 1.0;
  t = std::min(1.0, std::max(0.0, t));
  double floor = c.lr * c.min_lr_ratio;
  if (c.schedule == "linear") return floor + (c.lr - floor) * (1.0 - t);
  return floor + 0.5 * (c.lr - floor) * (1.0 + std::cos(M_PI * t));
}

struct Checkpoint {
  int64_t step = 0, tokens = 0;
  double elapsed_s = 0;
  int64_t sampler_epoch = 0, sampler_pos = 0;
};

std::string optimizer_bytes(torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive ar;
  opt.save(ar);
  std::ostringstream os;
  ar.save_to(os);
  return os.str();
}

void optimizer_load(torch::optim::Optimizer& opt, const std::string& bytes) {
  torch::serialize::InputArchive ar;
  std::istringstream is(bytes);
  ar.load_from(is);
  opt.load(ar);
}

class Trainer {
 public:
  Trainer(const DistillConfig& cfg, const std::filesystem::path& run_dir, bool resume, DistillObserver* obs,
          RunControl* ctl)
      : cfg_(cfg), dir_(run_dir), resume_(resume), obs_(obs), ctl_(ctl) {}

  std::string run() {
    if (cfg_.threads > 0) torch::set_num_threads(cfg_.threads);
    else torch::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    setup_ = build_setup(cfg_);
    auto data = resolve_data_path(cfg_.data);
    train_ = std::make_unique<BlockDataset>(load_split_tokens(data, "train", *setup_->tok), cfg_.seq_len);
    valid_tokens_ = load_split_tokens(data, "valid", *setup_->tok);
    if (static_cast<int64_t>(valid_tokens_.size()) < cfg_.seq_len)
      throw Error("validation split of '" + data.string() + "' has fewer than seq_len tokens");
    for (auto& [n, t] : setup_->trainable) params_.push_back(t);
    if (params_.empty()) throw Error("variant '" + cfg_.variant + "' with train_params='" + cfg_.train_params +
                                     "' has nothing to train (use --steps 0 evaluation, or --train-params attention)");
    opt_ = std::make_unique<torch::optim::AdamW>(
        params_, torch::optim::AdamWOptions(cfg_.lr).weight_decay(cfg_.weight_decay).betas({0.9, 0.999}));
    sampler_.n = train_->num_blocks();
    sampler_.seed = cfg_.seed;
    std::filesystem::create_directories(dir_ / "checkpoints");
    if (resume_) {
      restore();
    } else {
      nlohmann::json c = cfg_.to_json();
      c["attnlab_version"] = "0.1.0";
      write_file_atomic(dir_ / "config.json", c.dump(2) + "\n");
    }
    metrics_ = std::make_unique<MetricsWriter>(dir_ / "metrics.jsonl");
    RunInfo info;
    info.run_dir = dir_.string();
    info.config = cfg_;
    info.start_step = ck_.step;
    info.n_layer = setup_->ref->cfg.n_layer;
    info.n_head = setup_->ref->cfg.n_head;
    for (auto& p : params_) info.trainable_parameters += p.numel();
    info.density = setup_->density(cfg_.seq_len);
    if (obs_) obs_->on_start(info);
    event(resume_ ? "resumed" : "started", {{"step", ck_.step}, {"trainable_parameters", info.trainable_parameters}});
    if (!resume_) emit_coefficients(0);

    std::string status = "finished";
    const auto t_start = Clock::now();
    const double elapsed0 = ck_.elapsed_s;
    double tok_rate_ema = 0;
    const int64_t coef_every = std::max<int64_t>(1, cfg_.steps / 2000);
    for (int64_t step = ck_.step + 1; step <= cfg_.steps; ++step) {
      if (ctl_ && ctl_->pause.load()) {
        event("paused", {{"step", step - 1}});
        while (ctl_->pause.load() && !ctl_->stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!ctl_->stop.load()) event("resumed", {{"step", step - 1}});
      }
      if (ctl_ && ctl_->stop.load()) {
        status = "stopped";
        break;
      }
      auto t0 = Clock::now();
      StepMetrics m = train_step(step);
      double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      m.step_time_s = dt;
      m.elapsed_s = elapsed0 + std::chrono::duration<double>(Clock::now() - t_start).count();
      double rate = cfg_.batch * cfg_.seq_len / std::max(dt, 1e-9);
      tok_rate_ema = tok_rate_ema == 0 ? rate : 0.8 * tok_rate_ema + 0.2 * rate;
      m.tokens_per_s = rate;
      ck_.step = step;
      ck_.elapsed_s = m.elapsed_s;
      metrics_->write({{"split", "train"}, {"step", m.step}, {"tokens", m.tokens}, {"kl", m.kl}, {"reg", m.reg},
                       {"loss", m.loss}, {"lr", m.lr}, {"grad_norm", m.grad_norm}, {"tokens_per_s", m.tokens_per_s},
                       {"step_time_s", m.step_time_s}, {"elapsed_s", m.elapsed_s}, {"skipped", m.skipped}});
      if (obs_) obs_->on_step(m);
      if (step % coef_every == 0 || step == cfg_.steps) emit_coefficients(step);
      if (cfg_.eval_every > 0 && step % cfg_.eval_every == 0 && step != cfg_.steps) run_eval(step);
      if (cfg_.checkpoint_every > 0 && step % cfg_.checkpoint_every == 0 && step != cfg_.steps) save_checkpoint();
    }
    if (status == "finished") run_eval(ck_.step);
    save_checkpoint();
    event(status, {{"step", ck_.step}});
    if (obs_) obs_->on_finish(status);
    return status;
  }

 private:
  StepMetrics train_step(int64_t step) {
    StepMetrics m;
    m.step = step;
    m.total_steps = cfg_.steps;
    const double lr = lr_at(cfg_, step);
    for (auto& g : opt_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    m.lr = lr;
    // Variant hooks (Performer redraws, mask-mix pruning) before the step.
    auto sink = [this](const std::string& kind, const nlohmann::json& d) { event(kind, d); };
    for (int l : setup_->layers) setup_->custom->block_list[l]->variant->on_step(step, cfg_.steps, sink);

    auto idx = sampler_.next(cfg_.batch);
    ck_.sampler_epoch = sampler_.epoch;
    ck_.sampler_pos = sampler_.pos;
    auto ids = train_->blocks(idx).to(setup_->device);
    const int64_t B = ids.size(0), T = ids.size(1), C = setup_->ref->cfg.n_embd;
    const int n = static_cast<int>(setup_->ref->cfg.n_layer);
    torch::Tensor shared, href;
    {
      torch::NoGradGuard ng;  // the reference never builds a graph
      shared = setup_->ref->blocks(setup_->ref->embed(ids), 0, setup_->first_shared);
      href = setup_->ref->final_norm(setup_->ref->blocks(shared, setup_->first_shared, n)).reshape({B * T, C});
    }
    opt_->zero_grad();
    auto input = setup_->first_shared == 0 ? setup_->custom->embed(ids) : shared;
    auto hcus = setup_->custom->final_norm(setup_->custom->blocks(input, setup_->first_shared, n)).reshape({B * T, C});
    const double inv_n = 1.0 / static_cast<double>(B * T);
    torch::Tensor grad_h;
    double kl_sum = chunked_kl(*setup_, href, hcus, cfg_.kl_chunk_tokens, inv_n, &grad_h);
    m.kl = kl_sum * inv_n;
    torch::Tensor reg_total;
    for (int l : setup_->layers) {
      auto r = setup_->custom->block_list[l]->variant->regularizer();
      if (r.defined()) reg_total = reg_total.defined() ? reg_total + r : r;
    }
    m.reg = reg_total.defined() ? reg_total.item<double>() : 0.0;
    m.loss = m.kl + m.reg;
    bool finite = std::isfinite(m.loss) && grad_h.defined() && torch::isfinite(grad_h).all().item<bool>();
    if (finite) {
      if (reg_total.defined()) {
        torch::autograd::backward({hcus, reg_total}, {grad_h, torch::ones_like(reg_total)});
      } else {
        hcus.backward(grad_h);
      }
      m.grad_norm = cfg_.clip > 0 ? torch::nn::utils::clip_grad_norm_(params_, cfg_.clip)
                                  : torch::nn::utils::clip_grad_norm_(params_, 1e30);
      finite = std::isfinite(m.grad_norm);
    }
    if (!finite) {
      opt_->zero_grad();
      m.skipped = true;
      event("nan_skip", {{"step", step}, {"loss", std::isfinite(m.loss) ? m.loss : -1.0}});
    } else {
      opt_->step();
    }
    ck_.tokens += B * T;
    m.tokens = ck_.tokens;
    return m;
  }

  void run_eval(int64_t step) {
    auto e = evaluate_blocks(*setup_, valid_tokens_, cfg_.seq_len, cfg_.eval_batches * cfg_.batch, cfg_.batch);
    e.step = step;
    metrics_->write({{"split", "valid"}, {"step", step}, {"tokens", e.tokens}, {"kl", e.kl}, {"ppl_ref", e.ppl_ref},
                     {"ppl_custom", e.ppl_custom}, {"top1_agreement", e.top1_agreement}, {"density", e.density}});
    if (obs_) obs_->on_eval(e);
  }

  void emit_coefficients(int64_t step) {
    CoefficientSnapshot snap;
    snap.step = step;
    nlohmann::json rows = nlohmann::json::array();
    for (int l : setup_->layers) {
      auto c = setup_->custom->block_list[l]->variant->coefficients();
      if (!c.contains("names") || !c.contains("values") || c["values"].empty()) continue;
      if (snap.names.empty()) snap.names = c["names"].get<std::vector<std::string>>();
      std::vector<double> mean(snap.names.size(), 0.0);
      for (auto& row : c["values"])
        for (size_t k = 0; k < mean.size() && k < row.size(); ++k) mean[k] += row[k].get<double>() / c["values"].size();
      snap.layers.push_back(l);
      snap.values.push_back(mean);
      rows.push_back(c["values"]);
    }
    if (snap.layers.empty()) return;
    metrics_->write({{"split", "coef"}, {"step", step}, {"names", snap.names}, {"layers", snap.layers},
                     {"values", snap.values}, {"per_head", rows}});
    if (obs_) obs_->on_coefficients(snap);
  }

  void event(const std::string& kind, const nlohmann::json& detail) {
    if (metrics_) metrics_->write({{"split", "event"}, {"step", ck_.step}, {"kind", kind}, {"detail", detail}});
    if (obs_) obs_->on_event(kind, detail);
  }

  void save_checkpoint() {
    const auto cdir = dir_ / "checkpoints";
    char name[32];
    std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(ck_.step));
    setup_->save_state(cdir / (std::string(name) + ".safetensors"));
    write_file_atomic(cdir / (std::string(name) + ".optim"), optimizer_bytes(*opt_));
    nlohmann::json latest = {{"step", ck_.step},
                             {"tokens", ck_.tokens},
                             {"elapsed_s", ck_.elapsed_s},
                             {"sampler_epoch", ck_.sampler_epoch},
                             {"sampler_pos", ck_.sampler_pos},
                             {"state", std::string(name) + ".safetensors"},
                             {"optimizer", std::string(name) + ".optim"}};
    write_file_atomic(cdir / "latest.json", latest.dump(2) + "\n");  // the commit point
    // Keep the two newest checkpoints.
    std::vector<std::string> stems;
    for (auto& e : std::filesystem::directory_iterator(cdir))
      if (e.path().extension() == ".safetensors") stems.push_back(e.path().stem().string());
    std::sort(stems.begin(), stems.end());
    for (size_t i = 0; i + 2 < stems.size(); ++i) {
      std::filesystem::remove(cdir / (stems[i] + ".safetensors"));
      std::filesystem::remove(cdir / (stems[i] + ".optim"));
    }
    if (obs_) obs_->on_event("checkpoint", {{"step", ck_.step}});
  }

  void restore() {
    auto cdir = dir_ / "checkpoints";
    auto latest_path = cdir / "latest.json";
    if (!std::filesystem::exists(latest_path))
      throw Error("run directory '" + dir_.string() + "' has no checkpoint to resume from (checkpoints/latest.json)");
    nlohmann::json latest;
    try {
      latest = nlohmann::json::parse(read_text_file(latest_path));
      ck_.step = latest.at("step");
      ck_.tokens = latest.at("tokens");
      ck_.elapsed_s = latest.at("elapsed_s");
      ck_.sampler_epoch = latest.at("sampler_epoch");
      ck_.sampler_pos = latest.at("sampler_pos");
    } catch (const std::exception& e) {
      throw Error(latest_path.string() + ": not a valid checkpoint record: " + e.what());
    }
    setup_->load_state(cdir / latest.at("state").get<std::string>());
    optimizer_load(*opt_, read_text_file(cdir / latest.at("optimizer").get<std::string>()));
    sampler_.epoch = ck_.sampler_epoch;
    sampler_.pos = ck_.sampler_pos;
    truncate_metrics(dir_ / "metrics.jsonl", ck_.step);
    // Persist a raised step budget so that the run directory stays reproducible.
    nlohmann::json c = cfg_.to_json();
    c["attnlab_version"] = "0.1.0";
    write_file_atomic(dir_ / "config.json", c.dump(2) + "\n");
  }

  DistillConfig cfg_;
  std::filesystem::path dir_;
  bool resume_;
  DistillObserver* obs_;
  RunControl* ctl_;
  std::unique_ptr<DistillSetup> setup_;
  std::unique_ptr<BlockDataset> train_;
  std::vector<int32_t> valid_tokens_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::AdamW> opt_;
  std::unique_ptr<MetricsWriter> metrics_;
  BlockSampler sampler_;
  Checkpoint ck_;
};

std::string guarded(const std::function<std::string()>& f, DistillObserver* obs) {
  try {
    return f();
  } catch (const Error& e) {
    if (obs) obs->on_finish(std::string("failed: ") + e.what());
    throw;
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    if (obs) obs->on_finish("failed: " + msg);
    throw Error(msg);
  }
}

}  // namespace

std::string run_distillation(const DistillConfig& cfg, DistillObserver* observer, RunControl* control) {
  return guarded(
      [&] {
        if (cfg.out.empty()) throw Error("config field 'out': a run directory is required");
        if (std::filesystem::exists(std::filesystem::path(cfg.out) / "checkpoints" / "latest.json"))
          throw Error("run directory '" + cfg.out + "' already holds a run: resume it with --resume " + cfg.out +
                      " or choose another --out");
        Trainer t(cfg, cfg.out, false, observer, control);
        return t.run();
      },
      observer);
}

std::string resume_distillation(const std::filesystem::path& run_dir, DistillObserver* observer, RunControl* control,
                                int64_t steps) {
  return guarded(
      [&] {
        auto cfg_path = run_dir / "config.json";
        if (!std::filesystem::exists(cfg_path))
          throw Error("'" + run_dir.string() + "' is not a run directory (no config.json)");
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(read_text_file(cfg_path));
        } catch (const nlohmann::json::exception& e) {
          throw Error(cfg_path.string() + ": not valid JSON: " + e.what());
        }
        j.erase("attnlab_version");
        auto cfg = DistillConfig::from_json(j, cfg_path.string());
        cfg.out = run_dir.string();
        if (steps > 0) cfg.steps = steps;
        Trainer t(cfg, run_dir, true, observer, control);
        return t.run();
      },
      observer);
}

}  // namespace attnlab
