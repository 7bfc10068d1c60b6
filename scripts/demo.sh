#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what Cortex needs,
# builds it, then runs the shipped models on bundled samples:
#   - cortex-vision classifies Fashion-MNIST test images (models/samples/fashion);
#   - cortex-speech finds the spoken digits, and the spoken commands, in two
#     bundled recordings of speakers the models never heard.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bin=build
echo
echo "== cortex-vision: the shipped Fashion-MNIST model"
"$bin"/cortex-vision info --model models/fashion-mnist.safetensors | sed -n '1,5p'
echo
echo "\$ cortex-vision classify --model models/fashion-mnist.safetensors models/samples/fashion/*.png"
"$bin"/cortex-vision classify --model models/fashion-mnist.safetensors models/samples/fashion/*.png
# speech NAME TITLE SPOKEN_TAIL WHAT: a shipped speech model on its bundled recording
speech() {
  local m=models/$1.safetensors rec=models/samples/speech/$1.wav
  [ -f "$m" ] && [ -f "$rec" ] || return 0
  echo
  echo "== cortex-speech: $2"
  echo "\$ cortex-speech detect --model $m $rec"
  "$bin"/cortex-speech detect --model "$m" "$rec"
  echo "(spoken: $(cut -d' ' -f1 "models/samples/speech/$1.truth" | tr '\n' ' ')$3)"
  echo
  echo "On a machine with a microphone, say $4 after:"
  echo "  $bin/cortex-speech listen --model $m"
}
speech digits "the shipped spoken-digit model" "by a speaker the model never heard" digits
speech commands "the shipped commands model (yes no up down left right on off stop go)" \
  "and two other words, each by a speaker the model never heard" commands
echo
echo "Next: '$bin/cortex-vision --help' and '$bin/cortex-speech --help'; README.md explains training on your own data."
