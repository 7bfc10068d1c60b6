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
if [ -f models/digits.safetensors ] && [ -f models/samples/speech/digits.wav ]; then
  echo
  echo "== cortex-speech: the shipped spoken-digit model"
  echo "\$ cortex-speech detect --model models/digits.safetensors models/samples/speech/digits.wav"
  "$bin"/cortex-speech detect --model models/digits.safetensors models/samples/speech/digits.wav
  echo "(spoken: $(cut -d' ' -f1 models/samples/speech/digits.truth | tr '\n' ' ')by a speaker the model never heard)"
  echo
  echo "On a machine with a microphone, say digits after:"
  echo "  $bin/cortex-speech listen --model models/digits.safetensors"
fi
if [ -f models/commands.safetensors ] && [ -f models/samples/speech/commands.wav ]; then
  echo
  echo "== cortex-speech: the shipped commands model (yes no up down left right on off stop go)"
  echo "\$ cortex-speech detect --model models/commands.safetensors models/samples/speech/commands.wav"
  "$bin"/cortex-speech detect --model models/commands.safetensors models/samples/speech/commands.wav
  echo "(spoken: $(cut -d' ' -f1 models/samples/speech/commands.truth | tr '\n' ' ')and two other words, each by a speaker the model never heard)"
  echo
  echo "On a machine with a microphone, say commands after:"
  echo "  $bin/cortex-speech listen --model models/commands.safetensors"
fi
echo
echo "Next: '$bin/cortex-vision --help' and '$bin/cortex-speech --help'; README.md explains training on your own data."
