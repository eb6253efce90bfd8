#!/usr/bin/env bash
# Installs the Debian packages AttnLab needs (idempotent; apt-get only when something is
# missing; sudo when not root). Sourced by packaging/test.sh and packaging/run.sh.
attnlab_packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread        # LibTorch (CPU) + a real BLAS (reference BLAS is 40x slower)
  qt6-base-dev qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6   # Qt SVG: plot export as SVG
  libpcre2-dev nlohmann-json3-dev libcli11-dev libcurl4-openssl-dev libssl-dev
  xvfb xauth
)
attnlab_install_deps() {
  local missing=()
  for p in "${attnlab_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "attnlab: installing missing packages: ${missing[*]}"
    local SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
  fi
}
attnlab_configure_build() {  # $1 = build dir, rest = extra cmake args
  local dir="$1"; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}
