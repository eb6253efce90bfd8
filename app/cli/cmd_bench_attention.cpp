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

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

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

struct Point {
  double T, bytes;
};

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
  auto kinds = split_names(o.variants);
  auto lens = parse_int_list(o.seq_lens, "--seq-lens");
  if (kinds.empty()) throw Error("--variants: no variant named");
  if (o.heads < 1 || o.head_dim < 1 || o.batch < 1 || o.repeat < 1)
    throw Error("--heads, --head-dim, --batch and --repeat must be >= 1");
  const int64_t B = o.batch, H = o.heads, Dh = o.head_dim, C = H * Dh;
  const double cap = o.max_gb * 1024.0 * 1024.0 * 1024.0;

  LayerInit init;
  init.layer = 0;
  init.n_head = H;
  init.head_dim = Dh;
  init.n_embd = C;
  init.attn_scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  torch::manual_seed(0);
  init.c_attn_w = torch::randn({C, 3 * C}) / std::sqrt(static_cast<double>(C));
  init.c_attn_b = torch::zeros({3 * C});

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
          var->zero_grad();
          auto t0 = std::chrono::steady_clock::now();
          auto out = var->attend(q, k, v, x);
          auto t1 = std::chrono::steady_clock::now();
          (out * g).sum().backward();
          auto t2 = std::chrono::steady_clock::now();
          if (fwd_ms) *fwd_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
          return std::chrono::duration<double, std::milli>(t2 - t0).count();
        };
        double peak = 0;
        {
          CpuMemoryProbe probe;
          step(nullptr);
          peak = static_cast<double>(probe.peak());
        }
        std::vector<double> fwd, tot;
        for (int i = 0; i < o.repeat; ++i) {
          double f = 0;
          tot.push_back(step(&f));
          fwd.push_back(f);
        }
        auto cost = var->cost(T, H, Dh);
        r["status"] = "ok";
        r["fwd_ms"] = median(fwd);
        r["fwd_bwd_ms"] = median(tot);
        r["fwd_bwd_ms_min"] = *std::min_element(tot.begin(), tot.end());
        r["peak_mb"] = peak / (1 << 20);
        r["density"] = var->density(T);
        r["cost_gflops_fwd"] = cost.flops * B / 1e9;
        r["max_rss_mb"] = max_rss_mb();
        pts.push_back({static_cast<double>(T), std::max(peak, 1.0)});
        std::cerr << std::left << std::setw(11) << kind << std::right << std::setw(7) << T << std::fixed
                  << std::setprecision(1) << std::setw(12) << median(fwd) << std::setw(14) << median(tot)
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
  std::cout << doc.dump(2) << "\n";
  if (!o.out.empty()) {
    std::ofstream f(o.out);
    if (!f) throw Error("--out: cannot write '" + o.out + "'");
    f << doc.dump(2) << "\n";
  }
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

}  // namespace
ATTNLAB_CLI_COMMAND(bench_attention, setup)
}  // namespace attnlab::cli
