#include "train/pretrain.h"

#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/fs.h"
#include "data/corpus.h"
#include "model/gpt2.h"
#include "train/run_store.h"
#include "train/setup.h"

namespace attnlab {

nlohmann::json PretrainConfig::to_json() const {
  return {{"model", model.to_json()}, {"data", data}, {"seq_len", seq_len}, {"batch", batch}, {"steps", steps},
          {"lr", lr}, {"weight_decay", weight_decay}, {"min_lr_ratio", min_lr_ratio}, {"clip", clip},
          {"dropout", dropout}, {"warmup", warmup}, {"eval_every", eval_every}, {"eval_batches", eval_batches},
          {"checkpoint_every", checkpoint_every}, {"threads", threads}, {"seed", seed}, {"device", device},
          {"dtype", dtype}, {"out", out}, {"init", init}};
}

PretrainConfig PretrainConfig::from_json(const nlohmann::json& j, const std::string& source) {
  PretrainConfig c;
  try {
    if (j.contains("model")) c.model = Gpt2Config::from_json(j["model"], source + " (model)");
    c.data = j.value("data", c.data);
    c.seq_len = j.value("seq_len", c.seq_len);
    c.batch = j.value("batch", c.batch);
    c.steps = j.value("steps", c.steps);
    c.lr = j.value("lr", c.lr);
    c.weight_decay = j.value("weight_decay", c.weight_decay);
    c.min_lr_ratio = j.value("min_lr_ratio", c.min_lr_ratio);
    c.clip = j.value("clip", c.clip);
    c.dropout = j.value("dropout", c.dropout);
    c.warmup = j.value("warmup", c.warmup);
    c.eval_every = j.value("eval_every", c.eval_every);
    c.eval_batches = j.value("eval_batches", c.eval_batches);
    c.checkpoint_every = j.value("checkpoint_every", c.checkpoint_every);
    c.threads = j.value("threads", c.threads);
    c.seed = j.value("seed", c.seed);
    c.device = j.value("device", c.device);
    c.dtype = j.value("dtype", c.dtype);
    c.out = j.value("out", c.out);
    c.init = j.value("init", c.init);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": " + e.what());
  }
  return c;
}

namespace {
using Clock = std::chrono::steady_clock;

torch::Tensor lm_loss(Gpt2Impl& m, const torch::Tensor& ids) {
  auto h = m.hidden(ids.slice(1, 0, ids.size(1) - 1));
  auto logits = m.lm_head(h);
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                              ids.slice(1, 1, ids.size(1)).reshape({-1}));
}
}  // namespace

std::string run_pretraining(const PretrainConfig& cfg, DistillObserver* obs, RunControl* ctl, bool resume) {
  if (cfg.out.empty()) throw Error("pretrain: --out RUN_DIR is required");
  if (cfg.init.empty() && cfg.seq_len > cfg.model.n_positions)
    throw Error("pretrain: seq_len " + std::to_string(cfg.seq_len) + " exceeds n_positions " +
                std::to_string(cfg.model.n_positions));
  torch::set_num_threads(cfg.threads > 0 ? cfg.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  torch::Device device(cfg.device);
  std::filesystem::path dir(cfg.out);
  std::filesystem::create_directories(dir / "checkpoints");
  auto tok = Gpt2Tokenizer::bundled();
  auto data = resolve_data_path(cfg.data);
  // seq_len + 1 tokens per block: inputs and shifted targets.
  BlockDataset train(load_split_tokens(data, "train", tok), cfg.seq_len + 1);
  BlockDataset valid(load_split_tokens(data, "valid", tok), cfg.seq_len + 1);
  Gpt2Config mc = cfg.model;
  std::shared_ptr<Gpt2Impl> init;  // continued pretraining: the starting weights and architecture
  if (!cfg.init.empty()) {
    init = load_gpt2(cfg.init).ptr();
    mc = init->cfg;
    if (mc.vocab_size != static_cast<int64_t>(tok.vocab_size()))
      throw Error("pretrain: " + (std::filesystem::path(cfg.init) / "config.json").string() + ": vocab_size " +
                  std::to_string(mc.vocab_size) + " does not match the GPT-2 tokenizer (" +
                  std::to_string(tok.vocab_size()) + ")");
    if (cfg.seq_len > mc.n_positions)
      throw Error("pretrain: seq_len " + std::to_string(cfg.seq_len) + " exceeds n_positions " +
                  std::to_string(mc.n_positions) + " of the init model " + cfg.init);
  }
  mc.vocab_size = static_cast<int64_t>(tok.vocab_size());
  if (!(cfg.dropout >= 0 && cfg.dropout < 1))
    throw Error("pretrain: dropout must be in [0, 1), got " + std::to_string(cfg.dropout));
  auto model = random_gpt2(mc, cfg.seed);
  if (init) {  // (a resumed run overwrites these with its checkpoint below)
    torch::NoGradGuard ng;
    auto src = init->hf_tensors();
    auto dst = model->hf_tensors();
    if (src.size() != dst.size()) throw Error("pretrain: " + cfg.init + ": unexpected tensor layout");
    for (size_t i = 0; i < src.size(); ++i) dst[i].second.copy_(src[i].second);
    init = nullptr;  // release the mapped file
  }
  model->set_dropout(cfg.dropout);
  model->to(device);
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model->named_parameters()) {
    p.value().set_requires_grad(true);
    (p.value().dim() >= 2 ? decay : no_decay).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(cfg.lr).weight_decay(cfg.weight_decay).betas({0.9, 0.95})));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(cfg.lr).weight_decay(0.0).betas({0.9, 0.95})));
  torch::optim::AdamW opt(std::move(groups));
  BlockSampler sampler;
  sampler.n = train.num_blocks();
  sampler.seed = cfg.seed;
  int64_t step0 = 0, tokens = 0;
  double best = 1e30, elapsed0 = 0;
  auto latest = dir / "checkpoints" / "latest.json";
  if (resume && std::filesystem::exists(latest)) {
    auto l = nlohmann::json::parse(read_text_file(latest));
    step0 = l.at("step");
    tokens = l.at("tokens");
    best = l.at("best_valid_loss");
    elapsed0 = l.at("elapsed_s");
    sampler.epoch = l.at("sampler_epoch");
    sampler.pos = l.at("sampler_pos");
    auto ck = load_gpt2(dir / "checkpoints" / "model");
    torch::NoGradGuard ng;
    auto src = ck->hf_tensors();
    auto dst = model->hf_tensors();
    for (size_t i = 0; i < src.size(); ++i) dst[i].second.copy_(src[i].second.to(device));
    torch::serialize::InputArchive ar;
    std::istringstream is(read_text_file(dir / "checkpoints" / "optimizer.pt"));
    ar.load_from(is, device);
    opt.load(ar);
    truncate_metrics(dir / "metrics.jsonl", step0);
  } else {
    PretrainConfig saved = cfg;
    saved.model = mc;  // the architecture actually trained (the init model's, with --init)
    write_file_atomic(dir / "config.json", saved.to_json().dump(2) + "\n");
  }
  MetricsWriter metrics(dir / "metrics.jsonl");
  if (obs) {
    RunInfo info;
    info.run_dir = dir.string();
    info.start_step = step0;
    info.n_layer = mc.n_layer;
    info.n_head = mc.n_head;
    for (auto& p : model->parameters()) info.trainable_parameters += p.numel();
    info.config.variant = "pretrain";
    info.config.layers = "all";
    obs->on_start(info);
  }
  auto evaluate = [&]() {
    torch::NoGradGuard ng;
    model->eval();
    double sum = 0;
    int64_t n = 0;
    int64_t nb = std::min<int64_t>(valid.num_blocks(), cfg.eval_batches * cfg.batch);
    for (int64_t b = 0; b < nb; b += cfg.batch) {
      std::vector<int64_t> idx;
      for (int64_t i = b; i < std::min(nb, b + cfg.batch); ++i) idx.push_back(i);
      sum += lm_loss(*model, valid.blocks(idx).to(device)).item<double>() * idx.size();
      n += static_cast<int64_t>(idx.size());
    }
    model->train();
    return sum / std::max<int64_t>(1, n);
  };
  auto save_ckpt = [&](int64_t step, double elapsed) {
    save_gpt2(model, dir / "checkpoints" / "model", torch::kFloat32);
    torch::serialize::OutputArchive ar;
    opt.save(ar);
    std::ostringstream os;
    ar.save_to(os);
    write_file_atomic(dir / "checkpoints" / "optimizer.pt", os.str());
    write_file_atomic(latest, nlohmann::json({{"step", step}, {"tokens", tokens}, {"best_valid_loss", best},
                                              {"elapsed_s", elapsed}, {"sampler_epoch", sampler.epoch},
                                              {"sampler_pos", sampler.pos}})
                                  .dump(2));
  };
  auto export_best = [&]() {
    auto dt = cfg.dtype == "bf16" ? torch::kBFloat16 : cfg.dtype == "f32" ? torch::kFloat32 : torch::kFloat16;
    save_gpt2(model, dir / "model", dt, resources_dir() / "tokenizer");
  };
  const auto t_start = Clock::now();
  std::string status = "finished";
  model->train();
  int64_t saved_step = step0;  // the step of the newest checkpoint on disk
  for (int64_t step = step0 + 1; step <= cfg.steps; ++step) {
    if (ctl && ctl->stop.load()) {
      status = "stopped";
      // Stop leaves a resumable checkpoint of the last finished step.
      if (step - 1 > saved_step)
        save_ckpt(step - 1, elapsed0 + std::chrono::duration<double>(Clock::now() - t_start).count());
      break;
    }
    auto t0 = Clock::now();
    double lr = step <= cfg.warmup ? cfg.lr * step / std::max<int64_t>(1, cfg.warmup)
                                   : cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 *
                                                                      (1 + std::cos(M_PI * std::min(1.0, double(step - cfg.warmup) /
                                                                                                   std::max<int64_t>(1, cfg.steps - cfg.warmup)))));
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    auto ids = train.blocks(sampler.next(cfg.batch)).to(device);
    opt.zero_grad();
    auto loss = lm_loss(*model, ids);
    double lv = loss.item<double>();
    StepMetrics m;
    m.step = step;
    m.total_steps = cfg.steps;
    m.lr = lr;
    m.kl = lv;
    m.loss = lv;
    if (std::isfinite(lv)) {
      loss.backward();
      m.grad_norm = torch::nn::utils::clip_grad_norm_(model->parameters(), cfg.clip > 0 ? cfg.clip : 1e30);
      if (std::isfinite(m.grad_norm)) opt.step();
      else m.skipped = true;
    } else {
      m.skipped = true;
    }
    tokens += ids.numel();
    m.tokens = tokens;
    m.step_time_s = std::chrono::duration<double>(Clock::now() - t0).count();
    m.tokens_per_s = ids.numel() / std::max(1e-9, m.step_time_s);
    m.elapsed_s = elapsed0 + std::chrono::duration<double>(Clock::now() - t_start).count();
    if (step % 10 == 0 || step == cfg.steps)
      metrics.write({{"split", "train"}, {"step", step}, {"tokens", tokens}, {"kl", lv}, {"loss", lv}, {"reg", 0.0},
                     {"lr", lr}, {"grad_norm", m.grad_norm}, {"tokens_per_s", m.tokens_per_s},
                     {"elapsed_s", m.elapsed_s}});
    if (obs) obs->on_step(m);
    if ((cfg.eval_every > 0 && step % cfg.eval_every == 0) || step == cfg.steps) {
      double vl = evaluate();
      bool improved = vl < best;
      if (improved) {
        best = vl;
        export_best();
      }
      metrics.write({{"split", "valid"}, {"step", step}, {"loss", vl}, {"ppl", std::exp(vl)}, {"best", improved}});
      if (obs) {
        EvalMetrics e;
        e.step = step;
        e.kl = vl;
        e.ppl_ref = e.ppl_custom = std::exp(vl);
        e.density = 1;
        obs->on_eval(e);
      }
    }
    if (cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0) {
      save_ckpt(step, m.elapsed_s);
      saved_step = step;
    }
  }
  if (best >= 1e30) export_best();
  if (obs) obs->on_finish(status);
  return status;
}

}  // namespace attnlab
