#!/usr/bin/env bash
# Keyword recognition on speakers the models never heard, live detection on
# long streams, false detections on running speech, and listen's CPU cost.
#   bench/speech.sh commands [MODEL] [SPEECH_COMMANDS] [ARABIC_COMMANDS]
#   bench/speech.sh digits [FSDD_COPY] [EPOCHS]
#   bench/speech.sh digits-running [FSDD] [EPOCHS] [SPEECH_COMMANDS] [ARABIC_COMMANDS]
#   bench/speech.sh listen MODEL... [-- SECONDS]
# commands: MODEL (default models/commands.safetensors) on the held-out
#   speakers of speech-commands (default ../shared/datasets/speech-commands;
#   the hash split its training recorded): keyword accuracy (cortex-speech
#   eval), then bench_detect on a stream of their commands (found, false
#   detections, median delay), on isolated other words and noise, and on
#   running speech: the test split's voices of the recipe's running speech
#   (synthetic and real, arabic-commands) and nine synthetic voices that are
#   in no training data (make_running_speech.sh --skip-voices 40 --voices 9).
#   RUNNING=DIR and RUNNING_EXTRA=DIR reuse folders that script made.
# digits: the FSDD leave-one-speaker-out rotation below.
# digits-running: the same rotation of models/train_digits_running.sh (the
#   candidate recipe with running speech and mining, not shipped), JOBS
#   (default 2) at a time on nproc/JOBS threads each; then the held-out
#   speaker's accuracy, every unseen speaker's, and bench_detect on the held-out
#   speaker's stream and on the model's whole test split with its running
#   speech (and nine synthetic voices in no training data). KEEP=DIR keeps the
#   models, logs and scores there (a model or score already there is not made
#   again); DATA=DIR reuses a datasets/make_digits_data.sh folder;
#   SPEAKERS="a b" runs only those rotations.
# listen: each MODEL's live detector on the virtual microphone
#   (tests/rig/virtual_mic.sh) for SECONDS (default 60) of speech and
#   silence, as % of one core (utime + stime from /proc); before it, the
#   machine's sgemm rate on one core (bench_sgemm) and each model alone
#   (detect on its bundled recording, % of real time), for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
mode=${1:-digits}
case "$mode" in commands|digits|digits-running|listen) shift;; *) mode=digits;; esac
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 >/dev/null
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"

if [ "$mode" = listen ]; then
  models=() secs=60
  while [ $# -gt 0 ]; do
    case "$1" in --) secs=${2:-60}; shift $#;; *) models+=("$1"); shift;; esac
  done
  [ ${#models[@]} -gt 0 ] || models=(models/digits.safetensors models/commands.safetensors)
  source tests/rig/virtual_mic.sh
  VMIC_QUIET=1 vmic_start || { echo "bench/speech.sh: the virtual microphone did not start" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'vmic_stop; rm -rf "$tmp"' EXIT
  sox -q models/samples/speech/digits.wav -r 16000 "$tmp/talk.wav"
  tick=$(getconf CLK_TCK)
  # the machine's limit for one core, and the model alone (detect on a file)
  "$build"/bench_sgemm 1024 1
  for m in "${models[@]}"; do
    rec=models/samples/speech/$(basename "$m" .safetensors).wav
    [ -f "$rec" ] || rec=models/samples/speech/digits.wav
    echo "detect $m on $rec: $("$build"/cortex-speech detect --model "$m" "$rec" 2>&1 >/dev/null |
      sed -n 's/.*CPU (\(.*\) of real time).*/\1/p') of real time"
  done
  for m in "${models[@]}"; do
    "$build"/cortex-speech listen --model "$m" </dev/null >"$tmp/out" 2>"$tmp/err" &
    p=$!
    sleep 3
    c0=$(awk '{print $14 + $15}' /proc/$p/stat); t0=$(date +%s.%N)
    end=$(( $(date +%s) + secs ))
    while [ "$(date +%s)" -lt "$end" ]; do vmic_play "$tmp/talk.wav" || sleep 1; done
    c1=$(awk '{print $14 + $15}' /proc/$p/stat); t1=$(date +%s.%N)
    kill -INT $p; wait $p || true
    awk -v c=$((c1 - c0)) -v t0="$t0" -v t1="$t1" -v hz="$tick" -v m="$m" -v n="$(wc -l < "$tmp/out")" \
      'BEGIN { w = t1 - t0; printf "listen %s: %.2f%% of one core (%d ticks in %.0f s; %d detections printed)\n", m, 100 * c / hz / w, c, w, n }'
  done
  exit 0
fi

if [ "$mode" = commands ]; then
  model=${1:-models/commands.safetensors}
  sc=${2:-../shared/datasets/speech-commands}
  arabic=${3:-../shared/datasets/arabic-commands}
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  data=$work/data
  datasets/make_commands_data.sh "$data" "$sc" "$arabic" >/dev/null
  extra=${RUNNING_EXTRA:-}
  if [ -z "$extra" ]; then
    extra=$work/extra
    datasets/make_running_speech.sh "$extra" --rate 16000 --skip-voices 40 --voices 9 >/dev/null
  fi
  echo "== $model on speech-commands speakers it never heard"
  "$build"/cortex-speech eval --model "$model" --data "$data" --json > "$work/eval.json"
  "$build"/cortex-speech eval --model "$model" --data "$data" | head -1
  /usr/bin/python3 -c "
import json; o = json.load(open('$work/eval.json'))
print('keyword accuracy %.2f%% (target >= 92%%), all classes %.2f%% of %d clips' % (100 * o['keyword_accuracy'], 100 * o['accuracy'], o['n']))
worst = sorted((c['recall'], c['label']) for c in o['per_class'])[:3]
print('lowest recall: ' + ', '.join('%s %.1f%%' % (l, 100 * r) for r, l in worst))"
  echo "== live detection (bench_detect)"
  "$build"/bench_detect "$model" "$data" - 1 60 - "$extra"
  exit 0
fi

if [ "$mode" = digits-running ]; then
fsdd=${1:-../shared/datasets/fsdd}
epochs=${2:-30}
sc=${3:-../shared/datasets/speech-commands}
arabic=${4:-../shared/datasets/arabic-commands}
jobs=${JOBS:-2}
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
data=${DATA:-$work/data}
[ -d "$data/zero" ] || datasets/make_digits_data.sh "$data" "$fsdd" "$sc" "$arabic" >/dev/null
extra=${RUNNING_EXTRA:-}
if [ -z "$extra" ]; then
  extra=$work/extra
  datasets/make_running_speech.sh "$extra" --rate 8000 --skip-voices 40 --voices 9 >/dev/null
fi
held_real=arabic-00000001,arabic-00000002,arabic-00000005,arabic-00000006,arabic-00000007,arabic-00000008
speakers=${SPEAKERS:-george jackson lucas nicolas yweweler}
echo "FSDD leave-one-speaker-out: models/train_digits_running.sh (a candidate, not shipped), $epochs epochs, $jobs at a time"
running=0
for sp in $speakers; do
  m=$work/m_$sp.safetensors
  if [ ! -s "$m" ]; then
    THREADS=$(( $(nproc) / jobs > 0 ? $(nproc) / jobs : 1 )) \
      models/train_digits_running.sh "$m" "$data" "$sp,espeak-en-us,$held_real" "$epochs" > "$work/train_$sp.log" 2>&1 &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
  fi
done
wait
score() { # the figures of one rotation, into $work/score_$1.txt
  local sp=$1 m=$work/m_$1.safetensors
  {
    "$build"/cortex-speech eval --model "$m" --data "$data" --test-speakers "$sp" --json \
      | /usr/bin/python3 -c "import json,sys; print('%.1f' % (100 * json.load(sys.stdin)['keyword_accuracy']))"
    echo "== held out $sp"
    grep -E "^mining round [0-9]+: validation|^detector" "$work/train_$sp.log" | sed 's/^/  train: /' || true
    "$build"/cortex-speech eval --model "$m" --data "$data" | head -1 | sed 's/^/  all unseen speakers: /'
    echo "  $sp alone:"
    "$build"/bench_detect "$m" "$data" "$sp" 1 0 | grep -E "^(stream|found)" | sed 's/^/    /'
    echo "  every held-out speaker and voice (the model's test split):"
    "$build"/bench_detect "$m" "$data" - 1 60 - "$extra" | sed 's/^/    /'
  } > "$work/score_$sp.txt" 2>&1
}
running=0
for sp in $speakers; do
  [ -s "$work/m_$sp.safetensors" ] || { echo "held out $sp: training failed (tail of its log):"; tail -5 "$work/train_$sp.log"; exit 1; }
  [ "$work/score_$sp.txt" -nt "$work/m_$sp.safetensors" ] && continue # KEEP: scored already
  score "$sp" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
accs=()
for sp in $speakers; do
  acc=$(head -1 "$work/score_$sp.txt")
  accs+=("$acc")
  echo "held out $sp: digits $acc%"
  tail -n +3 "$work/score_$sp.txt"
done
/usr/bin/python3 -c "import sys; a=[float(x) for x in sys.argv[1:]]; print('mean %.1f%%, lowest %.1f%% (targets: mean >= 93%%, none under 88%%)' % (sum(a)/len(a), min(a)))" "${accs[@]}"
  exit 0
fi

src=${1:-../shared/datasets/fsdd}
epochs=${2:-60}
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
