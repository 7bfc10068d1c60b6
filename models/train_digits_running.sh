#!/usr/bin/env bash
# A CANDIDATE digit recipe with running speech and hard-negative mining
# (issue 14), NOT the recipe of the shipped models/digits.safetensors
# (that is models/train_digits.sh): measured 2026-12-03 it recognizes FSDD's
# held-out speakers better than the shipped model (george 94.6%, jackson
# 91.6%) and fired no false detection on 41.6 min of held-out running speech
# (george's rotation), but it hears 14 of 37 held-out speech-commands digit
# clips as _unknown_ (62.2% against the shipped model's 81.1%), and its
# detector tuning, held to no false detection on a 41-minute validation
# stream, chose thresholds of 0.9-0.95 (above the ~0.91 that label
# smoothing 0.1 lets a word reach), finding 0-41% of a held-out speaker's
# digits live. models/README.md has the figures.
#   models/train_digits_running.sh [OUT] [DATA] [TEST_SPEAKERS] [EPOCHS]
# DATA is a folder made by datasets/make_digits_data.sh (FSDD's digits, the
# digits of ~90 synthetic voices, speech-commands' real speakers: its digit
# clips as digits, its other words as _unknown_ with espeak-ng's, noise, and
# running speech without any digit: 40 synthetic voices and
# arabic-commands' 24 real speakers); without it the script makes one in a
# temporary folder from FSDD=, SPEECH_COMMANDS= and ARABIC_COMMANDS= (default
# ../shared/datasets/fsdd, speech-commands, arabic-commands; RUNNING=DIR
# reuses a make_running_speech.sh --rate 8000 folder).
# Held out of training entirely: TEST_SPEAKERS (default george, one espeak
# voice and six arabic-commands speakers' running speech), and a tenth of
# the other speakers by the hash of their name (--test-percent 10). A tenth
# of the rest is validation (model selection and the detector's tuning).
# One network (crnn2), trained with parts of words and running-speech
# segments as _unknown_ (--partial 0.15 --running-ratio 1) and --eq-db 15,
# then two rounds of hard-negative mining on the training voices' running
# speech (--mine-rounds 2).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?give the output model file (this is a candidate, not the shipped recipe)}
data=${2:-}
test_speakers=${3:-george,espeak-en-us,arabic-00000001,arabic-00000002,arabic-00000005,arabic-00000006,arabic-00000007,arabic-00000008}
epochs=${4:-30}
build=${BUILD:-build}
[ -x "$build/cortex-speech" ] || scripts/setup.sh >/dev/null
digits="zero,one,two,three,four,five,six,seven,eight,nine"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$data" ]; then
  data=$tmp/data
  echo "== data folder (datasets/make_digits_data.sh)"
  datasets/make_digits_data.sh "$data" "${FSDD:-../shared/datasets/fsdd}" \
    "${SPEECH_COMMANDS:-../shared/datasets/speech-commands}" "${ARABIC_COMMANDS:-../shared/datasets/arabic-commands}"
fi
start=$(date +%s)
"$build"/cortex-speech train --data "$data" --out "$out" --words "$digits" \
  --rate 8000 --window 1.0 --mels 20 --arch crnn2 \
  --test-speakers "$test_speakers" --test-percent 10 --val-percent 10 \
  --eq-db 15 --partial 0.15 --unknown-ratio 1 --running-ratio 1 --mine-rounds 2 \
  --epochs "$epochs" --batch 64 --lr 0.003 --seed "${SEED:-1}" --threads "${THREADS:-2}"
echo "training time: $(( $(date +%s) - start )) s on $(nproc) cores"
# Held-out figures: the speakers the model never heard.
"$build"/cortex-speech eval --model "$out" --data "$data"
