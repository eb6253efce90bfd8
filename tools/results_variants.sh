#!/usr/bin/env bash
# The standardised distillation recipe over every variant on the bundled demo reference and
# data (docs/results.md, "Variants under one recipe"). Usage:
#   tools/results_variants.sh [BUILD_DIR] [OUT_DIR] [VARIANTS...]
# Same loss (per-token KL), optimizer (AdamW), schedule (cosine, warm-up), steps, batch,
# sequence length, learning rate and trainable set (the variant's own parameters plus the
# attention projections of the swapped layers) for all; variant parameters at their defaults.
# Each variant: a run directory, `eval` on the first 65,536 valid tokens (SEQ-token blocks), and
# greedy 200-token completions of three prompts from both models (distinct-4-gram ratio).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
OUT=${2:-/tmp/attnlab-results}
shift 2 2>/dev/null || true
VARIANTS=("$@")
[ ${#VARIANTS[@]} -eq 0 ] && VARIANTS=(full window duo mask-mix performer performer-learned nsa)
CLI="$BUILD/app/attnlab-cli"
STEPS=${STEPS:-200} SEQ=${SEQ:-256} BATCH=${BATCH:-4} LR=${LR:-1e-3}
mkdir -p "$OUT"
PROMPTS=("The history of the city" "The game was released" "In the early years of the war")
for v in "${VARIANTS[@]}"; do
  kind=$v extra=()
  [ "$v" = performer-learned ] && kind=performer extra=(--features learned)
  run="$OUT/$v"
  rm -rf "$run"
  echo "== $v" >&2
  if [ "$v" = full ]; then
    rm -f "$run.train.log"
    # The control: the reference itself (training its attention from KL = 0 would only measure
    # AdamW's normalised steps on zero gradients).
    "$CLI" eval --model resources/models/attnlab-demo --seq-len "$SEQ" --split valid --max-tokens 65536 > "$run.eval.json"
    : > "$run.generate.jsonl"
    for p in "${PROMPTS[@]}"; do
      "$CLI" generate --prompt "$p" --max-new-tokens 200 --greedy --json >> "$run.generate.jsonl"
    done
    cat "$run.eval.json"
    continue
  fi
  "$CLI" distill --config resources/configs/demo.json --variant "$kind" "${extra[@]}" \
    --train-params attention --seq-len "$SEQ" --batch "$BATCH" --steps "$STEPS" --lr "$LR" \
    --warmup 20 --schedule cosine --l1 1e-3 --clip 1.0 --eval-every 50 --eval-batches 4 \
    --checkpoint-every 100 --seed 0 --out "$run" > "$run.train.log" 2>&1
  "$CLI" eval --run "$run" --split valid --max-tokens 65536 > "$run.eval.json"
  : > "$run.generate.jsonl"
  for p in "${PROMPTS[@]}"; do
    "$CLI" generate --run "$run" --prompt "$p" --max-new-tokens 200 --greedy --json >> "$run.generate.jsonl"
  done
  cat "$run.eval.json"
done
