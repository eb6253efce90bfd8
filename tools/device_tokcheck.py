"""Compares AttnLab's tokenizer (attnlab-cli tokenize) with Hugging Face `tokenizers`'
byte-level BPE on the bundled WikiText files and the golden strings. Prints mismatches."""
import json, os, subprocess, sys
from tokenizers import Tokenizer, models, pre_tokenizers, decoders
from tokenizers import AddedToken

cli = sys.argv[1]
res = os.path.join(os.path.dirname(__file__), "..", "resources")
bpe = models.BPE.from_file(os.path.join(res, "tokenizer/vocab.json"), os.path.join(res, "tokenizer/merges.txt"))
tok = Tokenizer(bpe)
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
for split in ["valid", "test", "train"]:
    p = os.path.join(res, "data/wikitext-2", split + ".txt")
    hf = tok.encode(open(p, encoding="utf-8").read()).ids
    ours = json.loads(subprocess.run([cli, "tokenize", "--file", p], capture_output=True, text=True, check=True).stdout)
    print(f"{split}: hf {len(hf)} ours {len(ours)} equal {hf == ours}")
gold = os.path.join(os.path.dirname(__file__), "..", "tests/fixtures/tokenizer/golden.jsonl")
bad = n = 0
for line in open(gold, encoding="utf-8"):
    if not line.strip():
        continue
    case = json.loads(line)
    n += 1
    hf = tok.encode(case["text"]).ids
    if hf != case["ids"]:
        bad += 1
        print("golden mismatch:", repr(case["text"])[:80], hf[:12], case["ids"][:12])
print(f"golden: {n - bad}/{n} equal to HF tokenizers")
