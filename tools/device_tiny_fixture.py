"""Writes the CI fixture tests/fixtures/hf_tiny (a tiny GPT-2 saved by Hugging Face
transformers' own save_pretrained, and its logits) into $OUT/hf_tiny. Run where transformers
is installed (see tools/device_run2.sh)."""
import json, os
import numpy as np
import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel

OUT = os.environ["OUT"]
torch.manual_seed(0)
cfg = GPT2Config(vocab_size=1000, n_positions=64, n_embd=64, n_layer=2, n_head=4, resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)
cfg._attn_implementation = "eager"
m = GPT2LMHeadModel(cfg).eval()
with torch.no_grad():
    for n, p in m.named_parameters():
        if "ln_" in n or n.endswith("bias"):
            p.add_(0.1 * torch.randn_like(p))
d = os.path.join(OUT, "hf_tiny", "model")
m.save_pretrained(d, safe_serialization=True)
if os.path.exists(os.path.join(d, "generation_config.json")):
    os.remove(os.path.join(d, "generation_config.json"))
rng = np.random.default_rng(0)
cases = []
for ids in [list(range(5, 25)), rng.integers(0, 1000, 64).tolist()]:
    with torch.no_grad():
        lg = m(torch.tensor([ids])).logits[0].float().numpy()
    cases.append({"ids": ids, "logits": [float(x) for x in lg.reshape(-1)]})
json.dump({"generator": f"transformers {transformers.__version__}, torch {torch.__version__}, GPT2LMHeadModel eager",
           "cases": cases}, open(os.path.join(OUT, "hf_tiny", "expected.json"), "w"))
print("hf_tiny written")
