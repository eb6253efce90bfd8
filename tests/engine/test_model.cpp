// GPT-2 loading, safetensors validation, and forward-pass properties.
#include <torch/torch.h>

#include <QProcess>
#include <QtTest/QtTest>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/fs.h"
#include "model/gpt2.h"
#include "model/safetensors.h"
#include "test_registry.h"
#include "test_util.h"

using namespace attnlab;
namespace fs = std::filesystem;

namespace {

Gpt2Config tiny_config() {
  Gpt2Config c;
  c.vocab_size = 300;
  c.n_positions = 32;
  c.n_embd = 32;
  c.n_layer = 2;
  c.n_head = 4;
  return c;
}

std::string bytes_of(const fs::path& p) { return read_text_file(p); }
void write_bytes(const fs::path& p, const std::string& s) {
  std::ofstream o(p, std::ios::binary);
  o << s;
}

// Writes a raw safetensors file from a header string and a data size.
fs::path raw_safetensors(const fs::path& dir, const std::string& name, const std::string& header, size_t data,
                         int64_t declared_len = -1) {
  std::string out;
  uint64_t n = declared_len >= 0 ? static_cast<uint64_t>(declared_len) : header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += header;
  out += std::string(data, '\0');
  auto p = dir / name;
  write_bytes(p, out);
  return p;
}

void expect_error(const std::function<void()>& f, const QString& needle) {
  try {
    f();
  } catch (const attnlab::Error& e) {
    QVERIFY2(QString::fromStdString(e.what()).contains(needle),
             qPrintable("message '" + QString::fromStdString(e.what()) + "' lacks '" + needle + "'"));
    return;
  }
  QFAIL(qPrintable("expected an attnlab::Error containing '" + needle + "'"));
}

}  // namespace

class ModelTest : public QObject {
  Q_OBJECT
 private slots:
  void safetensors_roundtrip_dtypes() {
    auto dir = testing::temp_dir("st");
    auto a = torch::randn({3, 5});
    auto b = torch::randn({7}).to(torch::kFloat16);
    auto c = torch::randn({2, 2}).to(torch::kBFloat16);
    save_safetensors(dir / "x.safetensors", {{"a", a}, {"b", b}, {"c", c}}, {{"format", "pt"}});
    auto f = SafetensorsFile::open(dir / "x.safetensors");
    QCOMPARE(f->metadata().at("format"), std::string("pt"));
    QVERIFY(torch::equal(f->tensor_f32("a"), a));
    QVERIFY(torch::equal(f->tensor_raw("b"), b));
    QVERIFY(torch::equal(f->tensor_f32("c"), c.to(torch::kFloat32)));
    QCOMPARE(f->entry("b").dtype, std::string("F16"));
    // zero-copy: the F32 tensor points into the mapping and keeps it alive
    auto view = f->tensor_f32("a");
    f.reset();
    QVERIFY(torch::equal(view, a));
  }

  void safetensors_malformed_files_give_clear_errors() {
    auto dir = testing::temp_dir("bad");
    write_bytes(dir / "short.safetensors", "abc");
    expect_error([&] { SafetensorsFile::open(dir / "short.safetensors"); }, "truncated");
    raw_safetensors(dir, "pasteof.safetensors", "{}", 0, 1000);
    expect_error([&] { SafetensorsFile::open(dir / "pasteof.safetensors"); }, "runs past the end");
    raw_safetensors(dir, "huge.safetensors", "{}", 0, int64_t(1) << 40);
    expect_error([&] { SafetensorsFile::open(dir / "huge.safetensors"); }, "exceeds the limit");
    raw_safetensors(dir, "json.safetensors", "{not json", 0);
    expect_error([&] { SafetensorsFile::open(dir / "json.safetensors"); }, "not valid JSON");
    raw_safetensors(dir, "dtype.safetensors", R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8);
    expect_error([&] { SafetensorsFile::open(dir / "dtype.safetensors"); }, "unsupported dtype 'Q4'");
    raw_safetensors(dir, "shape.safetensors", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
    expect_error([&] { SafetensorsFile::open(dir / "shape.safetensors"); }, "tensor 'w': shape and dtype need 12 bytes");
    raw_safetensors(dir, "oob.safetensors", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 8);
    expect_error([&] { SafetensorsFile::open(dir / "oob.safetensors"); }, "run past the data buffer");
    raw_safetensors(dir, "overlap.safetensors",
                    R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    12);
    expect_error([&] { SafetensorsFile::open(dir / "overlap.safetensors"); }, "overlap");
    raw_safetensors(dir, "neg.safetensors", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4);
    expect_error([&] { SafetensorsFile::open(dir / "neg.safetensors"); }, "non-negative");
    // A truncated real file: cut the data short.
    save_safetensors(dir / "good.safetensors", {{"w", torch::randn({64})}});
    auto full = bytes_of(dir / "good.safetensors");
    write_bytes(dir / "cut.safetensors", full.substr(0, full.size() - 10));
    expect_error([&] { SafetensorsFile::open(dir / "cut.safetensors"); }, "run past the data buffer");
  }

  void save_load_roundtrip_and_prefix() {
    auto dir = testing::temp_dir("m");
    auto m = random_gpt2(tiny_config(), 1);
    save_gpt2(m, dir / "plain");
    auto ids = torch::randint(0, 300, {2, 16}, torch::kLong);
    torch::NoGradGuard ng;
    auto ref = m->forward(ids);
    auto loaded = load_gpt2(dir / "plain");
    QVERIFY(torch::equal(loaded->forward(ids), ref));
    // The same tensors with HF's `transformer.` prefix and the unused attn.bias buffers.
    std::vector<std::pair<std::string, torch::Tensor>> pref;
    for (auto& [n, t] : m->hf_tensors()) pref.emplace_back("transformer." + n, t);
    pref.emplace_back("transformer.h.0.attn.bias", torch::ones({1, 1, 32, 32}));
    pref.emplace_back("lm_head.weight", m->wte);
    fs::create_directories(dir / "prefixed");
    save_safetensors(dir / "prefixed" / "model.safetensors", pref, {{"format", "pt"}});
    write_file_atomic(dir / "prefixed" / "config.json", m->cfg.to_json().dump());
    QVERIFY(torch::equal(load_gpt2(dir / "prefixed")->forward(ids), ref));
    // fp16 / bf16 storage loads and stays close.
    save_gpt2(m, dir / "half", torch::kFloat16);
    auto diff = (load_gpt2(dir / "half")->forward(ids) - ref).abs().max().item<double>();
    QVERIFY2(diff < 2e-2, qPrintable(QString::number(diff)));
    save_gpt2(m, dir / "bf16", torch::kBFloat16);
    diff = (load_gpt2(dir / "bf16")->forward(ids) - ref).abs().max().item<double>();
    QVERIFY2(diff < 1e-1, qPrintable(QString::number(diff)));
  }

  void load_errors_name_tensor_and_shape() {
    auto dir = testing::temp_dir("e");
    auto m = random_gpt2(tiny_config(), 2);
    // wrong shape
    auto tensors = m->hf_tensors();
    for (auto& [n, t] : tensors)
      if (n == "h.1.mlp.c_fc.weight") t = torch::zeros({32, 100});
    fs::create_directories(dir / "shape");
    save_safetensors(dir / "shape" / "model.safetensors", tensors);
    write_file_atomic(dir / "shape" / "config.json", m->cfg.to_json().dump());
    expect_error([&] { load_gpt2(dir / "shape"); }, "'h.1.mlp.c_fc.weight' has shape [32, 100], expected [32, 128]");
    // missing tensor
    tensors = m->hf_tensors();
    tensors.erase(tensors.begin() + 3);
    fs::create_directories(dir / "missing");
    save_safetensors(dir / "missing" / "model.safetensors", tensors);
    write_file_atomic(dir / "missing" / "config.json", m->cfg.to_json().dump());
    expect_error([&] { load_gpt2(dir / "missing"); }, "missing tensor 'h.0.ln_1.bias'");
    // wrong dtype
    tensors = m->hf_tensors();
    tensors[0].second = tensors[0].second.to(torch::kInt32);
    fs::create_directories(dir / "dt");
    save_safetensors(dir / "dt" / "model.safetensors", tensors);
    write_file_atomic(dir / "dt" / "config.json", m->cfg.to_json().dump());
    expect_error([&] { load_gpt2(dir / "dt"); }, "'wte.weight' has dtype I32");
    // pickle refused
    fs::create_directories(dir / "pickle");
    write_bytes(dir / "pickle" / "pytorch_model.bin", "PK");
    write_file_atomic(dir / "pickle" / "config.json", m->cfg.to_json().dump());
    expect_error([&] { load_gpt2(dir / "pickle"); }, "safetensors only");
    // bad config
    fs::create_directories(dir / "cfg");
    write_file_atomic(dir / "cfg" / "config.json", R"({"n_embd": 30, "n_head": 4})");
    expect_error([&] { load_gpt2(dir / "cfg"); }, "must be divisible by n_head");
    write_file_atomic(dir / "cfg" / "config.json", R"({"n_embd": "wide"})");
    expect_error([&] { load_gpt2(dir / "cfg"); }, "field 'n_embd' has the wrong type");
    write_file_atomic(dir / "cfg" / "config.json", R"({"model_type": "llama"})");
    expect_error([&] { load_gpt2(dir / "cfg"); }, "expected 'gpt2'");
    expect_error([&] { load_gpt2(dir / "nowhere"); }, "does not exist");
  }

  void cli_convert_writes_f16_that_reloads() {
    // attnlab-cli convert (how a pretrain checkpoint, kept in f32, becomes the bundled f16 model).
    const auto src = testing::temp_dir("convert-src"), dst = testing::temp_dir("convert") / "f16";
    auto m = random_gpt2(tiny_config(), 5);
    save_gpt2(m, src, torch::kFloat32);
    QProcess p;
    p.start(QStringLiteral(ATTNLAB_CLI_PATH), {"convert", "--model", QString::fromStdString(src.string()), "--out",
                                               QString::fromStdString(dst.string()), "--dtype", "f16"});
    QVERIFY(p.waitForFinished(120000));
    QCOMPARE(p.exitCode(), 0);
    auto st = SafetensorsFile::open(dst / "model.safetensors");
    QCOMPARE(st->entry("h.0.attn.c_attn.weight").dtype, std::string("F16"));
    QVERIFY(fs::exists(dst / "vocab.json") && fs::exists(dst / "merges.txt"));  // bundled tokenizer added
    auto back = load_gpt2(dst);
    torch::NoGradGuard ng;
    auto ids = torch::arange(0, 20, torch::kLong).unsqueeze(0);
    auto a = m->forward(ids), b = back->forward(ids);
    const double err = (a - b).abs().max().item<double>();
    QVERIFY2(err > 0 && err < 5e-3, qPrintable(QString::number(err)));  // f16 rounding, nothing more

    QProcess same;  // writing over its own input is refused
    same.start(QStringLiteral(ATTNLAB_CLI_PATH), {"convert", "--model", QString::fromStdString(src.string()), "--out",
                                                  QString::fromStdString(src.string())});
    QVERIFY(same.waitForFinished(120000));
    QVERIFY(same.exitCode() != 0);
    QVERIFY(QString::fromUtf8(same.readAllStandardError()).contains("must differ"));
  }

  void positions_enforced() {
    auto m = random_gpt2(tiny_config(), 3);
    torch::NoGradGuard ng;
    expect_error([&] { m->forward(torch::zeros({1, 33}, torch::kLong)); }, "exceeds the model's n_positions = 32");
  }

  void causal_and_batch_invariant() {
    auto m = random_gpt2(tiny_config(), 4);
    torch::NoGradGuard ng;
    auto ids = torch::randint(0, 300, {3, 20}, torch::kLong);
    auto out = m->forward(ids);
    for (int64_t t = 0; t < 19; ++t) {
      auto changed = ids.clone();
      changed.index_put_({torch::indexing::Slice(), t + 1}, (changed.index({torch::indexing::Slice(), t + 1}) + 7) % 300);
      auto o2 = m->forward(changed);
      auto prefix = torch::indexing::Slice(0, t + 1);
      QVERIFY(torch::allclose(o2.index({torch::indexing::Slice(), prefix}), out.index({torch::indexing::Slice(), prefix}),
                              0, 1e-5));
      QVERIFY(!torch::allclose(o2.index({torch::indexing::Slice(), t + 1}), out.index({torch::indexing::Slice(), t + 1})));
    }
    for (int b = 0; b < 3; ++b) {
      auto single = m->forward(ids.slice(0, b, b + 1));
      QVERIFY((single[0] - out[b]).abs().max().item<double>() < 1e-5);
    }
  }

  // The committed fixture was written by Hugging Face transformers' GPT2LMHeadModel (see
  // tests/fixtures/hf_tiny/README.md): its logits are the independent reference.
  void matches_hugging_face_fixture() {
    auto dir = testing::fixtures() / "hf_tiny";
    if (!fs::exists(dir / "expected.json")) QSKIP("fixture tests/fixtures/hf_tiny not present");
    auto exp = nlohmann::json::parse(read_text_file(dir / "expected.json"));
    auto m = load_gpt2(dir / "model");
    torch::NoGradGuard ng;
    for (auto& c : exp["cases"]) {
      std::vector<int64_t> ids = c["ids"];
      auto logits = m->forward(torch::tensor(ids).unsqueeze(0))[0];
      std::vector<float> flat = c["logits"];
      auto want = torch::tensor(flat).view({static_cast<int64_t>(ids.size()), -1});
      double d = (logits - want).abs().max().item<double>();
      QVERIFY2(d <= 1e-4, qPrintable(QString("max |dlogit| = %1").arg(d)));
    }
  }
};

ATTNLAB_TEST(ModelTest, "model")
#include "test_model.moc"
