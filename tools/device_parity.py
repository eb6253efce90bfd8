"""Independent references from Hugging Face transformers, run where transformers exists.

Writes into $OUT:
  report.json          versions, ids used, checksums, HF logits of our own tiny model
  logits_a.npy         HF GPT2LMHeadModel logits [64, 50257] of the hash-init GPT-2-small (seed 1234)
  logits_b.npy         same model, ids of length 1024, last 40 positions [40, 50257]
  hf_tiny/model/...    a tiny model written by HF save_pretrained (fixture for CI)
  hf_tiny/expected.json  its HF logits for two id sequences
  tokens.npz           HF GPT2TokenizerFast ids for the bundled WikiText files
  golden_hf.jsonl      HF ids for tests/fixtures/tokenizer/golden.jsonl texts (if present)
"""
import json, os, sys, time
import numpy as np
import torch
sys.path.insert(0, os.path.dirname(__file__))
from hash_init import hash_tensors, hf_names
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

OUT = os.environ["OUT"]
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
report = {"torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__}
t0 = time.time()

def build(cfg, seed):
    m = GPT2LMHeadModel(cfg).eval()
    shapes = {n: tuple(t.shape) for n, t in m.transformer.state_dict().items() if not n.endswith(".attn.bias") and not n.endswith(".attn.masked_bias")}
    w = hash_tensors(shapes, cfg.n_layer, seed)
    missing, unexpected = m.transformer.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith(".attn.bias") or k.endswith(".attn.masked_bias") for k in missing), missing
    m.tie_weights()
    return m, w

# 1. GPT-2-small dims, hash weights.
cfg = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                 activation_function="gelu_new", layer_norm_epsilon=1e-5,
                 resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)
cfg._attn_implementation = "eager"
m, w = build(cfg, 1234)
report["checksums"] = {n: float(np.asarray(w[n], np.float64).sum()) for n in ["wte.weight", "h.0.attn.c_attn.weight", "h.11.mlp.c_proj.weight", "ln_f.weight"]}
rng = np.random.default_rng(0)
ids_a = rng.integers(0, 50257, 64).tolist()
ids_b = rng.integers(0, 50257, 1024).tolist()
report["ids_a"], report["ids_b"] = ids_a, ids_b
with torch.no_grad():
    la = m(torch.tensor([ids_a])).logits[0].float().numpy()
    lb = m(torch.tensor([ids_b])).logits[0, -40:].float().numpy()
    np.save(os.path.join(OUT, "logits_a.npy"), la)
    np.save(os.path.join(OUT, "logits_b.npy"), lb)
    if torch.cuda.is_available():
        g = m.cuda()
        ga = g(torch.tensor([ids_a]).cuda()).logits[0].float().cpu().numpy()
        report["cuda_vs_cpu_max_abs"] = float(np.abs(ga - la).max())
        m = g.cpu()
report["t_small"] = time.time() - t0

# 2. A tiny HF-written fixture for CI (random init by HF itself, LN params perturbed).
torch.manual_seed(0)
tcfg = GPT2Config(vocab_size=1000, n_positions=64, n_embd=64, n_layer=2, n_head=4, resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)
tcfg._attn_implementation = "eager"
tm = GPT2LMHeadModel(tcfg).eval()
with torch.no_grad():
    for n, p in tm.named_parameters():
        if "ln_" in n or n.endswith("bias"):
            p.add_(0.1 * torch.randn_like(p))
d = os.path.join(OUT, "hf_tiny", "model")
tm.save_pretrained(d, safe_serialization=True)
for extra in ["generation_config.json"]:
    if os.path.exists(os.path.join(d, extra)):
        os.remove(os.path.join(d, extra))
cases = []
for ids in [list(range(5, 25)), rng.integers(0, 1000, 64).tolist()]:
    with torch.no_grad():
        lg = tm(torch.tensor([ids])).logits[0].float().numpy()
    cases.append({"ids": ids, "logits": [float(x) for x in lg.reshape(-1)]})
json.dump({"generator": f"transformers {transformers.__version__}, torch {torch.__version__}", "cases": cases},
          open(os.path.join(OUT, "hf_tiny", "expected.json"), "w"))
from safetensors import safe_open
with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
    report["hf_tiny_names"] = sorted(f.keys())[:6]

# 3. HF loads a model written by AttnLab's own writer.
ours = os.path.join(os.path.dirname(__file__), "..", ".devcarry", "ours_tiny")
if os.path.isdir(ours):
    om = GPT2LMHeadModel.from_pretrained(ours).eval()
    with torch.no_grad():
        report["ours_tiny_logits_0_3"] = om(torch.tensor([[1, 2, 3]])).logits[0, -1].float().numpy().tolist()

# 4. Tokenizer: HF fast GPT-2 tokenizer from the bundled files.
res = os.path.join(os.path.dirname(__file__), "..", "resources")
tok = GPT2TokenizerFast(vocab_file=os.path.join(res, "tokenizer/vocab.json"), merges_file=os.path.join(res, "tokenizer/merges.txt"))
arrs = {}
for split in ["valid", "test", "train"]:
    p = os.path.join(res, "data/wikitext-2", split + ".txt")
    text = open(p, encoding="utf-8").read()
    arrs[split] = np.array(tok(text)["input_ids"], dtype=np.int32)
    report["tokens_" + split] = int(arrs[split].size)
np.savez_compressed(os.path.join(OUT, "tokens.npz"), **arrs)
gold = os.path.join(os.path.dirname(__file__), "..", "tests/fixtures/tokenizer/golden.jsonl")
if os.path.exists(gold):
    with open(os.path.join(OUT, "golden_hf.jsonl"), "w") as f:
        for line in open(gold, encoding="utf-8"):
            if line.strip():
                text = json.loads(line)["text"]
                f.write(json.dumps({"text": text, "ids": tok(text)["input_ids"]}) + "\n")
report["elapsed_s"] = time.time() - t0
json.dump(report, open(os.path.join(OUT, "report.json"), "w"))
print(json.dumps({k: v for k, v in report.items() if not k.startswith("ids")}, indent=1))
