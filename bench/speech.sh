#!/usr/bin/env bash
# Speaker-independent keyword accuracy on the Free Spoken Digit Dataset:
# train on four of the five speakers, test on the fifth, all five rotations,
# with the recipe of the shipped digits model; then live detection on a long
# stream of the held-out speaker's digits (found, false detections per hour
# of other audio, median delay).
#   bench/speech.sh [FSDD_COPY] [EPOCHS]
# FSDD_COPY defaults to ../shared/datasets/fsdd (see datasets/prepare_fsdd.sh).
# KEEP=DIR keeps the five models (DIR/m_<speaker>.safetensors) and training
# logs; m_george is the shipped model's recipe (models/train_digits.sh: three
# networks per rotation, so about 35 minutes a rotation on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-../shared/datasets/fsdd}
epochs=${2:-60}
build=${BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
datasets/prepare_fsdd.sh "$work/data" "$src" >/dev/null
datasets/make_extra.sh "$work/data" --rate 8000 --keywords "zero one two three four five six seven eight nine" \
  >/dev/null 2>&1
echo "FSDD speaker-independent accuracy, $epochs epochs, $(date -u +%Y-%m-%dT%H:%MZ)"
accs=()
for sp in george jackson lucas nicolas yweweler; do
  models/train_digits.sh "$work/m_$sp.safetensors" "$work/data" "$sp,espeak-en-us" "$epochs" \
    > "$work/train_$sp.log" 2>&1
  acc=$("$build"/cortex-speech eval --model "$work/m_$sp.safetensors" --data "$work/data" \
          --test-speakers "$sp" --json \
        | /usr/bin/python3 -c "import json,sys; print('%.1f' % (100 * json.load(sys.stdin)['keyword_accuracy']))")
  accs+=("$acc")
  echo "held out $sp: digits $acc%"
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$work/m_$sp.safetensors" "$work/train_$sp.log" "$KEEP/"; fi
  "$build"/bench_detect "$work/m_$sp.safetensors" "$work/data" "$sp,espeak-en-us" 1 60 | sed 's/^/  /'
done
/usr/bin/python3 -c "import sys; a=[float(x) for x in sys.argv[1:]]; print('mean %.1f%%, lowest %.1f%% (targets: mean >= 90%%, none under 80%%)' % (sum(a)/len(a), min(a)))" "${accs[@]}"
