// attnlab-cli bench attention: forward+backward time and peak memory of one attention layer
// per variant and sequence length (figures for docs/benchmarks.md).
//
// Each (variant, T): a variant built with make_variant(kind, {}, init) from a LayerInit with
// random c_attn weights; x ~ N(0, 1) [B, T, C], q/k/v = x c_attn (leaves with gradients);
// loss = sum(out * g) with a fixed random g. One untimed warm-up run measures the peak live
// bytes of LibTorch CPU tensors (attention/memory_probe.h: a counting allocator, exact for
// tensors, blind to BLAS scratch); `repeat` timed runs give the median and minimum.
// A (variant, T) whose predicted peak (previous points extrapolated with their measured growth
// exponent, 2 when unknown) exceeds --max-gb is skipped and reported as skipped.
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "attention/memory_probe.h"
#include "attention/variant.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "common/error.h"

namespace attnlab::cli {
namespace {

struct Opts {
  std::string variants = "full,mask-mix,performer,nsa,window";
  std::string seq_lens = "256,512,1024,2048,4096,8192";
  int64_t heads = 12, head_dim = 64, batch = 1;
  int repeat = 3, threads = 0;
  double max_gb = 8.0;
  std::string out, plot;
};

double max_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

std::string cpu_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/// The result document on stdout, and also in `path` when given (--out).
void emit_json(const nlohmann::json& doc, const std::string& path) {
  std::cout << doc.dump(2) << "\n";
  if (path.empty()) return;
  std::ofstream f(path);
  if (!f) throw Error("--out: cannot write '" + path + "'");
  f << doc.dump(2) << "\n";
}

struct Point {
  double T, bytes;
};

struct Measured {
  double fwd_ms = 0, fwd_bwd_ms = 0, fwd_bwd_ms_min = 0, peak_bytes = 0;
};

LayerInit random_layer(int64_t H, int64_t Dh) {
  const int64_t C = H * Dh;
  LayerInit init;
  init.layer = 0;
  init.n_head = H;
  init.head_dim = Dh;
  init.n_embd = C;
  init.attn_scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  torch::manual_seed(0);
  init.c_attn_w = torch::randn({C, 3 * C}) / std::sqrt(static_cast<double>(C));
  init.c_attn_b = torch::zeros({3 * C});
  return init;
}

/// One untimed run under the memory probe (peak live tensor bytes), then `repeat` timed
/// forward+backward runs of `var` on q/k/v = x c_attn with x ~ N(0, 1) [B, T, C].
Measured measure(AttentionVariant& var, const LayerInit& init, int64_t B, int64_t T, int repeat) {
  const int64_t H = init.n_head, Dh = init.head_dim, C = init.n_embd;
  torch::manual_seed(1);
  auto x = torch::randn({B, T, C});
  torch::Tensor q, k, v;
  {
    torch::NoGradGuard ng;
    auto parts = (torch::matmul(x, init.c_attn_w) + init.c_attn_b).split(C, -1);
    auto heads = [&](const torch::Tensor& t) { return t.reshape({B, T, H, Dh}).transpose(1, 2).contiguous(); };
    q = heads(parts[0]);
    k = heads(parts[1]);
    v = heads(parts[2]);
  }
  q.requires_grad_(true);
  k.requires_grad_(true);
  v.requires_grad_(true);
  auto g = torch::randn({B, H, T, Dh});
  auto step = [&](double* fwd_ms) {
    q.mutable_grad() = torch::Tensor();
    k.mutable_grad() = torch::Tensor();
    v.mutable_grad() = torch::Tensor();
    var.zero_grad();
    auto t0 = std::chrono::steady_clock::now();
    auto out = var.attend(q, k, v, x);
    auto t1 = std::chrono::steady_clock::now();
    (out * g).sum().backward();
    auto t2 = std::chrono::steady_clock::now();
    if (fwd_ms) *fwd_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    return std::chrono::duration<double, std::milli>(t2 - t0).count();
  };
  Measured m;
  {
    CpuMemoryProbe probe;
    step(nullptr);
    m.peak_bytes = static_cast<double>(probe.peak());
  }
  std::vector<double> fwd, tot;
  for (int i = 0; i < repeat; ++i) {
    double f = 0;
    tot.push_back(step(&f));
    fwd.push_back(f);
  }
  m.fwd_ms = median(fwd);
  m.fwd_bwd_ms = median(tot);
  m.fwd_bwd_ms_min = *std::min_element(tot.begin(), tot.end());
  return m;
}

void write_plot(const nlohmann::json& results, const std::vector<std::string>& kinds, const std::string& png) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::cerr << "gnuplot not found: skipped the plot (" << png << ")\n";
    return;
  }
  const std::string dat = png + ".dat", gp = png + ".gp";
  {
    std::ofstream d(dat);
    for (auto& kind : kinds) {
      d << "# " << kind << "\n";
      for (auto& r : results)
        if (r["variant"] == kind && r["status"] == "ok")
          d << r["T"].get<int64_t>() << " " << r["fwd_bwd_ms"].get<double>() << " " << r["peak_mb"].get<double>()
            << "\n";
      d << "\n\n";
    }
  }
  {
    std::ofstream g(gp);
    g << "set terminal pngcairo size 1200,500\nset output '" << png << "'\nset multiplot layout 1,2\n"
      << "set logscale xy\nset xlabel 'T'\nset key left top\nset grid\n"
      << "set ylabel 'forward+backward (ms)'\nplot ";
    for (size_t i = 0; i < kinds.size(); ++i)
      g << (i ? ", " : "") << "'" << dat << "' index " << i << " using 1:2 with linespoints title '" << kinds[i] << "'";
    g << "\nset ylabel 'peak tensor memory (MiB)'\nplot ";
    for (size_t i = 0; i < kinds.size(); ++i)
      g << (i ? ", " : "") << "'" << dat << "' index " << i << " using 1:3 with linespoints title '" << kinds[i] << "'";
    g << "\nunset multiplot\n";
  }
  if (std::system(("gnuplot '" + gp + "'").c_str()) == 0) std::cerr << "wrote " << png << "\n";
  else std::cerr << "gnuplot failed on " << gp << "\n";
}

void run(const Opts& o) {
  apply_threads(o.threads);
  auto kinds = split_list(o.variants, ',');
  auto lens = parse_int_list(o.seq_lens, "--seq-lens");
  if (kinds.empty()) throw Error("--variants: no variant named");
  if (o.heads < 1 || o.head_dim < 1 || o.batch < 1 || o.repeat < 1)
    throw Error("--heads, --head-dim, --batch and --repeat must be >= 1");
  const int64_t B = o.batch, H = o.heads, Dh = o.head_dim;
  const double cap = o.max_gb * 1024.0 * 1024.0 * 1024.0;

  auto init = random_layer(H, Dh);

  nlohmann::json results = nlohmann::json::array();
  std::map<std::string, std::vector<Point>> seen;
  std::cerr << std::left << std::setw(11) << "variant" << std::right << std::setw(7) << "T" << std::setw(12) << "fwd ms"
            << std::setw(14) << "fwd+bwd ms" << std::setw(12) << "peak MiB" << std::setw(10) << "density"
            << "\n";
  for (auto& kind : kinds) {
    for (int64_t T : lens) {
      nlohmann::json r = {{"variant", kind}, {"T", T}};
      auto& pts = seen[kind];
      if (!pts.empty()) {
        double p = 2.0;
        if (pts.size() >= 2) {
          auto& a = pts[pts.size() - 2];
          auto& b = pts.back();
          p = std::clamp(std::log(b.bytes / a.bytes) / std::log(b.T / a.T), 1.0, 2.0);
        }
        const double predicted = pts.back().bytes * std::pow(static_cast<double>(T) / pts.back().T, p);
        if (predicted > cap) {
          r["status"] = "skipped";
          r["reason"] = "predicted peak " + std::to_string(static_cast<int64_t>(predicted / (1 << 20))) +
                        " MiB > --max-gb " + std::to_string(o.max_gb);
          std::cerr << std::left << std::setw(11) << kind << std::right << std::setw(7) << T << "  skipped: "
                    << r["reason"].get<std::string>() << "\n";
          results.push_back(r);
          continue;
        }
      }
      try {
        auto var = make_variant(kind, nlohmann::json::object(), init);
        auto m = measure(*var, init, B, T, o.repeat);
        const double peak = m.peak_bytes;
        r["status"] = "ok";
        r["fwd_ms"] = m.fwd_ms;
        r["fwd_bwd_ms"] = m.fwd_bwd_ms;
        r["fwd_bwd_ms_min"] = m.fwd_bwd_ms_min;
        r["peak_mb"] = peak / (1 << 20);
        r["density"] = var->density(T);
        r["cost_gflops_fwd"] = var->cost(T, H, Dh).flops * B / 1e9;
        r["max_rss_mb"] = max_rss_mb();
        pts.push_back({static_cast<double>(T), std::max(peak, 1.0)});
        std::cerr << std::left << std::setw(11) << kind << std::right << std::setw(7) << T << std::fixed
                  << std::setprecision(1) << std::setw(12) << m.fwd_ms << std::setw(14) << m.fwd_bwd_ms
                  << std::setw(12) << peak / (1 << 20) << std::setprecision(4) << std::setw(10) << var->density(T)
                  << "\n";
      } catch (const std::exception& e) {
        r["status"] = "error";
        r["reason"] = e.what();
        std::cerr << std::left << std::setw(11) << kind << std::right << std::setw(7) << T << "  error: " << e.what()
                  << "\n";
        results.push_back(r);
        break;  // an unknown variant or a failing one fails at every T
      }
      results.push_back(r);
    }
  }
  nlohmann::json doc = {
      {"benchmark", "attention"},
      {"config",
       {{"variants", kinds}, {"seq_lens", lens}, {"heads", H}, {"head_dim", Dh}, {"batch", B}, {"repeat", o.repeat},
        {"threads", torch::get_num_threads()}, {"max_gb", o.max_gb}, {"dtype", "float32"}, {"device", "cpu"}}},
      {"machine", {{"cpu", cpu_name()}, {"hardware_threads", std::thread::hardware_concurrency()}}},
      {"results", results}};
  emit_json(doc, o.out);
  if (!o.plot.empty()) write_plot(results, kinds, o.plot);
}

void setup(CLI::App& root) {
  auto* cmd = bench_group(root).add_subcommand("attention", "Time and peak memory of one attention layer per variant");
  auto o = std::make_shared<Opts>();
  cmd->add_option("--variants", o->variants, "comma-separated variant names")->capture_default_str();
  cmd->add_option("--seq-lens", o->seq_lens, "comma-separated sequence lengths")->capture_default_str();
  cmd->add_option("--heads", o->heads, "attention heads")->capture_default_str();
  cmd->add_option("--head-dim", o->head_dim, "head dimension")->capture_default_str();
  cmd->add_option("--batch", o->batch, "batch size")->capture_default_str();
  cmd->add_option("--repeat", o->repeat, "timed runs per point (median reported)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "intra-op threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--max-gb", o->max_gb, "skip points whose predicted peak exceeds this")->capture_default_str();
  cmd->add_option("--out", o->out, "also write the JSON here");
  cmd->add_option("--plot", o->plot, "PNG plot via gnuplot when installed (skipped otherwise)");
  cmd->callback([o] { run(*o); });
}

// ---- attnlab-cli bench mask-mix: attention time vs density ------------------------------------
// For each T: `full` as the baseline, then mask-mix with each candidate set (all weights active,
// as after pruning left exactly that set). Reports density, forward+backward time, its ratio to
// full at the same T, and peak tensor memory: the cost must follow the support.
struct SweepOpts {
  std::string seq_lens = "1024,4096";
  std::string sets = "sink:4,local:16;sink:4,local:64;sink:4,local:64,stride:64;sink:4,local:256;sink:4,local:512;sink:4,local:1024";
  int64_t heads = 12, head_dim = 64, batch = 1;
  int repeat = 3, threads = 0;
  std::string out;
};

void run_sweep(const SweepOpts& o) {
  apply_threads(o.threads);
  auto lens = parse_int_list(o.seq_lens, "--seq-lens");
  auto sets = split_list(o.sets, ';');
  if (sets.empty()) throw Error("--sets: no candidate set (separate sets with ';')");
  if (o.heads < 1 || o.head_dim < 1 || o.batch < 1 || o.repeat < 1)
    throw Error("--heads, --head-dim, --batch and --repeat must be >= 1");
  auto init = random_layer(o.heads, o.head_dim);
  nlohmann::json results = nlohmann::json::array();
  std::cerr << std::right << std::setw(6) << "T" << "  " << std::left << std::setw(34) << "candidates" << std::right
            << std::setw(9) << "density" << std::setw(13) << "fwd+bwd ms" << std::setw(10) << "vs full" << std::setw(11)
            << "peak MiB" << "\n";
  for (int64_t T : lens) {
    auto full = make_variant("full", nlohmann::json::object(), init);
    auto base = measure(*full, init, o.batch, T, o.repeat);
    auto report = [&](const std::string& label, double density, const Measured& m) {
      const double ratio = m.fwd_bwd_ms / base.fwd_bwd_ms;
      results.push_back({{"T", T}, {"candidates", label}, {"density", density}, {"fwd_ms", m.fwd_ms},
                         {"fwd_bwd_ms", m.fwd_bwd_ms}, {"fwd_bwd_ms_min", m.fwd_bwd_ms_min},
                         {"time_vs_full", ratio}, {"peak_mb", m.peak_bytes / (1 << 20)}});
      std::cerr << std::right << std::setw(6) << T << "  " << std::left << std::setw(34) << label << std::right
                << std::fixed << std::setprecision(4) << std::setw(9) << density << std::setprecision(1)
                << std::setw(13) << m.fwd_bwd_ms << std::setprecision(3) << std::setw(10) << ratio
                << std::setprecision(1) << std::setw(11) << m.peak_bytes / (1 << 20) << "\n";
    };
    report("(full)", 1.0, base);
    for (auto& set : sets) {
      auto var = make_variant("mask-mix", {{"candidates", set}}, init);
      report(set, var->density(T), measure(*var, init, o.batch, T, o.repeat));
    }
  }
  nlohmann::json doc = {
      {"benchmark", "mask-mix density sweep"},
      {"config",
       {{"seq_lens", lens}, {"sets", sets}, {"heads", o.heads}, {"head_dim", o.head_dim}, {"batch", o.batch},
        {"repeat", o.repeat}, {"threads", torch::get_num_threads()}, {"dtype", "float32"}, {"device", "cpu"}}},
      {"machine", {{"cpu", cpu_name()}, {"hardware_threads", std::thread::hardware_concurrency()}}},
      {"results", results}};
  emit_json(doc, o.out);
}

void setup_sweep(CLI::App& root) {
  auto* cmd = bench_group(root).add_subcommand("mask-mix", "mask-mix attention time vs density (vs full at the same T)");
  auto o = std::make_shared<SweepOpts>();
  cmd->add_option("--seq-lens", o->seq_lens, "comma-separated sequence lengths")->capture_default_str();
  cmd->add_option("--sets", o->sets, "candidate sets separated by ';'")->capture_default_str();
  cmd->add_option("--heads", o->heads, "attention heads")->capture_default_str();
  cmd->add_option("--head-dim", o->head_dim, "head dimension")->capture_default_str();
  cmd->add_option("--batch", o->batch, "batch size")->capture_default_str();
  cmd->add_option("--repeat", o->repeat, "timed runs per point (median reported)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "intra-op threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--out", o->out, "also write the JSON here");
  cmd->callback([o] { run_sweep(*o); });
}

}  // namespace
ATTNLAB_CLI_COMMAND(bench_attention, setup)
ATTNLAB_CLI_COMMAND(bench_mask_mix, setup_sweep)
}  // namespace attnlab::cli
