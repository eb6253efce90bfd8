#!/usr/bin/env python3
"""Markdown table of tools/results_variants.sh output: python3 tools/results_table.py OUT_DIR [bench.json]"""
import json, os, sys

out = sys.argv[1]
timing = {}
if len(sys.argv) > 2:
    for r in json.load(open(sys.argv[2]))["results"]:
        if r.get("status") == "ok":
            timing[r["variant"]] = r["fwd_bwd_ms"]
order = ["full", "window", "duo", "mask-mix", "performer", "performer-learned", "nsa"]
print("| variant | held-out KL | ppl custom / ref | ppl ratio | top-1 agreement | density | attention fwd+bwd (ms) | distinct-4 custom / ref | final train KL |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
ref_d4 = None
for v in order:
    ev = os.path.join(out, v + ".eval.json")
    if not os.path.exists(ev):
        continue
    e = json.loads(open(ev).read().strip().splitlines()[-1])
    gens = [json.loads(l) for l in open(os.path.join(out, v + ".generate.jsonl")) if l.strip()]
    d4c = [g.get("distinct4_custom", g.get("distinct4_reference")) for g in gens]
    d4r = [g["distinct4_reference"] for g in gens]
    d4c = sum(d4c) / len(d4c)
    d4r = sum(d4r) / len(d4r)
    kl_train = ""
    log = os.path.join(out, v + ".train.log")
    if os.path.exists(log):
        steps = [l for l in open(log) if l.startswith("step ")]
        if steps:
            kl_train = steps[-1].split()[3]
    key = "performer" if v == "performer-learned" else v
    t = timing.get(key)
    t = f"{t:.1f}" if t is not None else ""
    print(f"| {v} | {e['kl']:.4f} | {e['ppl_custom']:.1f} / {e['ppl_ref']:.1f} | {e['ppl_custom'] / e['ppl_ref']:.3f} | "
          f"{e['top1_agreement']:.3f} | {e['density']:.3f} | {t} | {d4c:.2f} / {d4r:.2f} | {kl_train} |")
