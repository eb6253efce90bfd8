// Text generation (engine/generate): greedy = the argmax of an independent forward pass per
// step, context cropping, seeded sampling, the top-k / top-p limits, end-of-text, and the
// no-repeat-n-gram ban against a brute-force recomputation.
#include <torch/torch.h>

#include <QtTest/QtTest>
#include <set>

#include "common/error.h"
#include "generate/generate.h"
#include "model/gpt2.h"
#include "test_registry.h"

using namespace attnlab;

namespace {

Gpt2 tiny_model(int64_t vocab, int64_t positions, uint64_t seed) {
  Gpt2Config c;
  c.vocab_size = vocab;
  c.n_positions = positions;
  c.n_embd = 16;
  c.n_layer = 1;
  c.n_head = 2;
  auto m = random_gpt2(c, seed);
  m->eval();
  return m;
}

/// Last-position logits of `seq` cropped to the model's context, by a full forward pass.
torch::Tensor next_logits(Gpt2Impl& m, const std::vector<int32_t>& seq) {
  torch::NoGradGuard ng;
  const auto start = std::max<int64_t>(0, static_cast<int64_t>(seq.size()) - m.cfg.n_positions);
  std::vector<int64_t> w(seq.begin() + start, seq.end());
  auto logits = m.forward(torch::tensor(w, torch::kLong).unsqueeze(0));
  return logits[0][logits.size(1) - 1];
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

class GenerateTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void greedyIsTheArgmaxOfEachStepAndCropsTheContext() {
    auto m = tiny_model(50, 8, 1);
    const std::vector<int32_t> prompt = {3, 14, 15, 9, 2};
    GenerateOptions o;
    o.max_new_tokens = 20;  // 25 tokens > 8 positions: every later step sees the last 8
    auto out = generate(*m, prompt, o);
    QCOMPARE(out.size(), size_t(20));
    std::vector<int32_t> seq = prompt;
    for (int32_t t : out) {
      QCOMPARE(t, static_cast<int32_t>(next_logits(*m, seq).argmax().item<int64_t>()));
      seq.push_back(t);
    }
  }

  void samplingIsSeededAndTheLimitsReduceToGreedy() {
    auto m = tiny_model(50, 32, 2);
    const std::vector<int32_t> prompt = {1, 2, 3};
    GenerateOptions g;
    g.max_new_tokens = 24;
    const auto greedy = generate(*m, prompt, g);
    GenerateOptions s = g;
    s.greedy = false;
    s.temperature = 1.5;
    s.seed = 7;
    const auto a = generate(*m, prompt, s), b = generate(*m, prompt, s);
    QCOMPARE(a, b);  // same seed, same tokens
    s.seed = 8;
    QVERIFY(generate(*m, prompt, s) != a);  // 24 draws from a flat-ish distribution over 50 ids
    QVERIFY(a != greedy);
    GenerateOptions k1 = s;
    k1.top_k = 1;  // only the argmax survives
    QCOMPARE(generate(*m, prompt, k1), greedy);
    GenerateOptions p0 = s;
    p0.top_p = 1e-6;  // the smallest prefix reaching top_p is the argmax alone
    QCOMPARE(generate(*m, prompt, p0), greedy);
    // Bad options are refused with the option named.
    GenerateOptions bad = s;
    bad.top_p = 0;
    QVERIFY_THROWS_EXCEPTION(Error, generate(*m, prompt, bad));
    bad = s;
    bad.temperature = 0;
    QVERIFY_THROWS_EXCEPTION(Error, generate(*m, prompt, bad));
    bad = g;
    bad.no_repeat_ngram = -1;
    QVERIFY_THROWS_EXCEPTION(Error, generate(*m, prompt, bad));
    QVERIFY_THROWS_EXCEPTION(Error, generate(*m, {}, g));
  }

  void stopsAtEndOfText() {
    auto m = tiny_model(50, 32, 3);
    GenerateOptions g;
    g.max_new_tokens = 10;
    const auto free = generate(*m, {5, 6}, g);
    m->cfg.eos_token_id = free.at(0);  // make the first greedy token the end-of-text id
    QCOMPARE(generate(*m, {5, 6}, g), std::vector<int32_t>{free.at(0)});
    g.stop_at_eot = false;
    QCOMPARE(generate(*m, {5, 6}, g), free);
  }

  void bannedByNgramFindsEveryEarlierContinuation() {
    //            0  1  2  3  4  5  6  7
    const std::vector<int32_t> seq = {4, 7, 1, 4, 7, 2, 4, 7};
    auto sorted = [](std::vector<int32_t> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    QCOMPARE(sorted(banned_by_ngram(seq, 3)), (std::vector<int32_t>{1, 2}));  // "4 7" was followed by 1, 2
    QCOMPARE(sorted(banned_by_ngram(seq, 2)), (std::vector<int32_t>{1, 2}));  // "7" -> 1, 2
    QVERIFY(banned_by_ngram(seq, 4).empty());  // "2 4 7" has no earlier occurrence
    QCOMPARE(banned_by_ngram({1, 4, 7, 9, 1, 4, 7}, 4), (std::vector<int32_t>{9}));
    QCOMPARE(banned_by_ngram(seq, 1), seq);
    QVERIFY(banned_by_ngram(seq, 0).empty());
    QVERIFY(banned_by_ngram({1, 2}, 3).empty());  // shorter than n
  }

  void noRepeatNgramBansRepeatsExactly() {
    // Six ids: plain greedy over 40 tokens must repeat a bigram (36 exist, 43 are made).
    auto m = tiny_model(6, 64, 4);
    const std::vector<int32_t> prompt = {0, 1, 2, 3};
    GenerateOptions g;
    g.max_new_tokens = 40;
    const auto plain = generate(*m, prompt, g);
    QVERIFY(distinct_ngram_ratio(concat(prompt, plain), 2) < 1.0);
    for (int n : {2, 3}) {
      GenerateOptions o = g;
      o.no_repeat_ngram = n;
      o.max_new_tokens = n == 2 ? 12 : 40;  // stay where a non-repeating continuation exists
      const auto out = generate(*m, prompt, o);
      QCOMPARE(static_cast<int64_t>(out.size()), o.max_new_tokens);
      const auto full = concat(prompt, out);
      QVERIFY2(distinct_ngram_ratio(full, n) == 1.0, qPrintable(QString("n = %1").arg(n)));
      // Each token is the argmax over the ids not banned by a brute-force scan of all n-grams.
      std::vector<int32_t> seq = prompt;
      for (int32_t t : out) {
        auto logits = next_logits(*m, seq);
        std::set<std::vector<int32_t>> seen;
        for (size_t i = 0; i + n <= seq.size(); ++i) seen.emplace(seq.begin() + i, seq.begin() + i + n);
        for (int32_t v = 0; v < 6; ++v) {
          std::vector<int32_t> cand(seq.end() - (n - 1), seq.end());
          cand.push_back(v);
          if (seen.count(cand)) logits[v] = -std::numeric_limits<float>::infinity();
        }
        QCOMPARE(t, static_cast<int32_t>(logits.argmax().item<int64_t>()));
        seq.push_back(t);
      }
    }
    // Sampling honours the ban too.
    GenerateOptions s = g;
    s.greedy = false;
    s.seed = 3;
    s.no_repeat_ngram = 3;
    QCOMPARE(distinct_ngram_ratio(concat(prompt, generate(*m, prompt, s)), 3), 1.0);
  }
};

ATTNLAB_TEST(GenerateTest, "generate")
#include "test_generate.moc"
