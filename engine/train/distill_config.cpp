#include <set>
#include <sstream>

#include "common/error.h"
#include "common/fs.h"
#include "train/distill.h"

namespace attnlab {

nlohmann::json DistillConfig::to_json() const {
  return {{"model", model},
          {"data", data},
          {"variant", variant},
          {"variant_spec", variant_spec},
          {"layers", layers},
          {"train_params", train_params},
          {"seq_len", seq_len},
          {"batch", batch},
          {"steps", steps},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"warmup", warmup},
          {"schedule", schedule},
          {"min_lr_ratio", min_lr_ratio},
          {"l1", l1},
          {"clip", clip},
          {"eval_every", eval_every},
          {"eval_batches", eval_batches},
          {"checkpoint_every", checkpoint_every},
          {"threads", threads},
          {"seed", seed},
          {"device", device},
          {"out", out},
          {"kl_chunk_tokens", kl_chunk_tokens}};
}

namespace {
template <typename T>
void get(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
  if (!j.contains(key)) return;
  try {
    out = j.at(key).get<T>();
  } catch (const std::exception&) {
    throw Error(source + ": field '" + key + "' has the wrong type (value " + j.at(key).dump() + ")");
  }
}
}  // namespace

DistillConfig DistillConfig::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": expected a JSON object");
  DistillConfig c;
  static const std::set<std::string> known = {
      "model", "data", "variant", "variant_spec", "layers", "train_params", "seq_len", "batch", "steps", "lr",
      "weight_decay", "warmup", "schedule", "min_lr_ratio", "l1", "clip", "eval_every", "eval_batches",
      "checkpoint_every", "threads", "seed", "device", "out", "kl_chunk_tokens", "comment"};
  for (auto& [k, v] : j.items())
    if (!known.count(k)) throw Error(source + ": unknown field '" + k + "'");
  get(j, "model", c.model, source);
  get(j, "data", c.data, source);
  get(j, "variant", c.variant, source);
  if (j.contains("variant_spec")) {
    if (!j["variant_spec"].is_object()) throw Error(source + ": field 'variant_spec' must be an object");
    c.variant_spec = j["variant_spec"];
  }
  if (j.contains("layers") && j["layers"].is_array()) {
    std::string s;
    for (auto& x : j["layers"]) s += (s.empty() ? "" : ",") + std::to_string(x.get<int>());
    c.layers = s;
  } else {
    get(j, "layers", c.layers, source);
  }
  get(j, "train_params", c.train_params, source);
  get(j, "seq_len", c.seq_len, source);
  get(j, "batch", c.batch, source);
  get(j, "steps", c.steps, source);
  get(j, "lr", c.lr, source);
  get(j, "weight_decay", c.weight_decay, source);
  get(j, "warmup", c.warmup, source);
  get(j, "schedule", c.schedule, source);
  get(j, "min_lr_ratio", c.min_lr_ratio, source);
  get(j, "l1", c.l1, source);
  get(j, "clip", c.clip, source);
  get(j, "eval_every", c.eval_every, source);
  get(j, "eval_batches", c.eval_batches, source);
  get(j, "checkpoint_every", c.checkpoint_every, source);
  get(j, "threads", c.threads, source);
  get(j, "seed", c.seed, source);
  get(j, "device", c.device, source);
  get(j, "out", c.out, source);
  get(j, "kl_chunk_tokens", c.kl_chunk_tokens, source);
  return c;
}

void DistillConfig::validate() const {
  auto need = [](bool ok, const std::string& field, const std::string& what) {
    if (!ok) throw Error("config field '" + field + "': " + what);
  };
  need(seq_len >= 2, "seq_len", "must be >= 2");
  need(batch >= 1, "batch", "must be >= 1");
  need(steps >= 1, "steps", "must be >= 1");
  need(lr > 0 && lr < 10, "lr", "must be in (0, 10)");
  need(weight_decay >= 0, "weight_decay", "must be >= 0");
  need(warmup >= 0, "warmup", "must be >= 0");
  need(schedule == "cosine" || schedule == "constant" || schedule == "linear", "schedule",
       "must be cosine, constant or linear");
  need(min_lr_ratio >= 0 && min_lr_ratio <= 1, "min_lr_ratio", "must be in [0, 1]");
  need(l1 >= 0, "l1", "must be >= 0");
  need(clip >= 0, "clip", "must be >= 0 (0 = off)");
  need(eval_every >= 0, "eval_every", "must be >= 0 (0 = only at the end)");
  need(eval_batches >= 1, "eval_batches", "must be >= 1");
  need(checkpoint_every >= 0, "checkpoint_every", "must be >= 0 (0 = only at the end)");
  need(threads >= 0, "threads", "must be >= 0 (0 = all cores)");
  need(train_params == "variant" || train_params == "attention" || train_params == "all", "train_params",
       "must be variant, attention or all");
  need(device == "cpu" || device == "cuda" || device.rfind("cuda:", 0) == 0, "device", "must be cpu or cuda[:N]");
  need(kl_chunk_tokens >= 1, "kl_chunk_tokens", "must be >= 1");
  layer_list(1 << 20);  // syntax check
}

std::vector<int> DistillConfig::layer_list(int64_t n_layer) const {
  std::vector<int> out;
  if (layers == "all" || layers.empty()) {
    for (int i = 0; i < n_layer; ++i) out.push_back(i);
    return out;
  }
  std::stringstream ss(layers);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto dash = item.find('-');
    try {
      if (dash != std::string::npos && dash > 0) {
        int a = std::stoi(item.substr(0, dash)), b = std::stoi(item.substr(dash + 1));
        for (int i = a; i <= b; ++i) out.push_back(i);
      } else {
        out.push_back(std::stoi(item));
      }
    } catch (const std::exception&) {
      throw Error("config field 'layers': '" + item + "' is not a layer index (expected all, or e.g. 0,2,5 or 3-7)");
    }
  }
  std::set<int> uniq(out.begin(), out.end());
  for (int l : uniq)
    if (l < 0 || l >= n_layer)
      throw Error("config field 'layers': layer " + std::to_string(l) + " is out of range for a model with " +
                  std::to_string(n_layer) + " layers");
  if (uniq.empty()) throw Error("config field 'layers': no layer selected");
  return std::vector<int>(uniq.begin(), uniq.end());
}

}  // namespace attnlab
