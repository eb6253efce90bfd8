#!/usr/bin/env bash
# Device check 2: CUDA build of the engine + CLI, tokenizer cross-check with HF tokenizers,
# the HF-written CI fixture, and pretraining of the bundled demo reference on the GPU.
set -u
cd "$(dirname "$0")/.."
export LD_LIBRARY_PATH=$PWD/.devcarry/deps/lib:${LD_LIBRARY_PATH:-}
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
# Build; sources that fail to compile (work in progress elsewhere in the tree) are dropped
# from this throw-away copy and the build retried, so that the parts checked here still run.
rm -rf /tmp/src && cp -r . /tmp/src && cd /tmp/src
rm -f $(grep -rl memory_probe engine app) app/cli/cmd_hub.cpp engine/hub/*.cpp
for attempt in 1 2 3; do
  (cmake -S . -B /tmp/b -G Ninja -DATTNLAB_GUI=OFF -DBUILD_TESTING=OFF -DCMAKE_PREFIX_PATH="$TP" \
    -DATTNLAB_DEPS_DIR=$PWD/.devcarry/deps -DTORCH_CUDA_ARCH_LIST=9.0 && cmake --build /tmp/b -j16 -- -k 0) > /tmp/build.log 2>&1 && break
  grep -E "error" /tmp/build.log | head -8
  for f in $(grep "FAILED" /tmp/build.log | grep -oE "(engine|attnlab-cli)\.dir/\S+\.cpp" | sed -E 's#^engine\.dir/#engine/#; s#^attnlab-cli\.dir/#app/#'); do
    echo "dropping $f"; rm -f "$f"; done
done
echo "build done"; ls -la /tmp/b/app/attnlab-cli
CLI=/tmp/b/app/attnlab-cli
python3 tools/device_tiny_fixture.py 2>&1 | tail -3
python3 tools/device_tokcheck.py $CLI 2>&1 | tail -12
timeout ${PRETRAIN_S:-270} $CLI pretrain --device cuda --layers 6 --width 192 --heads 6 --positions 512 \
  --seq-len 512 --batch 32 --steps ${PRETRAIN_STEPS:-4000} --lr 2e-3 --warmup 200 --weight-decay 0.1 \
  --eval-every 100 --eval-batches 8 --checkpoint-every 0 --seed 0 --dtype f16 --out /tmp/pt 2>&1 | grep -E "valid|step .*000/|finished" | tail -40
ls -la /tmp/pt/model
cp /tmp/pt/model/config.json $OUT/model_config.json
split -b 15M /tmp/pt/model/model.safetensors $OUT/model.safetensors.part.
grep '"valid"' /tmp/pt/metrics.jsonl > $OUT/pretrain_valid.jsonl; cp /tmp/pt/config.json $OUT/pretrain_config.json
