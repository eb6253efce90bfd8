#!/usr/bin/env bash
# Device check 1: HF parity references (python) + a probe build of the engine against the
# CUDA LibTorch inside PyTorch. Output under $OUT.
set -u
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total --format=csv | tee $OUT/log.txt
(PYTHONUNBUFFERED=1 timeout 200 python3 tools/device_parity.py) 2>&1 | tail -30 | tee -a $OUT/log.txt
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
export LD_LIBRARY_PATH=$PWD/.devcarry/deps/lib:${LD_LIBRARY_PATH:-}
(timeout 240 cmake -S . -B /tmp/b -G Ninja -DATTNLAB_GUI=OFF -DBUILD_TESTING=OFF -DCMAKE_PREFIX_PATH="$TP" \
  -DATTNLAB_DEPS_DIR=$PWD/.devcarry/deps -DTORCH_CUDA_ARCH_LIST=9.0 -DCMAKE_CUDA_ARCHITECTURES=90 \
  && timeout 240 cmake --build /tmp/b -j16) > /tmp/build.log 2>&1
echo "build rc=$?" | tee -a $OUT/log.txt
grep -E "error|Error|CMake Warning|not found|NOT" /tmp/build.log | head -40 | tee -a $OUT/log.txt
tail -5 /tmp/build.log | tee -a $OUT/log.txt
if [ -x /tmp/b/app/attnlab-cli ]; then
  /tmp/b/app/attnlab-cli init-model --out /tmp/hs --init hash --seed 1234 && \
  python3 - <<'PY' 2>&1 | tee -a $OUT/log.txt
import json, os, subprocess, numpy as np
r = json.load(open(os.environ["OUT"] + "/report.json"))
ids = ",".join(map(str, r["ids_a"]))
subprocess.run(["/tmp/b/app/attnlab-cli", "logits", "--model", "/tmp/hs", "--ids", ids, "--out", "/tmp/ours_a.npy"], check=True)
a = np.load("/tmp/ours_a.npy"); b = np.load(os.environ["OUT"] + "/logits_a.npy")
print("device-build ours vs HF max|dlogit| (T=64):", float(np.abs(a - b).max()))
PY
fi
