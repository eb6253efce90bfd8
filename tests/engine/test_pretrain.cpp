// attnlab-cli pretrain's engine: a few steps on a tiny config lower the loss, the exported
// Hugging Face directory reloads to the trained weights' logits, a resumed run continues the
// same trajectory, and dropout acts in training mode only.
#include <torch/torch.h>

#include <QtTest/QtTest>

#include "common/error.h"
#include "common/fs.h"
#include "model/gpt2.h"
#include "test_registry.h"
#include "test_util.h"
#include "train/distill.h"
#include "train/pretrain.h"
#include "train/run_store.h"

using namespace attnlab;
namespace fs = std::filesystem;

namespace {

struct Recorder : DistillObserver {
  std::vector<double> train, valid;
  void on_step(const StepMetrics& m) override { train.push_back(m.loss); }
  void on_eval(const EvalMetrics& e) override { valid.push_back(e.kl); }
};

/// A small corpus folder cut from the bundled WikiText-2 valid split.
fs::path tiny_corpus(const fs::path& dir) {
  const std::string text = read_text_file(testing::resources() / "data" / "wikitext-2" / "valid.txt");
  fs::create_directories(dir);
  write_file_atomic(dir / "train.txt", text.substr(0, 40000));
  write_file_atomic(dir / "valid.txt", text.substr(40000, 8000));
  write_file_atomic(dir / "test.txt", text.substr(48000, 8000));
  return dir;
}

PretrainConfig tiny_config(const fs::path& data, const fs::path& out) {
  PretrainConfig c;
  c.model.n_layer = 2;
  c.model.n_embd = 32;
  c.model.n_head = 4;
  c.model.n_positions = 32;
  c.data = data.string();
  c.seq_len = 16;
  c.batch = 8;
  c.steps = 40;
  c.lr = 5e-3;
  c.warmup = 4;
  c.eval_every = 20;
  c.eval_batches = 2;
  c.checkpoint_every = 20;
  c.threads = 2;
  c.seed = 3;
  c.dtype = "f32";
  c.out = out.string();
  return c;
}

torch::Tensor logits_of(Gpt2Impl& m) {
  torch::NoGradGuard ng;
  m.eval();
  return m.forward(torch::tensor({464, 1110, 286, 262, 1748, 373}, torch::kLong).unsqueeze(0));
}

}  // namespace

class PretrainTest : public QObject {
  Q_OBJECT
  fs::path tmp_, data_;

 private Q_SLOTS:
  void initTestCase() {
    tmp_ = testing::temp_dir("pretrain");
    data_ = tiny_corpus(tmp_ / "data");
  }
  void cleanupTestCase() {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  void lossFallsAndTheExportReloads() {
    auto cfg = tiny_config(data_, tmp_ / "run");
    Recorder r;
    QCOMPARE(QString::fromStdString(run_pretraining(cfg, &r, nullptr)), QString("finished"));
    QCOMPARE(r.train.size(), size_t(40));
    QCOMPARE(r.valid.size(), size_t(2));
    // From ~ln(50257) = 10.8 nats: the tiny model learns at least the unigram statistics.
    double last = 0;
    for (size_t i = r.train.size() - 5; i < r.train.size(); ++i) last += r.train[i] / 5;
    QVERIFY2(r.train.front() > 10.0 && last < r.train.front() - 2.0,
             qPrintable(QString("first %1, last-5 mean %2").arg(r.train.front()).arg(last)));
    QVERIFY2(r.valid.back() < r.valid.front(), qPrintable(QString("valid %1 -> %2").arg(r.valid.front()).arg(r.valid.back())));
    // The exported directory is a Hugging Face model folder with the tokenizer ...
    const fs::path model = tmp_ / "run" / "model";
    for (const char* f : {"config.json", "model.safetensors", "vocab.json", "merges.txt"})
      QVERIFY2(fs::exists(model / f), f);
    // ... holding the best (= last here: validation improved at step 40) weights: the same
    // logits as the step-40 checkpoint, bit for bit (both f32).
    auto exported = load_gpt2(model);
    auto ckpt = load_gpt2(tmp_ / "run" / "checkpoints" / "model");
    QCOMPARE(exported->cfg.n_layer, int64_t(2));
    QCOMPARE(exported->cfg.vocab_size, int64_t(50257));
    QVERIFY(torch::equal(logits_of(*exported), logits_of(*ckpt)));
    // The metrics stream replays: 4 train rows (every 10 steps) and 2 validation rows.
    auto rows = read_metrics(tmp_ / "run" / "metrics.jsonl");
    int train = 0, valid = 0;
    for (auto& row : rows) (row["split"] == "train" ? train : valid)++;
    QCOMPARE(train, 4);
    QCOMPARE(valid, 2);
  }

  void initStartsFromTheGivenModel() {
    // Continued pretraining from the model the first test exported (its best = step 40).
    const fs::path start = tmp_ / "run" / "model";
    QVERIFY(fs::exists(start / "model.safetensors"));
    auto cfg = tiny_config(data_, tmp_ / "cont");
    cfg.init = start.string();
    cfg.model.n_layer = 5;  // ignored: the init model's config.json defines the architecture
    cfg.steps = 2;
    cfg.lr = 0.0;  // no update (AdamW's decay is lr-scaled too): the export equals the start
    cfg.eval_every = 1;
    Recorder r;
    QCOMPARE(QString::fromStdString(run_pretraining(cfg, &r, nullptr)), QString("finished"));
    auto a = load_gpt2(start);
    auto b = load_gpt2(tmp_ / "cont" / "model");
    QCOMPARE(b->cfg.n_layer, int64_t(2));
    QVERIFY(torch::equal(logits_of(*a), logits_of(*b)));
    // It starts at the trained loss, far below a random model's ~10.8 nats.
    QVERIFY2(r.train.front() < 9.0, qPrintable(QString("first loss %1").arg(r.train.front())));
    // The run directory records where it started.
    auto saved = nlohmann::json::parse(read_text_file(tmp_ / "cont" / "config.json"));
    QCOMPARE(QString::fromStdString(saved.at("init").get<std::string>()), QString::fromStdString(start.string()));
    QCOMPARE(saved.at("model").at("n_layer").get<int>(), 2);  // what was trained, not the ignored 5
    // A model with another vocabulary is refused with the file named.
    const fs::path odd = tmp_ / "odd-vocab";
    Gpt2Config c;
    c.vocab_size = 100;
    c.n_positions = 32;
    c.n_embd = 32;
    c.n_layer = 1;
    c.n_head = 4;
    save_gpt2(random_gpt2(c, 1), odd, torch::kFloat32);
    cfg.init = odd.string();
    cfg.out = (tmp_ / "cont-odd").string();
    bool threw = false;
    try {
      run_pretraining(cfg, nullptr, nullptr);
    } catch (const Error& e) {
      threw = QString(e.what()).contains("config.json") && QString(e.what()).contains("vocab_size 100");
    }
    QVERIFY(threw);
  }

  void resumeContinuesTheSameTrajectory() {
    auto full = tiny_config(data_, tmp_ / "full");
    full.steps = 30;
    full.checkpoint_every = 10;
    QCOMPARE(QString::fromStdString(run_pretraining(full, nullptr, nullptr)), QString("finished"));
    auto part = tiny_config(data_, tmp_ / "part");
    part.steps = 30;
    part.checkpoint_every = 10;
    RunControl ctl;
    struct StopAt : DistillObserver {
      RunControl* ctl;
      void on_step(const StepMetrics& m) override {
        if (m.step == 17) ctl->stop = true;  // between checkpoints: Stop writes one
      }
    } stop;
    stop.ctl = &ctl;
    QCOMPARE(QString::fromStdString(run_pretraining(part, &stop, &ctl)), QString("stopped"));
    QCOMPARE(QString::fromStdString(run_pretraining(part, nullptr, nullptr, /*resume=*/true)), QString("finished"));
    auto a = load_gpt2(tmp_ / "full" / "checkpoints" / "model");
    auto b = load_gpt2(tmp_ / "part" / "checkpoints" / "model");
    QVERIFY(torch::allclose(logits_of(*a), logits_of(*b), 1e-5, 1e-5));
  }

  void dropoutActsInTrainingModeOnly() {
    Gpt2Config c;
    c.vocab_size = 100;
    c.n_positions = 16;
    c.n_embd = 32;
    c.n_layer = 2;
    c.n_head = 4;
    auto m = random_gpt2(c, 1);
    auto ids = torch::randint(0, 100, {2, 8}, torch::kLong);
    torch::NoGradGuard ng;
    m->eval();
    auto clean = m->forward(ids);
    m->set_dropout(0.5);
    QVERIFY(torch::equal(m->forward(ids), clean));  // eval mode: no dropout
    m->train();
    auto a = m->forward(ids), b = m->forward(ids);
    QVERIFY(!torch::equal(a, b));
    QVERIFY(!torch::allclose(a, clean));
    m->set_dropout(0.0);
    QVERIFY(torch::equal(m->forward(ids), clean));  // training mode without dropout: exact
    bool threw = false;
    try {
      m->set_dropout(1.0);
    } catch (const Error& e) {
      threw = QString(e.what()).contains("dropout");
    }
    QVERIFY(threw);
  }
};

ATTNLAB_TEST(PretrainTest, "pretrain")
#include "test_pretrain.moc"
