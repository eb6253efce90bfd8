#!/usr/bin/env bash
# The main job on the bundled defaults: the GUI when a display exists, otherwise a headless
# distillation demo with attnlab-cli (progress on the terminal, run directory printed).
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/deps.sh
attnlab_install_deps
attnlab_configure_build build
export OMP_WAIT_POLICY=PASSIVE
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/app/attnlab ]; then
  exec build/app/attnlab --config resources/configs/demo.json "$@"
fi
out="runs/demo-$(date +%Y%m%d-%H%M%S)"
echo "No display: running the headless demo (attnlab-cli distill --config resources/configs/demo.json)"
build/app/attnlab-cli distill --config resources/configs/demo.json --out "$out" "$@"
build/app/attnlab-cli eval --run "$out"
echo "run directory: $out"
