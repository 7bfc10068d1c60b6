#!/usr/bin/env bash
# The recipe of the shipped spoken-digit model (models/digits.safetensors):
#   models/train_digits.sh [OUT] [DATA] [TEST_SPEAKERS] [EPOCHS] [SEEDS]
# DATA is a folder made by datasets/prepare_fsdd.sh plus
# datasets/make_extra.sh --keywords "zero ... nine" (FSDD's ten digits, the
# digits spoken by ~90 synthetic voices, espeak-ng's other words as
# _unknown_, background noise); without it the script makes one in a
# temporary folder from FSDD beside the project (../shared/datasets/fsdd) or
# its public repository. TEST_SPEAKERS are held out of training entirely
# (default: george and one espeak voice), so the model card can state
# accuracy on a speaker the model never heard.
# The model is an ensemble: one network per seed in SEEDS (default "1 2 3"),
# then combined (cortex-speech combine), which also tunes the detector for
# the ensemble. The networks differ in their seed, and those whose seed is in
# PARTIAL_SEEDS (default "1") also train with --partial 0.15 --unknown-ratio 3
# (parts of words and three times as many other words as _unknown_): with
# that member in it the detector tuning chose lower thresholds (0.7-0.8
# instead of 0.8-0.9 over five held-out speakers), while the others, trained
# on whole words only, recognize more digits (models/README.md has the
# measurements). Every network trains with --eq-db 15 (a random smooth
# colouring of the mel bands per example, as another microphone would give:
# FSDD's speakers each recorded with their own). MEMBERS=DIR keeps the member models
# (DIR/seed<N>.safetensors, with checkpoints and learning curves); a member
# already there is not trained again.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-models/digits.safetensors}
data=${2:-}
test_speakers=${3:-george,espeak-en-us}
epochs=${4:-60}
seeds=${5:-1 2 3}
partial_seeds=${PARTIAL_SEEDS-1}
build=${BUILD:-build}
[ -x "$build/cortex-speech" ] || scripts/setup.sh >/dev/null
digits="zero one two three four five six seven eight nine"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$data" ]; then
  data=$tmp/data
  datasets/prepare_fsdd.sh "$data" >/dev/null
  datasets/make_extra.sh "$data" --rate 8000 --keywords "$digits" >/dev/null 2>&1
fi
members_dir=${MEMBERS:-$tmp/members}
mkdir -p "$members_dir"
start=$(date +%s)
members=()
for seed in $seeds; do
  m=$members_dir/seed$seed.safetensors
  members+=("$m")
  if [ -s "$m" ]; then echo "member seed $seed: $m exists, kept"; continue; fi
  extra=()
  case " $partial_seeds " in *" $seed "*) extra=(--partial 0.15 --unknown-ratio 3);; esac
  echo "== member seed $seed ${extra[*]}"
  "$build"/cortex-speech train --data "$data" --out "$m" \
    --words "${digits// /,}" \
    --rate 8000 --window 1.0 --mels 20 --test-speakers "$test_speakers" --val-percent 0 --arch crnn \
    --eq-db 15 "${extra[@]}" \
    --epochs "$epochs" --batch 64 --lr 0.003 --seed "$seed" --threads 2
done
if [ "${#members[@]}" -gt 1 ]; then
  echo "== ensemble of ${#members[@]}"
  "$build"/cortex-speech combine --data "$data" --out "$out" --unknown-ratio 3 --threads 2 "${members[@]}"
else
  cp "${members[0]}" "$out"
fi
echo "training time: $(( $(date +%s) - start )) s on $(nproc) cores"
"$build"/cortex-speech eval --model "$out" --data "$data"
