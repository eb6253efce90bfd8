#!/usr/bin/env bash
# Seconds per pretraining step of the bundled demo reference's shape (6 x 192, 4 x 512 tokens,
# dropout 0.1), steps 10 -> 30 of a short run from the bundled model on a 600 kB cut of the
# bundled train text (no validation, no checkpoints). Environment assignments given as
# arguments apply to that run only, e.g.
#   tools/bench_pretrain_step.sh build OPENBLAS_CORETYPE=SKYLAKEX
#   tools/bench_pretrain_step.sh build GLIBC_TUNABLES=glibc.malloc.trim_threshold=1073741824
# Prints one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}/app/attnlab-cli
shift || true
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/data"
head -c 600000 resources/data/wikitext-2/train.txt > "$T/data/train.txt"
head -c 100000 resources/data/wikitext-2/valid.txt > "$T/data/valid.txt"
env "$@" "$B" pretrain --init resources/models/attnlab-demo --data "$T/data" --seq-len 512 --batch 4 \
  --steps 30 --lr 1e-4 --warmup 5 --dropout 0.1 --eval-every 0 --checkpoint-every 0 --threads 2 \
  --out "$T/run" > /dev/null 2> "$T/log" || { cat "$T/log" >&2; exit 1; }
python3 - "$T/run/metrics.jsonl" "$*" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
e = {r["step"]: r["elapsed_s"] for r in rows}
print(json.dumps({"env": sys.argv[2], "s_per_step": round((e[30] - e[10]) / 20, 3),
                  "tokens_per_s": round(20 * 4 * 512 / (e[30] - e[10]))}))
PY
