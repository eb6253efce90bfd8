// GPT-2 tokenizer: golden ids from independent references (js-tiktoken, gpt-3-encoder,
// encoder.py's logic; tests/fixtures/tokenizer/README.md), whole-corpus hashes, the invalid
// UTF-8 policy, file formats and errors, thread safety.
#include <torch/torch.h>  // LibTorch first, always

#include <QtTest/QtTest>
#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "common/error.h"
#include "common/fs.h"
#include "test_registry.h"
#include "test_util.h"
#include "tokenizer/gpt2_tokenizer.h"

using attnlab::Gpt2Tokenizer;
namespace fs = std::filesystem;

namespace {

using Ids = std::vector<int32_t>;

fs::path tok_dir() { return attnlab::testing::resources() / "tokenizer"; }

const Gpt2Tokenizer& tok() {
  static Gpt2Tokenizer t = Gpt2Tokenizer::bundled();
  return t;
}

// Standard FNV-1a 64 over int32 LE ids (the fixture's definition; explicit offset basis).
std::string corpus_hash(const Ids& ids) {
  static_assert(sizeof(int32_t) == 4, "");
  return attnlab::fnv1a_hex(ids.data(), ids.size() * sizeof(int32_t), 0xcbf29ce484222325ull);
}

std::string show(const Ids& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}

int32_t byte_token(unsigned char b) {
  static std::vector<int32_t> table = [] {
    std::vector<int32_t> t(256, -1);
    for (int32_t id = 0; id < static_cast<int32_t>(tok().vocab_size()); ++id) {
      std::string bytes = tok().token_bytes(id);
      if (bytes.size() == 1) t[static_cast<unsigned char>(bytes[0])] = id;
    }
    return t;
  }();
  return table[b];
}

Ids concat(std::initializer_list<Ids> parts) {
  Ids out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Runs f, expects attnlab::Error whose message contains every needle.
template <class F>
void expect_error(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
  } catch (const attnlab::Error& e) {
    std::string msg = e.what();
    for (auto& n : needles)
      QVERIFY2(msg.find(n) != std::string::npos, ("message lacks '" + n + "': " + msg).c_str());
    return;
  } catch (const std::exception& e) {
    QFAIL((std::string("expected attnlab::Error, got: ") + e.what()).c_str());
  }
  QFAIL("expected attnlab::Error, nothing thrown");
}

void write(const fs::path& p, const std::string& s) {
  std::ofstream o(p, std::ios::binary);
  o << s;
}

// A tiny byte-level vocab: GPT-2's 256 byte tokens (ids 0..255 in GPT-2 too), the given extra
// tokens, then <|endoftext|> unless told otherwise.
nlohmann::json tiny_vocab(const std::vector<std::string>& extra, bool with_eot = true) {
  auto full = nlohmann::json::parse(attnlab::read_text_file(tok_dir() / "vocab.json"));
  nlohmann::json v = nlohmann::json::object();
  for (auto it = full.begin(); it != full.end(); ++it)
    if (it.value().get<int>() < 256) v[it.key()] = it.value();
  int next = 256;
  for (auto& e : extra) v[e] = next++;
  if (with_eot) v["<|endoftext|>"] = next;
  return v;
}

}  // namespace

class TokenizerTest : public QObject {
  Q_OBJECT
 private slots:
  void golden();
  void golden_without_cache_and_heap_bpe();
  void wikitext_corpora();
  void roundtrip_random_bytes();
  void invalid_utf8_policy();
  void long_inputs();
  void special_token();
  void decode_and_labels();
  void fingerprint();
  void openai_file_names();
  void merges_file_variants();
  void bad_files_clear_errors();
  void threads_share_one_tokenizer();
};

void TokenizerTest::golden() {
  std::ifstream in(attnlab::testing::fixtures() / "tokenizer" / "golden.jsonl");
  QVERIFY(in.good());
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    std::string text = j.at("text").get<std::string>();
    Ids want = j.at("ids").get<Ids>();
    Ids got = tok().encode(text);
    QVERIFY2(got == want, ("text " + nlohmann::json(text).dump() + ": got " + show(got) + ", want " + show(want)).c_str());
    QCOMPARE(tok().decode(got), text);
    ++n;
  }
  QVERIFY2(n >= 80, "golden.jsonl should hold 80+ cases");
}

void TokenizerTest::golden_without_cache_and_heap_bpe() {
  // Every path gives the same ids: quadratic passes (no cache), heap BPE for every piece.
  Gpt2Tokenizer passes = Gpt2Tokenizer::bundled(), heap = Gpt2Tokenizer::bundled();
  passes.set_cache_capacity(0);
  passes.set_bpe_heap_threshold(SIZE_MAX);
  heap.set_cache_capacity(0);
  heap.set_bpe_heap_threshold(0);
  std::ifstream in(attnlab::testing::fixtures() / "tokenizer" / "golden.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    std::string text = j.at("text").get<std::string>();
    Ids want = j.at("ids").get<Ids>();
    QVERIFY2(passes.encode(text) == want, text.c_str());
    QVERIFY2(heap.encode(text) == want, text.c_str());
  }
}

void TokenizerTest::wikitext_corpora() {
  auto ref = nlohmann::json::parse(
      attnlab::read_text_file(attnlab::testing::fixtures() / "tokenizer" / "corpus_hashes.json"));
  Gpt2Tokenizer heap = Gpt2Tokenizer::bundled();
  heap.set_cache_capacity(0);
  heap.set_bpe_heap_threshold(0);
  for (std::string split : {"valid", "test", "train"}) {
    auto& r = ref.at("files").at(split);
    std::string text = attnlab::read_text_file(attnlab::testing::resources() / "data" / "wikitext-2" / (split + ".txt"));
    QCOMPARE(text.size(), r.at("bytes").get<size_t>());
    Ids ids = tok().encode(text);
    QCOMPARE(ids.size(), r.at("tokens").get<size_t>());
    QCOMPARE(corpus_hash(ids), r.at("fnv1a64_int32le").get<std::string>());
    QVERIFY(tok().decode(ids) == text);
    if (split == "valid") QCOMPARE(corpus_hash(heap.encode(text)), corpus_hash(ids));
  }
}

void TokenizerTest::roundtrip_random_bytes() {
  std::mt19937 rng(1234);
  Gpt2Tokenizer nocache = Gpt2Tokenizer::bundled();
  nocache.set_cache_capacity(0);
  nocache.set_bpe_heap_threshold(0);
  const std::vector<std::string> atoms = {"a", "Z", "é", "日本", "😀", "\xCC\x81", " ", "  ", "\n", "\t", "\xC2\xA0",
                                          "\xE3\x80\x80", "'s", "'LL", "1", "42", "!", "<|endoftext|>", "\xC2\x85",
                                          "\xEF\xBB\xBF", "\xFF", "\xE2\x82", "\x80", "\xED\xA0\x80", "\xC0\xAF", "\x00"};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s;
    size_t len = rng() % 60;
    if (iter % 3 == 0) {  // uniform random bytes
      for (size_t i = 0; i < len; ++i) s.push_back(static_cast<char>(rng() & 0xFF));
    } else {  // text-like soup with stray invalid bytes
      for (size_t i = 0; i < len; ++i) s += atoms[rng() % atoms.size()];
    }
    for (bool special : {true, false}) {
      Ids ids = tok().encode(s, special);
      for (int32_t id : ids) QVERIFY(id >= 0 && id < static_cast<int32_t>(tok().vocab_size()));
      QVERIFY2(tok().decode(ids) == s,
               nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace).c_str());
      QVERIFY(nocache.encode(s, special) == ids);
    }
  }
}

void TokenizerTest::invalid_utf8_policy() {
  // Invalid bytes never match the regex: each is its own byte token, and it ends the valid
  // run before it like the end of text would.
  auto& t = tok();
  const Ids ab = t.encode("ab"), cd = t.encode("cd");
  QCOMPARE(t.encode("\xFF"), Ids{byte_token(0xFF)});
  QCOMPARE(t.encode("ab\xFF" "cd"), concat({ab, {byte_token(0xFF)}, cd}));
  QCOMPARE(t.encode("\xE2\x82"), (Ids{byte_token(0xE2), byte_token(0x82)}));  // truncated "€"
  QCOMPARE(t.encode("\xC0\xAF"), (Ids{byte_token(0xC0), byte_token(0xAF)}));  // overlong "/"
  QCOMPARE(t.encode("\xED\xA0\x80"), (Ids{byte_token(0xED), byte_token(0xA0), byte_token(0x80)}));  // surrogate
  QCOMPARE(t.encode("\xF4\x90\x80\x80"),
           (Ids{byte_token(0xF4), byte_token(0x90), byte_token(0x80), byte_token(0x80)}));  // > U+10FFFF
  QCOMPARE(t.encode("\x80" "ab"), concat({{byte_token(0x80)}, ab}));
  // "a  \xFF": the spaces before the barrier behave as trailing whitespace ("a", "  ").
  QCOMPARE(t.encode("a  \xFF"), concat({t.encode("a  "), {byte_token(0xFF)}}));
  QCOMPARE(t.encode("x\xFF y"), concat({t.encode("x"), {byte_token(0xFF)}, t.encode(" y")}));
  // A valid emoji cut by a stray byte keeps its own bytes intact.
  QCOMPARE(t.encode("\xF0\x9F\x98\x80\xFF"), concat({t.encode("\xF0\x9F\x98\x80"), {byte_token(0xFF)}}));
  // Every byte value alone round-trips to its byte token; valid ASCII is unaffected.
  for (int b = 0; b < 256; ++b) {
    std::string s(1, static_cast<char>(b));
    QCOMPARE(t.encode(s), Ids{byte_token(static_cast<unsigned char>(b))});
  }
}

void TokenizerTest::long_inputs() {
  // Single huge pieces (heap BPE), long whitespace runs (regex backtracking), invalid runs.
  auto& t = tok();
  const size_t n = 1 << 20;
  for (std::string s : {std::string(n, 'a'), std::string(n, ' ') + "x", std::string(n, '\n'), std::string(n, '7'),
                        std::string(n, '!'), std::string(n, '\xFF'), std::string(n, 'a') + "\xFF" + std::string(n, ' ')}) {
    Ids ids = t.encode(s);
    QVERIFY(!ids.empty());
    QVERIFY(t.decode(ids) == s);
  }
  std::string combining;
  for (int i = 0; i < 100000; ++i) combining += "e\xCC\x81";
  QVERIFY(t.decode(t.encode(combining)) == combining);
  // A long random-letter word: heap BPE == the quadratic loop.
  std::mt19937 rng(7);
  std::string word;
  for (int i = 0; i < 3000; ++i) word.push_back(static_cast<char>('a' + rng() % 26));
  Gpt2Tokenizer passes = Gpt2Tokenizer::bundled();
  passes.set_cache_capacity(0);
  passes.set_bpe_heap_threshold(SIZE_MAX);
  QCOMPARE(t.encode(word), passes.encode(word));
  QCOMPARE(t.encode(" " + word + "'s"), passes.encode(" " + word + "'s"));
}

void TokenizerTest::special_token() {
  auto& t = tok();
  QCOMPARE(t.eot_id(), 50256);
  QCOMPARE(t.vocab_size(), size_t(50257));
  QCOMPARE(t.encode("<|endoftext|>"), Ids{50256});
  QCOMPARE(t.encode("<|endoftext|>", false), (Ids{27, 91, 437, 1659, 5239, 91, 29}));
  QCOMPARE(t.encode("a<|endoftext|>b", false), (Ids{64, 27, 91, 437, 1659, 5239, 91, 29, 65}));
  QCOMPARE(t.encode("a<|endoftext|>b"), (Ids{64, 50256, 65}));
  QCOMPARE(t.decode({50256}), std::string("<|endoftext|>"));
  QCOMPARE(t.token_bytes(50256), std::string("<|endoftext|>"));
  // The segments around the special token are pre-tokenized separately.
  QCOMPARE(t.encode("x <|endoftext|> y"), concat({t.encode("x "), {50256}, t.encode(" y")}));
}

void TokenizerTest::decode_and_labels() {
  auto& t = tok();
  QCOMPARE(t.token_bytes(220), std::string(" "));
  QCOMPARE(t.token_bytes(198), std::string("\n"));
  QCOMPARE(t.token_bytes(262), std::string(" the"));
  QCOMPARE(t.token_label(262), std::string("\xE2\x90\xA3the"));
  QCOMPARE(t.token_label(198), std::string("\\n"));
  QCOMPARE(t.token_label(byte_token(0xE2)), std::string("\\xE2"));
  QCOMPARE(t.token_label(byte_token(0x00)), std::string("\\x00"));
  QCOMPARE(t.token_label(50256), std::string("<|endoftext|>"));
  Ids cafe = t.encode("café");
  std::string joined;
  for (int32_t id : cafe) joined += t.token_bytes(id);
  QCOMPARE(joined, std::string("café"));
  expect_error([&] { t.decode({1, -1}); }, {"-1", "outside the vocabulary"});
  expect_error([&] { t.decode({50257}); }, {"50257"});
  expect_error([&] { t.token_bytes(1 << 30); }, {"outside the vocabulary"});
  expect_error([&] { t.token_label(-5); }, {"-5"});
  QCOMPARE(t.decode({}), std::string());
  QCOMPARE(t.encode(""), Ids{});
}

void TokenizerTest::fingerprint() {
  std::string v = attnlab::read_text_file(tok_dir() / "vocab.json");
  std::string m = attnlab::read_text_file(tok_dir() / "merges.txt");
  std::string both = v + m;
  QCOMPARE(tok().fingerprint(), attnlab::fnv1a_hex(both.data(), both.size()));
  QCOMPARE(Gpt2Tokenizer::bundled().fingerprint(), tok().fingerprint());
  // A different merges file (one merge dropped) gives a different fingerprint.
  auto dir = attnlab::testing::temp_dir("tok-fp");
  write(dir / "vocab.json", v);
  write(dir / "merges.txt", m.substr(0, m.rfind('\n', m.size() - 2) + 1));
  QVERIFY(Gpt2Tokenizer::from_dir(dir).fingerprint() != tok().fingerprint());
  fs::remove_all(dir);
}

void TokenizerTest::openai_file_names() {
  auto dir = attnlab::testing::temp_dir("tok-openai");
  fs::copy_file(tok_dir() / "vocab.json", dir / "encoder.json");
  fs::copy_file(tok_dir() / "merges.txt", dir / "vocab.bpe");
  Gpt2Tokenizer o = Gpt2Tokenizer::from_dir(dir);
  const std::string text = "OpenAI's encoder.json + vocab.bpe 🤖\n";
  QCOMPARE(o.encode(text), tok().encode(text));
  QCOMPARE(o.fingerprint(), tok().fingerprint());
  Gpt2Tokenizer f = Gpt2Tokenizer::from_files(dir / "encoder.json", dir / "vocab.bpe");
  QCOMPARE(f.encode(text), tok().encode(text));
  fs::remove_all(dir);
}

void TokenizerTest::merges_file_variants() {
  auto dir = attnlab::testing::temp_dir("tok-variants");
  fs::copy_file(tok_dir() / "vocab.json", dir / "vocab.json");
  std::string m = attnlab::read_text_file(tok_dir() / "merges.txt");
  const std::string text = "Windows line endings, no version line: still GPT-2.\r\n";
  // CRLF line endings.
  std::string crlf;
  for (char c : m) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  write(dir / "merges.txt", crlf);
  QCOMPARE(Gpt2Tokenizer::from_dir(dir).encode(text), tok().encode(text));
  // No "#version" header.
  write(dir / "merges.txt", m.substr(m.find('\n') + 1));
  QCOMPARE(Gpt2Tokenizer::from_dir(dir).encode(text), tok().encode(text));
  // A tiny vocab: merges apply by rank; pieces without merges stay bytes.
  fs::path tiny = dir / "tiny";
  fs::create_directories(tiny);
  write(tiny / "vocab.json", tiny_vocab({"ab", "abc", "\xC4\xA0" "a"}).dump());  // "Ġa"
  write(tiny / "merges.txt", "#version: 0.2\na b\nab c\n\xC4\xA0 a\n");
  Gpt2Tokenizer tt = Gpt2Tokenizer::from_dir(tiny);
  QCOMPARE(tt.vocab_size(), size_t(260));
  QCOMPARE(tt.eot_id(), 259);
  // "abcab a": "abc" + "ab" are merged, " a" -> "Ġa"; GPT-2 byte ids: 'c' = 66, 'x' = 87.
  QCOMPARE(tt.encode("abcab a"), (Ids{257, 256, 258}));
  QCOMPARE(tt.encode("xabc<|endoftext|>"), (Ids{87, 257, 259}));
  QCOMPARE(tt.decode(tt.encode("xabc ab")), std::string("xabc ab"));
  // Out-of-order merges ("ab a" ranks before "a b", which makes "ab"): encoder.py's loop merges
  // every "a b" first, so "abab" -> "ab" "ab", where one merge at a time would give "aba" "b".
  // The heap BPE is then never used, whatever the threshold.
  write(tiny / "vocab.json", tiny_vocab({"ab", "aba"}).dump());
  write(tiny / "merges.txt", "ab a\na b\n");
  Gpt2Tokenizer oo = Gpt2Tokenizer::from_dir(tiny);
  oo.set_bpe_heap_threshold(0);
  oo.set_cache_capacity(0);
  QCOMPARE(oo.encode("abab"), (Ids{256, 256}));
  QCOMPARE(oo.encode("aba"), (Ids{257}));
  fs::remove_all(dir);
}

void TokenizerTest::bad_files_clear_errors() {
  auto dir = attnlab::testing::temp_dir("tok-bad");
  const std::string v = dir.string();
  // No files / half a pair.
  expect_error([&] { Gpt2Tokenizer::from_dir(dir); }, {v, "vocab.json", "merges.txt", "encoder.json", "vocab.bpe"});
  write(dir / "vocab.json", "{}");
  expect_error([&] { Gpt2Tokenizer::from_dir(dir); }, {"vocab.json", "no merges.txt"});
  fs::remove(dir / "vocab.json");
  write(dir / "vocab.bpe", "#version: 0.2\n");
  expect_error([&] { Gpt2Tokenizer::from_dir(dir); }, {"vocab.bpe", "no encoder.json"});
  fs::remove(dir / "vocab.bpe");

  const std::string good_merges = "#version: 0.2\na b\n";
  auto load = [&](const std::string& vocab, const std::string& merges) {
    write(dir / "vocab.json", vocab);
    write(dir / "merges.txt", merges);
    return Gpt2Tokenizer::from_dir(dir);
  };
  expect_error([&] { load("{\"a\": 0,", good_merges); }, {(dir / "vocab.json").string(), "malformed JSON"});
  expect_error([&] { load("[1, 2]", good_merges); }, {"vocab.json", "JSON object"});
  expect_error([&] { load("{\"a\": \"zero\"}", good_merges); }, {"vocab.json", "non-integer id"});
  expect_error([&] { load("{\"a\": 0, \"b\": 0}", good_merges); }, {"vocab.json", "id 0 is used twice"});
  expect_error([&] { load("{\"a\": 5}", good_merges); }, {"vocab.json", "id 5", "no gaps"});
  expect_error([&] { load("{\"a\": 0}", good_merges); }, {"vocab.json", "no token for byte 0x00"});
  expect_error([&] { load(tiny_vocab({"ab"}, false).dump(), good_merges); }, {"vocab.json", "<|endoftext|>"});
  const std::string vocab = tiny_vocab({"ab"}).dump();
  expect_error([&] { load(vocab, "#version: 0.2\na b\nabc\n"); },
               {(dir / "merges.txt").string(), "line 3", "two symbols", "'abc'"});
  expect_error([&] { load(vocab, "#version: 0.2\na  b\n"); }, {"merges.txt", "line 2", "two symbols"});
  expect_error([&] { load(vocab, "#version: 0.2\na b c\n"); }, {"merges.txt", "line 2"});
  expect_error([&] { load(vocab, "a b\nfoo b\n"); }, {"merges.txt", "line 2", "'foo'", "not in the vocab"});
  expect_error([&] { load(vocab, "a b\nb c\n"); }, {"merges.txt", "line 2", "'bc'", "merge result"});
  expect_error([&] { load(vocab, "#version: 0.2\n"); }, {"merges.txt", "no merges"});
  // Invalid UTF-8 inside the JSON file is a JSON error too.
  expect_error([&] { load("{\"\xFF\": 0}", good_merges); }, {"vocab.json", "malformed JSON"});
  // Sanity: the same tiny files load once fixed.
  QCOMPARE(load(vocab, good_merges).vocab_size(), size_t(258));
  // Missing file via from_files names it.
  expect_error([&] { Gpt2Tokenizer::from_files(dir / "nope.json", dir / "merges.txt"); }, {"nope.json"});
  fs::remove_all(dir);
}

void TokenizerTest::threads_share_one_tokenizer() {
  // One tokenizer, 4 threads, a small cache that keeps overflowing: same ids as serial.
  std::string text = attnlab::read_text_file(attnlab::testing::resources() / "data" / "wikitext-2" / "test.txt");
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size() && lines.size() < 4000;) {
    size_t e = text.find('\n', pos);
    if (e == std::string::npos) e = text.size();
    lines.push_back(text.substr(pos, e - pos + 1));
    pos = e + 1;
  }
  Gpt2Tokenizer shared = Gpt2Tokenizer::bundled();
  shared.set_cache_capacity(256);
  std::vector<Ids> want;
  for (auto& l : lines) want.push_back(tok().encode(l));
  std::atomic<int> bad{0};
  std::vector<std::thread> th;
  for (int k = 0; k < 4; ++k)
    th.emplace_back([&, k] {
      for (int rep = 0; rep < 2; ++rep)
        for (size_t i = static_cast<size_t>(k); i < lines.size(); i += 1 + static_cast<size_t>(k) % 2)
          if (shared.encode(lines[i]) != want[i]) ++bad;
      shared.clear_cache();
    });
  for (auto& t : th) t.join();
  QCOMPARE(bad.load(), 0);
}

ATTNLAB_TEST(TokenizerTest, "tokenizer")
#include "test_tokenizer.moc"
