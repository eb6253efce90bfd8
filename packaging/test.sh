#!/usr/bin/env bash
# Builds AttnLab (Release) and runs the whole test suite. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/deps.sh
attnlab_install_deps
attnlab_configure_build build
export QT_QPA_PLATFORM=offscreen OMP_WAIT_POLICY=PASSIVE
cd build
ctest --output-on-failure -j2
