// attnlab-cli tokenize / bench tokenizer: GPT-2 BPE from scripts, and its throughput.
#include <algorithm>
#include <chrono>
#include <climits>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "common/error.h"
#include "common/fs.h"
#include "tokenizer/gpt2_tokenizer.h"

namespace attnlab::cli {
namespace {

// "[1, 2, 3]" or "1,2,3" or "1 2 3" -> ids.
std::vector<int32_t> parse_ids(const std::string& s, const std::string& what) {
  std::vector<int32_t> ids;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    try {
      size_t used = 0;
      long long v = std::stoll(cur, &used);
      if (used != cur.size() || v < INT32_MIN || v > INT32_MAX) throw std::out_of_range("id");
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      throw Error(what + ": '" + cur + "' is not a token id; expected integers like [15496, 995] or 15496,995");
    }
    cur.clear();
  };
  for (char c : s) {
    if (c == '[' || c == ']' || c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') flush();
    else cur.push_back(c);
  }
  flush();
  return ids;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// --model: a folder that must exist; its tokenizer files, else (a model saved without them)
// the bundled GPT-2 tokenizer, as for `logits --text`. Empty: bundled.
Gpt2Tokenizer load_tokenizer(const std::string& model) {
  if (!model.empty() && !std::filesystem::is_directory(model))
    throw Error("--model: '" + model + "' is not a folder");
  return tokenizer_for_model(model);
}

// Runs f `repeat` times; best and median wall seconds.
template <class F>
nlohmann::json timed(int repeat, size_t tokens, size_t bytes, F&& f) {
  std::vector<double> s;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    s.push_back(seconds_since(t0));
  }
  std::sort(s.begin(), s.end());
  double best = s.front(), median = s[s.size() / 2];
  return {{"best_s", best},
          {"median_s", median},
          {"tokens_per_s", tokens / best},
          {"tokens_per_s_median", tokens / median},
          {"mb_per_s", bytes / best / 1e6}};
}

void setup(CLI::App& root) {
  {
    auto* cmd = root.add_subcommand(
        "tokenize", "GPT-2 BPE: print the ids of --text/--file as a JSON array (--decode: ids -> text)");
    struct Opts {
      std::string model, text, file;
      bool decode = false, no_special = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("--model", o->model,
                    "model folder with vocab.json + merges.txt or encoder.json + vocab.bpe (else, and by default: bundled GPT-2)");
    auto* text = cmd->add_option("--text", o->text, "the input");
    auto* file = cmd->add_option("--file", o->file, "read the input from this file (bytes as is)");
    text->excludes(file);
    cmd->add_flag("--decode", o->decode,
                  "the input is token ids (JSON array or comma/space separated); print their text, byte-exact");
    cmd->add_flag("--no-special", o->no_special, "encode \"<|endoftext|>\" as plain text, not as its id");
    cmd->callback([o, text, file] {
      if (text->count() == 0 && file->count() == 0) throw Error("tokenize: give --text or --file");
      std::string input = file->count() ? read_text_file(o->file) : o->text;
      Gpt2Tokenizer tok = load_tokenizer(o->model);
      if (o->decode) {
        std::string out = tok.decode(parse_ids(input, file->count() ? o->file : std::string("--text")));
        std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
        std::cout.flush();
        return;
      }
      std::cout << nlohmann::json(tok.encode(input, !o->no_special)).dump() << "\n";
    });
  }
  {
    auto* cmd = bench_group(root).add_subcommand(
        "tokenizer", "GPT-2 BPE throughput on one core: encode without/with cache, decode (JSON)");
    struct Opts {
      std::string file, model;
      int repeat = 5;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("--file", o->file, "text to encode as one string (default: bundled WikiText-2 valid.txt)");
    cmd->add_option("--model", o->model, "tokenizer folder (default: bundled GPT-2)");
    cmd->add_option("--repeat", o->repeat, "runs per measurement; best and median are reported")
        ->check(CLI::Range(1, 1000));
    cmd->callback([o] {
      std::string path = o->file.empty()
                             ? (resources_dir() / "data" / "wikitext-2" / "valid.txt").string()
                             : o->file;
      std::string text = read_text_file(path);
      auto t0 = std::chrono::steady_clock::now();
      Gpt2Tokenizer tok = load_tokenizer(o->model);
      double load_s = seconds_since(t0);
      std::vector<int32_t> ids = tok.encode(text);
      const size_t n = ids.size(), bytes = text.size();
      nlohmann::json j = {{"file", path}, {"bytes", bytes}, {"tokens", n}, {"repeat", o->repeat},
                          {"threads", 1}, {"load_s", load_s}};
      // No cache: every piece goes through BPE.
      tok.set_cache_capacity(0);
      j["encode_no_cache"] = timed(o->repeat, n, bytes, [&] { tok.encode(text); });
      // Cold cache: emptied before each run, filled during it.
      tok.set_cache_capacity(65536);
      j["encode_cold_cache"] = timed(o->repeat, n, bytes, [&] {
        tok.clear_cache();
        tok.encode(text);
      });
      // Warm cache: filled by the previous run.
      tok.encode(text);
      j["encode_warm_cache"] = timed(o->repeat, n, bytes, [&] { tok.encode(text); });
      j["decode"] = timed(o->repeat, n, bytes, [&] { tok.decode(ids); });
      std::cout << j.dump(2) << "\n";
    });
  }
}

}  // namespace
ATTNLAB_CLI_COMMAND(tokenize, setup)
}  // namespace attnlab::cli
