#!/usr/bin/env bash
# The recipe of the shipped commands model (models/commands.safetensors):
#   models/train_commands.sh [OUT] [SPEECH_COMMANDS] [ARABIC_COMMANDS] [EPOCHS]
# SPEECH_COMMANDS is the speech-commands folder (default
# ../shared/datasets/speech-commands; the full v0.02 download works too),
# ARABIC_COMMANDS the arabic-commands folder (default
# ../shared/datasets/arabic-commands). The keywords are the ten command words;
# every other word folder (the digits and the other words) is _unknown_, and
# so are segments of running speech without any keyword, which the script
# makes with datasets/make_running_speech.sh (40 synthetic voices reading
# ordinary text, and arabic-commands' 24 real speakers strung together;
# RUNNING=DIR reuses a folder that script made, DIR/_running_speech_).
# Speakers are split by the hash of their name, as the Speech Commands
# convention does: 10% test (held out of training and tuning entirely), 10%
# validation (model selection and the detector's tuning), the rest training.
# After training, two rounds of hard-negative mining (--mine-rounds 2): the
# detector runs over the training voices' running speech, every window that
# fires becomes an _unknown_ example, training goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-models/commands.safetensors}
sc=${2:-../shared/datasets/speech-commands}
arabic=${3:-../shared/datasets/arabic-commands}
epochs=${4:-50}
build=${BUILD:-build}
[ -x "$build/cortex-speech" ] || scripts/setup.sh >/dev/null
for d in "$sc" "$arabic"; do
  [ -d "$d" ] || { echo "train_commands: $d is not a folder (see the script's header)" >&2; exit 1; }
done
words="yes,no,up,down,left,right,on,off,stop,go"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=$tmp/data
echo "== data folder (datasets/make_commands_data.sh)"
datasets/make_commands_data.sh "$data" "$sc" "$arabic"
start=$(date +%s)
"$build"/cortex-speech train --data "$data" --out "$out" --words "$words" \
  --rate 16000 --window 1.0 --mels 40 --arch crnn2 \
  --eq-db 15 --unknown-ratio 1 --running-ratio 1 --mine-rounds 2 \
  --epochs "$epochs" --batch 64 --lr 0.003 --seed "${SEED:-1}" --threads "${THREADS:-2}"
echo "training time: $(( $(date +%s) - start )) s on $(nproc) cores"
# Held-out figures: the speakers the model never heard (the test split).
"$build"/cortex-speech eval --model "$out" --data "$data"
