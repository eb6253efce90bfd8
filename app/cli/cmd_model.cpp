// attnlab-cli info / logits: inspect a Hugging Face GPT-2 directory from scripts.
#include <torch/torch.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "common/error.h"
#include "model/gpt2.h"
#include "tokenizer/gpt2_tokenizer.h"

namespace attnlab::cli {
namespace {

// Writes a float32 C-order .npy (NumPy format 1.0).
void write_npy(const std::string& path, const torch::Tensor& t0) {
  auto t = t0.to(torch::kFloat32).contiguous();
  std::string shape = "(";
  for (auto d : t.sizes()) shape += std::to_string(d) + ", ";
  if (t.dim() > 1) shape.erase(shape.size() - 2);
  else if (t.dim() == 1) shape.erase(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error("cannot write '" + path + "'");
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xff));
  out.put(static_cast<char>(len >> 8));
  out << header;
  out.write(static_cast<const char*>(t.data_ptr()), t.numel() * 4);
  if (!out) throw Error("cannot write '" + path + "'");
}

void setup(CLI::App& root) {
  {
    auto* cmd = root.add_subcommand("info", "Print a model's config and parameter count");
    auto model = std::make_shared<std::string>();
    cmd->add_option("--model", *model, "Hugging Face model directory")->required();
    cmd->callback([model] {
      auto m = load_gpt2(*model);
      int64_t n = 0;
      for (auto& [name, t] : m->hf_tensors()) n += t.numel();
      nlohmann::json j = {{"config", m->cfg.to_json()}, {"parameters", n}};
      std::cout << j.dump(2) << "\n";
    });
  }
  {
    auto* cmd = root.add_subcommand("logits", "Run the model; print the last position's logits or save all as .npy");
    struct Opts {
      std::string model, ids, text, out;
      int threads = 0;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("--model", o->model, "Hugging Face model directory")->required();
    auto* ids = cmd->add_option("--ids", o->ids, "comma-separated token ids");
    auto* text = cmd->add_option("--text", o->text, "text to tokenize with the model's tokenizer");
    ids->excludes(text);
    cmd->add_option("--out", o->out, "write all positions' logits [T, V] as float32 .npy");
    cmd->add_option("--threads", o->threads, "intra-op threads (0 = all cores)");
    cmd->callback([o] {
      apply_threads(o->threads);
      std::vector<int64_t> tokens;
      if (!o->ids.empty()) {
        tokens = parse_int_list(o->ids, "--ids");
      } else if (!o->text.empty()) {
        auto tok = tokenizer_for_model(o->model);
        for (int32_t t : tok.encode(o->text)) tokens.push_back(t);
      } else {
        throw Error("logits: give --ids or --text");
      }
      if (tokens.empty()) throw Error("logits: no tokens");
      auto m = load_gpt2(o->model);
      for (auto t : tokens)
        if (t < 0 || t >= m->cfg.vocab_size)
          throw Error("--ids: token " + std::to_string(t) + " is outside the vocabulary [0, " +
                      std::to_string(m->cfg.vocab_size) + ")");
      torch::InferenceMode im;
      auto input = torch::tensor(tokens, torch::kLong).unsqueeze(0);
      auto logits = m->forward(input)[0];  // [T, V]
      if (!o->out.empty()) {
        write_npy(o->out, logits);
        std::cerr << "wrote logits [" << logits.size(0) << ", " << logits.size(1) << "] to " << o->out << "\n";
        return;
      }
      auto last = logits[-1].contiguous();
      std::vector<float> v(last.data_ptr<float>(), last.data_ptr<float>() + last.numel());
      std::cout << nlohmann::json(v).dump() << "\n";
    });
  }
}

}  // namespace
ATTNLAB_CLI_COMMAND(model, setup)
}  // namespace attnlab::cli
