// Distillation engine: KL, variants vs references, the training loop, run directories.
#include <torch/torch.h>

#include <QtTest/QtTest>
#include <fstream>

#include "attention/mask_mix.h"
#include "attention/variant.h"
#include "common/error.h"
#include "common/fs.h"
#include "eval/evaluate.h"
#include "eval/session.h"
#include "generate/generate.h"
#include "model/gpt2.h"
#include "test_registry.h"
#include "test_util.h"
#include "train/distill.h"
#include "train/run_store.h"
#include "train/setup.h"

using namespace attnlab;
namespace fs = std::filesystem;

namespace {

fs::path tiny_model(const std::string& tag, int layers = 2) {
  auto dir = testing::temp_dir(tag) / "model";
  Gpt2Config c;
  c.n_layer = layers;
  c.n_embd = 32;
  c.n_head = 4;
  c.n_positions = 64;
  save_gpt2(random_gpt2(c, 11), dir, torch::kFloat32, testing::resources() / "tokenizer");
  return dir;
}

// A small data dir: the first part of the bundled WikiText-2 splits.
fs::path tiny_data(const std::string& tag) {
  auto dir = testing::temp_dir(tag + "-data");
  auto src = testing::resources() / "data" / "wikitext-2";
  write_file_atomic(dir / "train.txt", read_text_file(src / "train.txt").substr(0, 60000));
  write_file_atomic(dir / "valid.txt", read_text_file(src / "valid.txt").substr(0, 20000));
  write_file_atomic(dir / "test.txt", read_text_file(src / "test.txt").substr(0, 20000));
  return dir;
}

DistillConfig tiny_config(const fs::path& model, const fs::path& data, const fs::path& out) {
  DistillConfig c;
  c.model = model.string();
  c.data = data.string();
  c.out = out.string();
  c.variant = "mask-mix";
  c.seq_len = 32;
  c.batch = 2;
  c.steps = 12;
  c.lr = 0.05;
  c.warmup = 2;
  c.eval_every = 6;
  c.eval_batches = 2;
  c.checkpoint_every = 6;
  c.threads = 2;
  return c;
}

LayerInit init_for(int64_t H, int64_t Dh) {
  LayerInit li;
  li.n_head = H;
  li.head_dim = Dh;
  li.n_embd = H * Dh;
  li.attn_scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  return li;
}

// Dense masked reference of mask-mix: p ∝ exp(s) Σ_k w_k M_k.
torch::Tensor dense_mask_mix(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const std::vector<MaskCandidate>& cands, const torch::Tensor& w, double scale) {
  const int64_t T = q.size(2);
  auto mix = torch::zeros({w.size(0), T, T}, torch::kFloat64);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j <= i; ++j)
      for (size_t c = 0; c < cands.size(); ++c) {
        bool m = false;
        switch (cands[c].kind) {
          case MaskCandidate::Local: m = i - j < cands[c].n; break;
          case MaskCandidate::Sink: m = j < cands[c].n; break;
          case MaskCandidate::Stride: m = (i - j) % cands[c].n == 0; break;
          case MaskCandidate::Self: m = i == j; break;
          case MaskCandidate::Full: m = true; break;
        }
        if (m) mix.index({torch::indexing::Slice(), i, j}) += w.index({torch::indexing::Slice(), (int64_t)c}).to(torch::kFloat64);
      }
  auto s = torch::matmul(q.to(torch::kFloat64), k.to(torch::kFloat64).transpose(-1, -2)) * scale;
  auto p = torch::exp(s) * mix.unsqueeze(0);
  p = p / p.sum(-1, true);
  return torch::matmul(p, v.to(torch::kFloat64)).to(torch::kFloat32);
}

}  // namespace

class DistillTest : public QObject {
  Q_OBJECT
 private slots:
  void mask_candidates_parse_and_reject() {
    auto c = parse_mask_candidates("local:5, sink:4,stride:8,self,full");
    QCOMPARE(c.size(), size_t(5));
    QCOMPARE(c[0].name(), std::string("local:5"));
    for (const char* bad : {"local", "local:0", "stride:1", "window:3", "local:5,local:5", ""}) {
      bool threw = false;
      try {
        parse_mask_candidates(bad);
      } catch (const Error&) {
        threw = true;
      }
      QVERIFY2(threw, bad);
    }
  }

  void mask_mix_banded_equals_dense_reference() {
    torch::manual_seed(0);
    for (const char* spec : {"local:5,local:10,sink:4,stride:8,self", "local:3,stride:4,stride:6", "sink:2,self",
                             "local:7,full", "local:40,sink:3"}) {
      for (bool per_head : {false, true}) {
        auto init = init_for(3, 8);
        auto var = make_variant("mask-mix", {{"candidates", spec}, {"per_head", per_head}}, init);
        {  // random, distinct weights
          torch::NoGradGuard ng;
          for (auto& p : var->parameters()) p.copy_(torch::randn_like(p));
        }
        for (int64_t T : {1, 7, 37, 70}) {
          auto q = torch::randn({2, 3, T, 8}), k = torch::randn({2, 3, T, 8}), v = torch::randn({2, 3, T, 8});
          auto out = var->attend(q, k, v, {});
          auto coef = var->coefficients();
          std::vector<std::vector<double>> vals = coef["values"];
          auto w = torch::zeros({(int64_t)vals.size(), (int64_t)vals[0].size()});
          for (size_t h = 0; h < vals.size(); ++h)
            for (size_t kk = 0; kk < vals[h].size(); ++kk) w[h][kk] = vals[h][kk];
          auto ref = dense_mask_mix(q, k, v, parse_mask_candidates(spec), w, init.attn_scale);
          double d = (out - ref).abs().max().item<double>();
          QVERIFY2(d < 1e-4, qPrintable(QString("%1 per_head=%2 T=%3: %4").arg(spec).arg(per_head).arg(T).arg(d)));
          // The effective matrix rows sum to 1 and reproduce the output.
          auto eff = var->effective_attention(q, k, {});
          QVERIFY((eff.sum(-1) - 1).abs().max().item<double>() < 1e-5);
          QVERIFY((torch::matmul(eff, v) - out).abs().max().item<double>() < 1e-4);
        }
      }
    }
  }

  void mask_mix_is_causal() {
    torch::manual_seed(1);
    auto var = make_variant("mask-mix", {{"candidates", "local:4,sink:2,stride:3,self"}}, init_for(2, 4));
    auto q = torch::randn({1, 2, 20, 4}), k = torch::randn({1, 2, 20, 4}), v = torch::randn({1, 2, 20, 4});
    auto out = var->attend(q, k, v, {});
    for (int64_t t = 0; t < 19; ++t) {
      auto k2 = k.clone(), v2 = v.clone(), q2 = q.clone();
      k2.slice(2, t + 1, 20).add_(5.0);
      v2.slice(2, t + 1, 20).add_(5.0);
      q2.slice(2, t + 1, 20).add_(5.0);
      auto o2 = var->attend(q2, k2, v2, {});
      QVERIFY((o2.slice(2, 0, t + 1) - out.slice(2, 0, t + 1)).abs().max().item<double>() < 1e-6);
    }
  }

  void mask_mix_full_candidate_equals_reference_model() {
    auto model = tiny_model("mmfull");
    DistillConfig c = tiny_config(model, tiny_data("mmfull"), testing::temp_dir("mmfull-run"));
    c.variant_spec = {{"candidates", "full"}};
    auto s = build_setup(c);
    torch::NoGradGuard ng;
    auto ids = torch::randint(0, 50257, {2, 30}, torch::kLong);
    auto d = (s->ref->forward(ids) - s->custom->forward(ids)).abs().max().item<double>();
    QVERIFY2(d < 1e-4, qPrintable(QString::number(d)));
  }

  void kl_of_reference_with_itself_is_zero() {
    auto model = tiny_model("klzero");
    DistillConfig c = tiny_config(model, tiny_data("klzero"), testing::temp_dir("klzero-run"));
    c.variant = "full";
    c.train_params = "attention";
    auto s = build_setup(c);
    torch::NoGradGuard ng;
    auto ids = torch::randint(0, 50257, {2, 30}, torch::kLong);
    QVERIFY(torch::equal(s->ref->forward(ids), s->custom->forward(ids)));
    auto h = s->ref->hidden(ids).reshape({60, -1});
    QCOMPARE(chunked_kl(*s, h, h, 7, 1.0, nullptr), 0.0);
  }

  void pruning_shrinks_density_and_l1_drives_unused_to_zero() {
    // A tiny problem: the teacher is local:2 attention; candidates local:2 and sink:1.
    // With L1, the sink weight (useless for matching) must go to ~0.
    torch::manual_seed(3);
    auto init = init_for(1, 4);
    auto student = make_variant("mask-mix", {{"candidates", "local:2,stride:5"}, {"l1", 0.02}, {"prune_after", 1000}, {"prune_below", 0.05}}, init);
    auto teacher = make_variant("mask-mix", {{"candidates", "local:2"}}, init);
    torch::optim::Adam opt(student->parameters(), torch::optim::AdamOptions(0.05));
    for (int it = 0; it < 300; ++it) {
      auto q = torch::randn({4, 1, 24, 4}), k = torch::randn({4, 1, 24, 4}), v = torch::randn({4, 1, 24, 4});
      torch::Tensor target;
      {
        torch::NoGradGuard ng;
        target = teacher->attend(q, k, v, {});
      }
      auto loss = (student->attend(q, k, v, {}) - target).pow(2).mean() + student->regularizer();
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
    std::vector<double> w = student->coefficients()["values"][0];
    QVERIFY2(w[1] < 0.03 && w[0] > 0.3, qPrintable(QString("weights %1 %2").arg(w[0]).arg(w[1])));
    double before = student->density(64);
    int pruned = 0;
    student->on_step(2000, 0, [&](const std::string& kind, const nlohmann::json&) { pruned += kind == "prune"; });
    QCOMPARE(pruned, 1);  // stride:5 (w < 0.05) removed, local:2 kept
    double after = student->density(64);
    QVERIFY2(after < before, qPrintable(QString("%1 -> %2").arg(before).arg(after)));
  }

  void distillation_lowers_heldout_kl_and_is_deterministic() {
    auto model = tiny_model("dl");
    auto data = tiny_data("dl");
    auto run1 = testing::temp_dir("dl-run1"), run2 = testing::temp_dir("dl-run2");
    auto c1 = tiny_config(model, data, run1);
    QCOMPARE(run_distillation(c1, nullptr, nullptr), std::string("finished"));
    auto c2 = tiny_config(model, data, run2);
    run_distillation(c2, nullptr, nullptr);
    auto rows1 = read_metrics(run1 / "metrics.jsonl"), rows2 = read_metrics(run2 / "metrics.jsonl");
    std::vector<double> kl1, kl2, vkl;
    for (auto& r : rows1) if (r["split"] == "train") kl1.push_back(r["kl"]);
    for (auto& r : rows2) if (r["split"] == "train") kl2.push_back(r["kl"]);
    for (auto& r : rows1) if (r["split"] == "valid") vkl.push_back(r["kl"]);
    QCOMPARE(kl1.size(), size_t(12));
    QVERIFY(kl1 == kl2);  // identical seeds, identical metrics
    QVERIFY(vkl.size() >= 2);
    QVERIFY2(vkl.back() < vkl.front(), qPrintable(QString("valid KL %1 -> %2").arg(vkl.front()).arg(vkl.back())));
    // Coefficient rows exist with per-layer vectors.
    bool coef = false;
    for (auto& r : rows1) if (r["split"] == "coef") coef = r["values"].size() == 2;
    QVERIFY(coef);
    QVERIFY(fs::exists(run1 / "checkpoints" / "latest.json"));
    QVERIFY(fs::exists(run1 / "config.json"));
  }

  void resume_continues_the_same_trajectory() {
    auto model = tiny_model("rs");
    auto data = tiny_data("rs");
    auto full = testing::temp_dir("rs-full"), part = testing::temp_dir("rs-part");
    auto c = tiny_config(model, data, full);
    run_distillation(c, nullptr, nullptr);
    // Same run stopped after step 6 (checkpoint) by a smaller step budget... then resumed to 12.
    struct StopAt : DistillObserver {
      RunControl* ctl;
      void on_step(const StepMetrics& m) override { if (m.step == 6) ctl->stop = true; }
    } stopper;
    RunControl ctl;
    stopper.ctl = &ctl;
    auto c2 = tiny_config(model, data, part);
    QCOMPARE(run_distillation(c2, &stopper, &ctl), std::string("stopped"));
    QCOMPARE(resume_distillation(part, nullptr, nullptr), std::string("finished"));
    std::vector<double> a, b;
    for (auto& r : read_metrics(full / "metrics.jsonl")) if (r["split"] == "train") a.push_back(r["kl"]);
    for (auto& r : read_metrics(part / "metrics.jsonl")) if (r["split"] == "train") b.push_back(r["kl"]);
    QCOMPARE(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) QVERIFY2(std::abs(a[i] - b[i]) < 1e-6 * std::max(1.0, a[i]), qPrintable(QString("step %1: %2 vs %3").arg(i + 1).arg(a[i]).arg(b[i])));
    // A run directory that already holds a run is not overwritten.
    bool refused = false;
    try {
      run_distillation(c2, nullptr, nullptr);
    } catch (const Error& e) {
      refused = QString(e.what()).contains("--resume");
    }
    QVERIFY(refused);
  }

  void metrics_tolerate_a_truncated_last_line() {
    auto dir = testing::temp_dir("mt");
    {
      MetricsWriter w(dir / "metrics.jsonl");
      w.write({{"split", "train"}, {"step", 1}});
      w.write({{"split", "train"}, {"step", 2}});
    }
    {
      std::ofstream o(dir / "metrics.jsonl", std::ios::app);
      o << "{\"split\": \"train\", \"st";  // a crash mid-write
    }
    QCOMPARE(read_metrics(dir / "metrics.jsonl").size(), size_t(2));
    {
      MetricsWriter w(dir / "metrics.jsonl");  // appending after a crash starts a fresh line
      w.write({{"split", "train"}, {"step", 3}});
    }
    auto rows = read_metrics(dir / "metrics.jsonl");
    QCOMPARE(rows.size(), size_t(3));
    QCOMPARE(rows.back()["step"].get<int>(), 3);
  }

  void config_errors_name_the_field() {
    auto check = [](const nlohmann::json& j, const QString& needle) {
      try {
        DistillConfig::from_json(j, "cfg.json").validate();
      } catch (const Error& e) {
        QVERIFY2(QString(e.what()).contains(needle), e.what());
        return;
      }
      QFAIL(qPrintable("no error for " + needle));
    };
    check({{"seq_len", 1}}, "'seq_len'");
    check({{"lr", -1}}, "'lr'");
    check({{"batch", "four"}}, "'batch' has the wrong type");
    check({{"bogus", 1}}, "unknown field 'bogus'");
    check({{"train_params", "some"}}, "'train_params'");
    check({{"layers", "0,x"}}, "'layers'");
    DistillConfig c;
    c.layers = "5";
    bool threw = false;
    try {
      c.layer_list(2);
    } catch (const Error& e) {
      threw = QString(e.what()).contains("out of range");
    }
    QVERIFY(threw);
    // Round trip.
    DistillConfig d;
    d.variant_spec = {{"candidates", "local:3"}};
    d.steps = 77;
    auto e = DistillConfig::from_json(d.to_json(), "x");
    QCOMPARE(e.to_json(), d.to_json());
  }

  void model_pair_caches_block_inputs_and_matches_a_full_forward() {
    auto model = tiny_model("pair", 4);
    DistillConfig c = tiny_config(model, tiny_data("pair"), testing::temp_dir("pair-run"));
    c.variant = "performer";  // the custom maps differ from the reference's
    auto pair = ModelPair::from_config(c);
    const auto ids = pair->validation_sample(40, 3);
    const int64_t H = pair->n_head();

    // Independent reference: one full forward of a separately built setup, probing every layer.
    auto setup = build_setup(c);
    setup->custom->eval();
    std::vector<torch::Tensor> ref_maps(4), custom_maps(4);
    {
      torch::NoGradGuard ng;
      std::vector<int64_t> v(ids.begin(), ids.end());
      auto x = torch::tensor(v, torch::kLong).unsqueeze(0);
      AttentionProbe pr = [&](int l, const torch::Tensor& p) { ref_maps[l] = p[0].clone(); };
      AttentionProbe pc = [&](int l, const torch::Tensor& p) { custom_maps[l] = p[0].clone(); };
      setup->ref->hidden(x, &pr);
      setup->custom->hidden(x, &pc);
    }
    auto check = [&](const LayerAttention& a) {
      QCOMPARE(a.n_head, H);
      QCOMPARE(a.T, static_cast<int64_t>(ids.size()));
      for (int64_t h = 0; h < H; ++h) {
        auto r = torch::from_blob(const_cast<float*>(a.ref[h].data()), {a.T, a.T}, torch::kFloat32);
        auto u = torch::from_blob(const_cast<float*>(a.custom[h].data()), {a.T, a.T}, torch::kFloat32);
        QVERIFY(torch::allclose(r, ref_maps[a.layer][h], 1e-5, 1e-6));
        QVERIFY(torch::allclose(u, custom_maps[a.layer][h], 1e-5, 1e-6));
      }
      QVERIFY((ref_maps[a.layer] - custom_maps[a.layer]).abs().max().item<float>() > 1e-4);  // not trivially equal
    };

    // blocks_run counts whole blocks; a layer whose input is cached costs its probabilities only.
    QCOMPARE(pair->blocks_run(), 0);
    check(pair->attention(ids, 2));  // blocks 0 and 1 give layer 2's input
    QCOMPARE(pair->blocks_run(), 2);
    check(pair->attention(ids, 1));  // input cached
    QCOMPARE(pair->blocks_run(), 2);
    check(pair->attention(ids, 3));  // block 2 gives layer 3's input
    QCOMPARE(pair->blocks_run(), 3);
    check(pair->attention(ids, 0));
    QCOMPARE(pair->blocks_run(), 3);
    auto part = pair->overview(ids, 8, 1, 2);  // layers 1 and 2 only, inputs and outputs cached
    QCOMPARE(pair->blocks_run(), 3);
    QVERIFY(part.ref[0].empty() && part.ref[3 * H].empty());
    QCOMPARE(part.ref[1 * H].size(), size_t(64));
    QCOMPARE(part.custom[2 * H + 1].size(), size_t(64));
    auto pooled = torch::adaptive_avg_pool2d(ref_maps[2], {8, 8});
    QVERIFY(torch::allclose(torch::from_blob(part.ref[2 * H + 1].data(), {8, 8}, torch::kFloat32), pooled[1], 1e-5, 1e-6));
    auto full = pair->overview(ids, 8);  // only layer 3's output is missing: one block
    QCOMPARE(pair->blocks_run(), 4);
    for (const auto& m : full.ref) QCOMPARE(m.size(), size_t(64));
    auto pooled3 = torch::adaptive_avg_pool2d(custom_maps[3], {8, 8});
    QVERIFY(torch::allclose(torch::from_blob(full.custom[3 * H + 2].data(), {8, 8}, torch::kFloat32), pooled3[2], 1e-5, 1e-6));

    // Another input starts over from the embedding.
    auto other = pair->validation_sample(40, 4);
    QVERIFY(other != ids);
    pair->attention(other, 1);
    QCOMPARE(pair->blocks_run(), 5);

    QVERIFY_THROWS_EXCEPTION(Error, pair->attention(ids, 4));
    QVERIFY_THROWS_EXCEPTION(Error, pair->overview(ids, 8, 2, 1));
    QVERIFY_THROWS_EXCEPTION(Error, pair->attention(std::vector<int32_t>(65, 5), 0));  // > n_positions
    QCOMPARE(pair->blocks_run(), 5);
  }

  void distinct_ngram_ratio_counts_repeats() {
    QCOMPARE(distinct_ngram_ratio({1, 2, 3, 4, 5, 6}, 4), 1.0);
    // a loop of period 2: 7 four-grams, only 2 distinct ones
    QCOMPARE(distinct_ngram_ratio({1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, 4), 2.0 / 7.0);
    QCOMPARE(distinct_ngram_ratio({7, 7, 7}, 4), 1.0);  // too short to repeat
    QCOMPARE(distinct_ngram_ratio({7, 7, 7, 7, 7}, 1), 0.2);
  }
};

ATTNLAB_TEST(DistillTest, "distill")
#include "test_distill.moc"
