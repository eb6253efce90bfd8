// attnlab-cli download / download-data / models: the Hugging Face Hub cache from scripts.
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/error.h"
#include "hub/hub.h"

namespace attnlab::cli {
namespace {

std::atomic<bool> g_cancel{false};
extern "C" void on_sigint(int) { g_cancel.store(true); }

// Ctrl-C stops the transfer cleanly (the partial file is kept and resumes next time).
struct SigintGuard {
  void (*prev)(int);
  SigintGuard() : prev(std::signal(SIGINT, on_sigint)) {}
  ~SigintGuard() { std::signal(SIGINT, prev); }
};

std::string human(int64_t bytes) {
  if (bytes < 0) return "?";
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// Progress on stderr: one line per file, redrawn at most ~10 times a second.
hub::ProgressFn stderr_progress() {
  struct State {
    std::string file;
    std::chrono::steady_clock::time_point last{};
  };
  auto st = std::make_shared<State>();
  bool tty = isatty(fileno(stderr));
  return [st, tty](int64_t done, int64_t total, const std::string& file) {
    auto now = std::chrono::steady_clock::now();
    bool finished = total >= 0 && done >= total;
    if (file == st->file && !finished && now - st->last < std::chrono::milliseconds(tty ? 100 : 5000)) return;
    if (file != st->file && !st->file.empty() && tty) std::cerr << "\n";
    st->file = file;
    st->last = now;
    std::string pct = total > 0 ? " (" + std::to_string(done * 100 / total) + "%)" : "";
    std::cerr << (tty ? "\r" : "") << file << "  " << human(done) << " / " << human(total) << pct
              << (tty ? "\033[K" : "\n") << std::flush;
    if (finished && tty) {
      std::cerr << "\n";
      st->file.clear();
    }
  };
}

void apply_common(hub::HubOptions& o, const std::string& endpoint, const std::string& revision,
                  const std::string& cache) {
  o.endpoint = endpoint;
  o.revision = revision.empty() ? "main" : revision;
  o.cache_dir = cache;
}

void setup(CLI::App& root) {
  {
    auto* cmd = root.add_subcommand("download", "Download a model from the Hugging Face Hub into the HF cache; "
                                                "prints its snapshot folder");
    struct Opts {
      std::string model, revision = "main", endpoint, cache;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("model", o->model, "repo id: gpt2, distilgpt2, gpt2-medium, gpt2-large, gpt2-xl or ORG/NAME")
        ->required();
    cmd->add_option("--revision", o->revision, "branch, tag or commit (default main)");
    cmd->add_option("--endpoint", o->endpoint, "Hub URL (default $HF_ENDPOINT or https://huggingface.co)");
    cmd->add_option("--cache-dir", o->cache, "HF cache (default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)");
    cmd->callback([o] {
      hub::HubOptions opts;
      apply_common(opts, o->endpoint, o->revision, o->cache);
      SigintGuard guard;
      try {
        auto dir = hub::download_model(o->model, opts, stderr_progress(), &g_cancel);
        std::cout << dir.string() << "\n";
      } catch (const hub::DownloadCancelled&) {
        throw Error("download cancelled; run the same command again to resume");
      }
    });
  }
  {
    auto* cmd = root.add_subcommand("download-data", "Download WikiText from the Hub (Salesforce/wikitext) and "
                                                     "convert it to train/valid/test text files; prints the folder");
    struct Opts {
      std::string name = "wikitext-2-raw-v1", endpoint, cache, out;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("name", o->name, "wikitext-2-raw-v1 (default), wikitext-2-v1, wikitext-103-raw-v1, wikitext-103-v1");
    cmd->add_option("--endpoint", o->endpoint, "Hub URL (default $HF_ENDPOINT or https://huggingface.co)");
    cmd->add_option("--cache-dir", o->cache, "HF cache for the parquet files");
    cmd->add_option("--out", o->out, "data folder (default $ATTNLAB_DATA_DIR or ~/.cache/attnlab/data)");
    cmd->callback([o] {
      hub::HubOptions opts;
      apply_common(opts, o->endpoint, "main", o->cache);
      SigintGuard guard;
      try {
        auto dir = hub::download_dataset_wikitext(o->name, opts, stderr_progress(), &g_cancel, o->out);
        std::cout << dir.string() << "\n";
      } catch (const hub::DownloadCancelled&) {
        throw Error("download cancelled; run the same command again to resume");
      }
    });
  }
  {
    auto* cmd = root.add_subcommand("models", "List models in the Hugging Face cache and the bundled ones");
    struct Opts {
      bool json = false;
      std::string cache;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_flag("--json", o->json, "machine-readable output");
    cmd->add_option("--cache-dir", o->cache, "HF cache (default: the standard one)");
    cmd->callback([o] {
      auto models = hub::list_cached_models(o->cache);
      if (o->json) {
        auto arr = nlohmann::json::array();
        for (auto& m : models)
          arr.push_back({{"name", m.name},
                         {"origin", m.origin},
                         {"path", m.path.string()},
                         {"commit", m.commit},
                         {"size_bytes", m.size_bytes},
                         {"has_safetensors", m.has_safetensors},
                         {"model_type", m.model_type}});
        std::cout << arr.dump(2) << "\n";
        return;
      }
      if (models.empty()) {
        std::cout << "no models in " << hub::HubCache::default_root().string()
                  << " (try `attnlab-cli download gpt2`)\n";
        return;
      }
      auto label = [](const hub::CachedModel& m) { return m.name + (m.has_safetensors ? "" : " (no safetensors)"); };
      size_t w = 4;
      for (auto& m : models) w = std::max(w, label(m).size());
      std::printf("%-*s  %-8s  %9s  %s\n", static_cast<int>(w), "NAME", "ORIGIN", "SIZE", "PATH");
      for (auto& m : models) {
        std::string name = label(m);
        std::printf("%-*s  %-8s  %9s  %s\n", static_cast<int>(w), name.c_str(), m.origin.c_str(),
                    human(m.size_bytes).c_str(), m.path.string().c_str());
      }
    });
  }
}

}  // namespace
ATTNLAB_CLI_COMMAND(hub, setup)
}  // namespace attnlab::cli
