#!/usr/bin/env bash
# Every benchmark behind docs/benchmarks.md, in one run on one machine (ratios are taken
# within it). Usage: tools/run_benchmarks.sh [BUILD_DIR] [OUT_DIR]
# Each program runs in its own process so that peak RSS is its own.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
OUT=${2:-/tmp/attnlab-bench}
CLI="$BUILD/app/attnlab-cli"
mkdir -p "$OUT"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) hardware threads"
  echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

step() { echo "== $*" >&2; }

step "tokenizer"
"$CLI" bench tokenizer --repeat 20 > "$OUT/tokenizer.json" 2> "$OUT/tokenizer.log"

step "forward: GPT-2-small shape, 4 x 256, system malloc vs tuned"
ATTNLAB_SYSTEM_MALLOC=1 "$CLI" bench forward --seq-len 256 --batch 4 --repeat 5 > "$OUT/forward-system-malloc.json" 2>&1
"$CLI" bench forward --seq-len 256 --batch 4 --repeat 5 > "$OUT/forward.json" 2>&1

step "distill: GPT-2-small shape, 4 x 256"
ATTNLAB_SYSTEM_MALLOC=1 "$CLI" bench distill --variants full --steps 3 > "$OUT/distill-full-system-malloc.json" 2>&1
for v in full mask-mix window performer nsa; do
  "$CLI" bench distill --variants "$v" --steps 3 > "$OUT/distill-$v.json" 2>&1
done

step "mask-mix time vs density, T = 1024, 4096"
"$CLI" bench mask-mix --seq-lens 1024,4096 --repeat 3 --out "$OUT/mask-mix.json" > /dev/null 2> "$OUT/mask-mix.log"

step "attention scaling"
"$CLI" bench attention --variants full,mask-mix,performer,nsa,window --seq-lens 256,512,1024,2048,4096,8192 \
  --repeat 3 --max-gb 8 --out "$OUT/attention.json" --plot "$OUT/attention.png" > /dev/null 2> "$OUT/attention.log"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
