#!/usr/bin/env bash
# Installs every Debian package Cortex needs and builds it in build/.
# Idempotent and non-interactive; works as root or through sudo.
#   scripts/setup.sh            install packages and build
#   scripts/setup.sh --deps     install packages only
#   scripts/setup.sh --fuzz     also clang's libFuzzer (scripts/fuzz.sh), packages only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  libopenblas-dev libfftw3-dev libsndfile1-dev libsamplerate0-dev portaudio19-dev
  libstb-dev libcjson-dev zlib1g-dev libcunit1-dev libpng-dev libjpeg62-turbo-dev
  python3-torch python3-numpy
  dataset-fashion-mnist
  pulseaudio pulseaudio-utils libasound2-plugins espeak-ng sox flite
  fortunes festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  libopenmpi-dev openmpi-bin
  locales clang-format
)

[ "${1:-}" = "--fuzz" ] && PACKAGES+=(clang libclang-rt-14-dev)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "setup: not root and no sudo; install these packages: ${PACKAGES[*]}" >&2; exit 1; fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# A comma-decimal locale, so the tests that check that config strings and
# specs ignore the application's locale run instead of skipping.
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
  echo "setup: generating the de_DE.UTF-8 locale (for the locale tests)"
  "${SUDO[@]}" localedef -i de_DE -f UTF-8 de_DE.UTF-8 || echo "setup: could not generate de_DE.UTF-8; the locale tests will skip" >&2
fi

case "${1:-}" in --deps | --fuzz) exit 0 ;; esac

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/cortex-vision and build/cortex-speech"
