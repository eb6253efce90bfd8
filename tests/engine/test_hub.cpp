// Hugging Face Hub downloads against a loopback imitation of the Hub (QTcpServer in its own
// thread; the blocking libcurl download runs on the test thread).
#include <torch/torch.h>

#include <QtTest/QtTest>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/error.h"
#include "common/fs.h"
#include "data/corpus.h"
#include "hub/digest.h"
#include "hub/hub.h"
#include "hub/parquet.h"
#include "model/gpt2.h"
#include "test_registry.h"
#include "test_util.h"

using namespace attnlab;
namespace fs = std::filesystem;

namespace {

// A WikiText-like parquet file written by arrow-rs (parquet-wasm 0.7, SNAPPY, dictionary
// encoding, an OPTIONAL `text` column with one null): an independent writer's bytes.
// Rows: "", " = Robert Boulter = \n", "", " Robert Boulter is an English film , television
// and theatre actor . \n", null, " = Robert Boulter = \n", "ünïcödé \n".
const QByteArray kParquet(
"\x50\x41\x52\x31\x15\x04\x15\xee\x01\x15\xda\x01\x4c\x15\x08\x15\x00\x12\x00\x00"
    "\x77\x74\x00\x00\x00\x00\x15\x00\x00\x00\x20\x3d\x20\x52\x6f\x62\x65\x72\x74\x20"
    "\x42\x6f\x75\x6c\x74\x65\x72\x20\x3d\x20\x0a\x45\x01\x19\x3a\x17\x00\xf0\x45\x69"
    "\x73\x20\x61\x6e\x20\x45\x6e\x67\x6c\x69\x73\x68\x20\x66\x69\x6c\x6d\x20\x2c\x20"
    "\x74\x65\x6c\x65\x76\x69\x73\x69\x6f\x6e\x20\x61\x6e\x64\x20\x74\x68\x65\x61\x74"
    "\x72\x65\x20\x61\x63\x74\x6f\x72\x20\x2e\x20\x0a\x0d\x00\x00\x00\xc3\xbc\x6e\xc3"
    "\xaf\x63\xc3\xb6\x64\xc3\xa9\x20\x0a\x15\x00\x15\x14\x15\x18\x2c\x15\x0e\x15\x10"
    "\x15\x06\x15\x06\x00\x00\x0a\x24\x02\x00\x00\x00\x03\x6f\x02\x03\x84\x0d\x15\x04"
    "\x15\x38\x15\x3c\x4c\x15\x0e\x15\x00\x12\x00\x00\x1c\x6c\x00\x00\x00\x00\x01\x00"
    "\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05\x00\x00\x00\x06\x00"
    "\x00\x00\x15\x00\x15\x0a\x15\x0e\x2c\x15\x0e\x15\x10\x15\x06\x15\x06\x00\x00\x05"
    "\x10\x03\x03\x88\xc6\x1a\x19\x12\x02\x19\x18\x00\x19\x18\x0d\xc3\xbc\x6e\xc3\xaf"
    "\x63\xc3\xb6\x64\xc3\xa9\x20\x0a\x15\x02\x19\x16\x02\x29\x26\x02\x0c\x00\x19\x12"
    "\x02\x19\x18\x04\x00\x00\x00\x00\x19\x18\x04\x06\x00\x00\x00\x15\x02\x19\x16\x00"
    "\x00\x19\x1c\x16\x82\x02\x15\x3a\x16\x00\x00\x19\x16\xf8\x01\x00\x19\x1c\x16\x94"
    "\x03\x15\x30\x16\x00\x00\x00\x15\x02\x19\x3c\x48\x0c\x61\x72\x72\x6f\x77\x5f\x73"
    "\x63\x68\x65\x6d\x61\x15\x04\x00\x15\x0c\x25\x02\x18\x04\x74\x65\x78\x74\x25\x00"
    "\x4c\x1c\x00\x00\x00\x15\x02\x25\x00\x18\x01\x6e\x00\x16\x0e\x19\x1c\x19\x2c\x26"
    "\x00\x1c\x15\x0c\x19\x35\x00\x06\x10\x19\x18\x04\x74\x65\x78\x74\x15\x02\x16\x0e"
    "\x16\xc4\x02\x16\xb4\x02\x26\x82\x02\x26\x08\x1c\x36\x02\x28\x0d\xc3\xbc\x6e\xc3"
    "\xaf\x63\xc3\xb6\x64\xc3\xa9\x20\x0a\x18\x00\x11\x11\x00\x19\x2c\x15\x00\x15\x10"
    "\x15\x02\x00\x15\x04\x15\x00\x15\x02\x00\x3c\x16\xf8\x01\x29\x26\x02\x0c\x00\x00"
    "\x16\xb2\x04\x15\x1e\x16\xc4\x03\x15\x40\x00\x26\x00\x1c\x15\x02\x19\x35\x00\x06"
    "\x10\x19\x18\x01\x6e\x15\x02\x16\x0e\x16\x80\x01\x16\x88\x01\x26\x94\x03\x26\xbc"
    "\x02\x1c\x18\x04\x06\x00\x00\x00\x18\x04\x00\x00\x00\x00\x16\x00\x28\x04\x06\x00"
    "\x00\x00\x18\x04\x00\x00\x00\x00\x11\x11\x00\x19\x2c\x15\x00\x15\x10\x15\x02\x00"
    "\x15\x04\x15\x00\x15\x02\x00\x00\x16\xd0\x04\x15\x16\x16\x84\x04\x15\x2e\x00\x16"
    "\xc4\x03\x16\x0e\x26\x08\x16\xbc\x03\x14\x00\x00\x19\x1c\x18\x0c\x41\x52\x52\x4f"
    "\x57\x3a\x73\x63\x68\x65\x6d\x61\x18\x80\x02\x2f\x2f\x2f\x2f\x2f\x37\x67\x41\x41"
    "\x41\x41\x51\x41\x41\x41\x41\x41\x41\x41\x4b\x41\x41\x77\x41\x43\x67\x41\x4a\x41"
    "\x41\x51\x41\x43\x67\x41\x41\x41\x42\x41\x41\x41\x41\x41\x41\x41\x51\x51\x41\x43"
    "\x41\x41\x49\x41\x41\x41\x41\x42\x41\x41\x49\x41\x41\x41\x41\x42\x41\x41\x41\x41"
    "\x41\x49\x41\x41\x41\x42\x63\x41\x41\x41\x41\x46\x41\x41\x41\x41\x42\x41\x41\x46"
    "\x41\x41\x51\x41\x41\x41\x41\x44\x77\x41\x45\x41\x41\x41\x41\x43\x41\x41\x51\x41"
    "\x41\x41\x41\x47\x41\x41\x41\x41\x43\x41\x41\x41\x41\x41\x41\x41\x41\x41\x43\x48"
    "\x41\x41\x41\x41\x41\x67\x41\x44\x41\x41\x45\x41\x41\x73\x41\x43\x41\x41\x41\x41"
    "\x43\x41\x41\x41\x41\x41\x41\x41\x41\x41\x42\x41\x41\x41\x41\x41\x41\x45\x41\x41"
    "\x41\x42\x75\x41\x41\x41\x41\x45\x41\x41\x55\x41\x42\x41\x41\x44\x67\x41\x50\x41"
    "\x41\x51\x41\x41\x41\x41\x49\x41\x42\x41\x41\x41\x41\x41\x59\x41\x41\x41\x41\x44"
    "\x41\x41\x41\x41\x41\x41\x41\x41\x51\x55\x51\x41\x41\x41\x41\x41\x41\x41\x41\x41"
    "\x41\x51\x41\x42\x41\x41\x45\x41\x41\x41\x41\x42\x41\x41\x41\x41\x48\x52\x6c\x65"
    "\x48\x51\x41\x41\x41\x41\x41\x00\x18\x19\x70\x61\x72\x71\x75\x65\x74\x2d\x72\x73"
    "\x20\x76\x65\x72\x73\x69\x6f\x6e\x20\x35\x39\x2e\x33\x2e\x30\x19\x2c\x1c\x00\x00"
    "\x1c\x00\x00\x00\x2d\x02\x00\x00\x50\x41\x52\x31", 872);
const std::string kParquetText =
    " \n = Robert Boulter = \n \n Robert Boulter is an English film , television and theatre actor . \n"
    " = Robert Boulter = \n\xc3\xbcn\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9 \n";

// Restores the environment variables it saw when it goes out of scope.
class EnvGuard {
 public:
  EnvGuard() {
    for (const char* k : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HF_HUB_OFFLINE",
                          "HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "ATTNLAB_DATA_DIR"}) {
      const char* v = std::getenv(k);
      saved_[k] = v ? std::optional<std::string>(v) : std::nullopt;
    }
  }
  ~EnvGuard() {
    for (auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }
  void set(const char* k, const std::string& v) { setenv(k, v.c_str(), 1); }
  void unset(const char* k) { unsetenv(k); }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace

#include "fake_hub.h"


using hubtest::FakeHub;
using hubtest::Repo;

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

QByteArray file_bytes(const fs::path& p) { return QByteArray::fromStdString(read_text_file(p)); }

void expect_error(const std::function<void()>& f, const QStringList& needles) {
  try {
    f();
  } catch (const Error& e) {
    QString msg = QString::fromStdString(e.what());
    for (auto& n : needles) QVERIFY2(msg.contains(n), qPrintable("message '" + msg + "' lacks '" + n + "'"));
    return;
  }
  QFAIL(qPrintable("expected an attnlab::Error containing '" + needles.join("', '") + "'"));
}

const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

}  // namespace

class HubTest : public QObject {
  Q_OBJECT
  QThread thread_;
  FakeHub* hub_ = nullptr;
  fs::path tmp_, model_dir_;
  std::string endpoint_;
  torch::Tensor ref_logits_;
  std::unique_ptr<EnvGuard> env_;
  fs::path cache_;

  hub::HubOptions opts() {
    hub::HubOptions o;
    o.endpoint = endpoint_;
    o.cache_dir = cache_;
    o.retry_backoff_ms = 10;
    return o;
  }
  Repo model_repo() {
    Repo r;
    r.commit = kCommit;
    for (const char* f : {"config.json", "model.safetensors"}) r.files[f] = file_bytes(model_dir_ / f);
    r.files["generation_config.json"] = "{\"bos_token_id\": 0}\n";
    r.files["pytorch_model.bin"] = "pickle: never download me";
    r.files["README.md"] = "# tiny\n";
    r.lfs = {"model.safetensors", "pytorch_model.bin"};
    return r;
  }
  void add_repo(const QString& key, const Repo& r) {
    QMutexLocker l(&hub_->mu);
    hub_->repos[key] = r;
  }
  QStringList log() {
    QMutexLocker l(&hub_->mu);
    return hub_->log;
  }
  std::vector<fs::path> files_under(const fs::path& d) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(d, ec), e; !ec && it != e; it.increment(ec)) out.push_back(it->path());
    return out;
  }
  void check_loads(const fs::path& snap) {
    auto m = load_gpt2(snap);
    torch::NoGradGuard ng;
    auto ids = torch::tensor({1, 2, 3, 299}, torch::kLong).unsqueeze(0);
    QVERIFY(torch::allclose(m->forward(ids), ref_logits_));
  }

 private slots:
  void initTestCase() {
    tmp_ = testing::temp_dir("hub");
    model_dir_ = tmp_ / "model";
    auto m = random_gpt2(tiny_config(), 7);
    save_gpt2(m, model_dir_);
    torch::NoGradGuard ng;
    ref_logits_ = m->forward(torch::tensor({1, 2, 3, 299}, torch::kLong).unsqueeze(0));
    hub_ = new FakeHub;
    hub_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, hub_, &QObject::deleteLater);
    thread_.start();
    QMetaObject::invokeMethod(hub_, "start", Qt::BlockingQueuedConnection);
    QVERIFY(hub_->port != 0);
    endpoint_ = "http://127.0.0.1:" + std::to_string(hub_->port);
  }
  void cleanupTestCase() {
    if (hub_) QMetaObject::invokeMethod(hub_, "stop", Qt::BlockingQueuedConnection);
    thread_.quit();
    thread_.wait();
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
  void init() {
    env_ = std::make_unique<EnvGuard>();
    for (const char* k : {"HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) env_->unset(k);
    static int n = 0;
    cache_ = tmp_ / ("cache" + std::to_string(++n));
    QMutexLocker l(&hub_->mu);
    hub_->repos.clear();
    hub_->log.clear();
    hub_->drop_next = 0;
    hub_->corrupt = false;
  }
  void cleanup() { env_.reset(); }

  void cacheRootFromEnvironment() {
    env_->unset("HF_HUB_CACHE");
    env_->unset("HUGGINGFACE_HUB_CACHE");
    env_->unset("HF_HOME");
    env_->set("XDG_CACHE_HOME", "/x/cache");
    QCOMPARE(hub::HubCache::default_root(), fs::path("/x/cache/huggingface/hub"));
    env_->set("HF_HOME", "/x/hf");
    QCOMPARE(hub::HubCache::default_root(), fs::path("/x/hf/hub"));
    env_->set("HF_HUB_CACHE", "/x/hubcache");
    QCOMPARE(hub::HubCache::default_root(), fs::path("/x/hubcache"));
    QCOMPARE(hub::HubCache::repo_folder_name("gpt2", hub::RepoType::Model), std::string("models--gpt2"));
    QCOMPARE(hub::HubCache::repo_folder_name("openai-community/gpt2", hub::RepoType::Model),
             std::string("models--openai-community--gpt2"));
    QCOMPARE(hub::HubCache::repo_folder_name("Salesforce/wikitext", hub::RepoType::Dataset),
             std::string("datasets--Salesforce--wikitext"));
    expect_error([] { hub::HubCache("/x").repo_dir("../etc", hub::RepoType::Model); }, {"invalid repository id"});
  }

  void urlPolicy() {
    for (const char* ok : {"https://huggingface.co", "http://127.0.0.1:8080", "http://127.1.2.3/x", "http://localhost:1",
                           "http://[::1]:9000/"})
      hub::check_url_allowed(ok);
    for (const char* bad : {"http://huggingface.co", "http://127.evil.com", "http://10.0.0.1", "ftp://127.0.0.1",
                            "http://user@example.com"})
      expect_error([&] { hub::check_url_allowed(bad); }, {"http"});
    auto o = opts();
    o.endpoint = "http://example.com";
    expect_error([&] { hub::download_model("gpt2", o); }, {"refusing the insecure URL 'http://example.com'", "https://"});
    env_->set("HF_ENDPOINT", "http://hub.example.org/");
    o.endpoint.clear();
    expect_error([&] { hub::download_model("gpt2", o); }, {"refusing the insecure URL"});
    QVERIFY(log().isEmpty());
  }

  void fullDownload() {
    add_repo("models/gpt2", model_repo());
    int64_t last_done = -1, last_total = -2;
    auto progress = [&](int64_t d, int64_t t, const std::string& f) {
      if (f == "model.safetensors") last_done = d, last_total = t;
    };
    fs::path snap = hub::download_model("gpt2", opts(), progress);
    const fs::path repo = fs::absolute(cache_) / "models--gpt2";
    QCOMPARE(snap, repo / "snapshots" / kCommit);
    QCOMPARE(read_text_file(repo / "refs" / "main"), std::string(kCommit));
    const std::string st = read_text_file(model_dir_ / "model.safetensors");
    QCOMPARE(last_done, static_cast<int64_t>(st.size()));
    QCOMPARE(last_total, static_cast<int64_t>(st.size()));
    // Blobs named by content hash; snapshot entries are relative links into ../../blobs.
    const std::string sha = hub::sha256_hex(st);
    QVERIFY(fs::is_regular_file(repo / "blobs" / sha));
    QVERIFY(fs::is_symlink(snap / "model.safetensors"));
    QCOMPARE(fs::read_symlink(snap / "model.safetensors"), fs::path("../../blobs/" + sha));
    const std::string cfg = read_text_file(model_dir_ / "config.json");
    QCOMPARE(fs::read_symlink(snap / "config.json"), fs::path("../../blobs/" + hub::git_blob_sha1_hex(cfg)));
    QVERIFY(fs::exists(snap / "generation_config.json"));
    QVERIFY(!fs::exists(snap / "pytorch_model.bin"));
    QVERIFY(!fs::exists(snap / "README.md"));
    for (auto& l : log()) QVERIFY2(!l.contains("pytorch_model.bin") && !l.contains("README"), qPrintable(l));
    check_loads(snap);
    // A second download needs only the revision API call.
    int before = log().size();
    QCOMPARE(hub::download_model("gpt2", opts()), snap);
    QCOMPARE(log().size(), before + 1);
    // Listed as a cached model.
    auto models = hub::list_cached_models(cache_);
    auto it = std::find_if(models.begin(), models.end(), [](auto& m) { return m.origin == "hf-cache"; });
    QVERIFY(it != models.end());
    QCOMPARE(it->name, std::string("gpt2"));
    QCOMPARE(it->path, snap);
    QVERIFY(it->has_safetensors);
    QCOMPARE(it->model_type, std::string("gpt2"));
    QVERIFY(it->size_bytes >= static_cast<int64_t>(st.size()));
  }

  void resumeAfterDroppedConnection() {
    add_repo("models/org/tiny", model_repo());
    hub_->mu.lock();
    hub_->drop_next = 1;
    hub_->mu.unlock();
    fs::path snap = hub::download_model("org/tiny", opts());
    const auto size = read_text_file(model_dir_ / "model.safetensors").size();
    QStringList cdn = log().filter("GET /cdn/");
    QCOMPARE(cdn.size(), 2);
    QVERIFY2(cdn[0].trimmed().endsWith(hub::sha256_hex(read_text_file(model_dir_ / "model.safetensors")).c_str()),
             qPrintable(cdn[0]));
    QVERIFY2(cdn[1].endsWith("bytes=" + QString::number(size / 2) + "-"), qPrintable(cdn[1]));
    check_loads(snap);
  }

  void resumeInALaterRun() {
    add_repo("models/org/tiny", model_repo());
    hub_->mu.lock();
    hub_->drop_next = 1;
    hub_->mu.unlock();
    auto o = opts();
    o.max_retries = 0;
    expect_error([&] { hub::download_model("org/tiny", o); }, {"network error", endpoint_.c_str(), "/cdn/", "resume"});
    const std::string sha = hub::sha256_hex(read_text_file(model_dir_ / "model.safetensors"));
    const fs::path part = fs::absolute(cache_) / "models--org--tiny" / "blobs" / (sha + ".incomplete");
    QVERIFY(fs::exists(part));
    QVERIFY(fs::file_size(part) > 0);
    fs::path snap = hub::download_model("org/tiny", o);
    QVERIFY(!fs::exists(part));
    QVERIFY(log().filter("GET /cdn/").last().contains("bytes=" + QString::number(fs::file_size(snap / "model.safetensors") / 2) + "-"));
    check_loads(snap);
  }

  void checksumMismatchLeavesNothing() {
    add_repo("models/org/tiny", model_repo());
    hub_->mu.lock();
    hub_->corrupt = true;
    hub_->mu.unlock();
    expect_error([&] { hub::download_model("org/tiny", opts()); }, {"checksum mismatch", "model.safetensors", "sha256"});
    const fs::path repo = fs::absolute(cache_) / "models--org--tiny";
    const std::string sha = hub::sha256_hex(read_text_file(model_dir_ / "model.safetensors"));
    for (auto& p : files_under(repo)) {
      QVERIFY2(p.filename().string().find(sha) == std::string::npos, qPrintable(QString::fromStdString(p.string())));
      QVERIFY2(p.filename() != "model.safetensors", qPrintable(QString::fromStdString(p.string())));
    }
    QVERIFY(!fs::exists(repo / "refs" / "main"));
    // Not resolvable offline either.
    expect_error([&] { hub::cached_model_dir("org/tiny", "main", cache_); }, {"not in the Hugging Face cache"});
  }

  void notFound() {
    expect_error([&] { hub::download_model("nobody/missing", opts()); },
                 {"repository 'nobody/missing' not found on " + QString::fromStdString(endpoint_)});
  }

  void gatedRepository() {
    Repo r = model_repo();
    r.gated = true;
    add_repo("models/org/gated", r);
    expect_error([&] { hub::download_model("org/gated", opts()); },
                 {"'org/gated' is gated or private", "accept its licence", "HF_TOKEN"});
    env_->set("HF_TOKEN", "secret");  // the token unlocks it, and is sent only to the endpoint
    check_loads(hub::download_model("org/gated", opts()));
  }

  void refusesPickleOnlyRepositories() {
    Repo r = model_repo();
    r.files.remove("model.safetensors");
    add_repo("models/org/pickle", r);
    expect_error([&] { hub::download_model("org/pickle", opts()); }, {"no safetensors", "pytorch_model.bin"});
    QVERIFY(log().filter("resolve").isEmpty());
  }

  void offlineMode() {
    add_repo("models/gpt2", model_repo());
    fs::path snap = hub::download_model("gpt2", opts());
    { QMutexLocker l(&hub_->mu); hub_->repos.clear(); }  // a network use would now fail
    int before = log().size();
    env_->set("HF_HUB_OFFLINE", "1");
    QCOMPARE(hub::download_model("gpt2", opts()), snap);
    env_->set("HF_HUB_CACHE", cache_.string());
    QCOMPARE(hub::cached_model_dir("gpt2"), snap);
    // Python's cache under the current name serves the legacy one offline, and vice versa.
    QCOMPARE(hub::cached_model_dir("openai-community/gpt2"), snap);
    expect_error([&] { hub::download_model("org/uncached", opts()); },
                 {"'org/uncached'", "not in the Hugging Face cache", "HF_HUB_OFFLINE"});
    QCOMPARE(log().size(), before);
  }

  void cancelFlag() {
    add_repo("models/gpt2", model_repo());
    std::atomic<bool> cancel{true};
    try {
      hub::download_model("gpt2", opts(), {}, &cancel);
      QFAIL("expected DownloadCancelled");
    } catch (const hub::DownloadCancelled& e) {
      QVERIFY(QString(e.what()).contains("cancelled"));
    }
  }

  void parquetReader() {
    fs::path p = tmp_ / "t.parquet";
    write_file_atomic(p, kParquet.constData(), kParquet.size());
    auto rows = hub::read_parquet_strings(p, "text");
    QCOMPARE(rows.size(), size_t(6));
    QCOMPARE(rows[0], std::string());
    QCOMPARE(rows[1], std::string(" = Robert Boulter = \n"));
    QCOMPARE(rows[5], std::string("\xc3\xbcn\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9 \n"));
    expect_error([&] { hub::read_parquet_strings(p, "nope"); }, {"no column 'nope'", "text"});
    write_file_atomic(p, std::string("PAR1 not really PAR1"));
    expect_error([&] { hub::read_parquet_strings(p, "text"); }, {"corrupt"});
    QCOMPARE(hub::snappy_decompress(std::string("\x0a\x10hello\x05\x05", 9)), std::string("hellohello"));
  }

  void wikitextDataset() {
    Repo r;
    r.commit = "fedcba9876543210fedcba9876543210fedcba98";
    for (const char* split : {"train", "validation", "test"})
      r.files[QString("wikitext-2-raw-v1/%1-00000-of-00001.parquet").arg(split)] = kParquet;
    r.files["wikitext-103-raw-v1/train-00000-of-00002.parquet"] = "not fetched";
    r.files["README.md"] = "# wikitext\n";
    for (auto it = r.files.begin(); it != r.files.end(); ++it)
      if (it.key().endsWith(".parquet")) r.lfs.insert(it.key());
    add_repo("datasets/Salesforce/wikitext", r);
    fs::path data = tmp_ / ("data-" + cache_.filename().string());
    fs::path dir = hub::download_dataset_wikitext("wikitext-2-raw-v1", opts(), {}, nullptr, data);
    QCOMPARE(dir, data / "wikitext-2-raw-v1");
    for (const char* split : {"train", "valid", "test"}) {
      fs::path f = find_split_file(dir, split);
      QCOMPARE(read_text_file(f), kParquetText);
    }
    QVERIFY(fs::is_directory(fs::absolute(cache_) / "datasets--Salesforce--wikitext" / "snapshots" / r.commit.toStdString() /
                             "wikitext-2-raw-v1"));
    for (auto& l : log()) QVERIFY2(!l.contains("wikitext-103"), qPrintable(l));
    expect_error([&] { hub::download_dataset_wikitext("wikitext-7", opts(), {}, nullptr, data); },
                 {"no configuration 'wikitext-7'", "wikitext-2-raw-v1", "wikitext-103-raw-v1"});
  }
};

ATTNLAB_TEST(HubTest, "hub")
#include "test_hub.moc"
