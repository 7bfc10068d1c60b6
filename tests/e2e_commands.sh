#!/usr/bin/env bash
# End to end on real voices: a small slice of ../shared/datasets/speech-commands
# (three command words and one other word, a few dozen speakers) with running
# speech made by datasets/make_running_speech.sh on a few sentences, through
# train with one round of hard-negative mining, eval on a folder that holds
# only some of the model's words (and on one that holds none), and detect.
#   e2e_commands.sh BUILD_DIR SOURCE_DIR
set -u
bin=$1/cortex-speech
src=$2
sc=$(cd "$src/.." && pwd)/shared/datasets/speech-commands
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
expect_code() { # expected-code description command...
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
  if [ "$got" = "$want" ]; then ok "$what (exit $got)"; else bad "$what: exit $got, wanted $want"; sed 's/^/  | /' "$tmp/err" | head -5; fi
}
py=/usr/bin/python3
if [ ! -d "$sc/yes" ]; then
  echo "$sc is missing: the shared datasets are needed"; echo "0 passed, 1 failed"; exit 1
fi

# ---- running speech: the script on a few sentences
rs=$src/datasets/make_running_speech.sh
expect_code 0 "make_running_speech --help" bash "$rs" --help
expect_code 2 "make_running_speech: unknown option" bash "$rs" "$tmp/x" --frobnicate
expect_code 2 "make_running_speech: bad --voices" bash "$rs" "$tmp/x" --voices many
expect_code 1 "make_running_speech: --arabic not a folder" bash "$rs" "$tmp/x" --arabic "$tmp/nowhere"
expect_code 0 "make_running_speech --print-text" bash "$rs" "$tmp/x" --print-text
check "the text has thousands of sentences" test "$(wc -l < "$tmp/out")" -gt 1000
check "no sentence holds a keyword, a digit or a homophone" \
  bash -c "! grep -qiwE 'yes|no|up|down|left|right|on|off|stop|go|zero|one|two|three|four|five|six|seven|eight|nine|to|too|for|oh|know|won|ate|[0-9]+' '$tmp/out'"
d=$tmp/data
expect_code 0 "make_running_speech: 3 voices, a few sentences each" \
  bash "$rs" "$d" --voices 3 --minutes-per-voice 0.15
check "it reports what it made" grep -q "3 recordings" "$tmp/out"
check "recordings are <voice>_<n>.wav" test -s "$d/_running_speech_/festival-kal_0.wav" -a -s "$d/_running_speech_/festival-slt_0.wav"
check "16 kHz mono" test "$(soxi -r "$d/_running_speech_/festival-kal_0.wav")" = 16000 -a "$(soxi -c "$d/_running_speech_/festival-kal_0.wav")" = 1
check "a few seconds each" $py -c "
import subprocess; s=float(subprocess.check_output(['soxi','-D','$d/_running_speech_/festival-ked_0.wav']))
assert 4 < s < 30, s"

# ---- the slice: yes, no, up and "bed" (not a keyword), at most 24 clips a word
for w in yes no up bed; do
  mkdir -p "$d/$w"
  ls "$sc/$w" | head -24 | while read -r f; do ln -s "$sc/$w/$f" "$d/$w/$f"; done
done
mkdir -p "$d/_background_noise_"
ln -s "$sc/_background_noise_/white_noise.flac" "$d/_background_noise_/" 2>/dev/null ||
  ln -s "$(ls "$sc/_background_noise_"/*.flac | head -1)" "$d/_background_noise_/"
# test speakers: the speakers of the first three "yes" clips
ts=$(ls "$d/yes" | head -3 | sed 's/_.*//' | sort -u | paste -sd, -)

# ---- train with one mining round
common=(--data "$d" --words yes,no,up --rate 16000 --window 1 --test-speakers "$ts" --val-percent 0
        --arch "conv1d 16 5 relu; gru 16; mean" --epochs 6 --batch 16 --lr 0.01 --threads 2)
expect_code 0 "train --mine-rounds 1" "$bin" train "${common[@]}" --out "$tmp/m.safetensors" \
  --mine-rounds 1 --mine-epochs 1 --mine-threshold 0.05
cp "$tmp/out" "$tmp/train.log"
check "training cut _unknown_ segments from the running speech" grep -qE "running speech: 3 recordings, .* \([1-9][0-9]* _unknown_ segments\)" "$tmp/train.log"
check "the mining round reports its false detections and what it added" \
  grep -qE "^mining round 1/1: [0-9]+ false detections in 0\.[0-9]+ h .*; [0-9]+ windows added as _unknown_" "$tmp/train.log"
check "a low mining threshold fires on an undertrained model" \
  grep -qE "^mining round 1/1: [1-9][0-9]* false detections" "$tmp/train.log"
check "then trains on" grep -q "^mining round 1: best\|^epoch   1/1" "$tmp/train.log"
check "model written, detector tuned" test -s "$tmp/m.safetensors" -a -n "$(grep '^detector:' "$tmp/train.log")"
expect_code 0 "info" "$bin" info --model "$tmp/m.safetensors"
check "info shows the mining record" grep -q "train.mine .*rounds=1" "$tmp/out"
check "info shows the seen speakers, running-speech voices too" grep -q "train.seen_speakers.*festival-kal" "$tmp/out"
expect_code 0 "train --test-speakers with --test-percent" "$bin" train "${common[@]}" \
  --out "$tmp/tp.safetensors" --test-percent 20 --epochs 1 --arch small
expect_code 0 "info on it" "$bin" info --model "$tmp/tp.safetensors"
check "info shows both held-out rules" grep -q "train.test_percent.*20" "$tmp/out"
check "and the listed speakers" grep -q "train.test_speakers.*${ts%%,*}" "$tmp/out"
expect_code 0 "combine with one model and --data tunes its detector again" \
  "$bin" combine --data "$d" --out "$tmp/rt.safetensors" "$tmp/m.safetensors" --threads 2
check "it says so and writes the model" grep -q "tuning the detector of" "$tmp/out"
expect_code 2 "combine with one model and no --data" "$bin" combine --out "$tmp/x.safetensors" "$tmp/m.safetensors"
expect_code 2 "bad --mine-rounds" "$bin" train "${common[@]}" --out "$tmp/x.safetensors" --mine-rounds -1
expect_code 1 "mining without an _unknown_ class" "$bin" train --data "$d" --out "$tmp/x.safetensors" \
  --words yes,no,up,bed --running-ratio 0 --epochs 1 --mine-rounds 1 --threads 2 --arch small
check "the error says why" grep -q "_unknown_" "$tmp/err"

# ---- eval on any folder of the model's words
expect_code 0 "eval (default: the speakers the model never heard)" "$bin" eval --model "$tmp/m.safetensors" --data "$d"
check "eval scores unseen speakers only" grep -q "unseen speakers" "$tmp/out"
few=$tmp/few
mkdir -p "$few/yes" "$few/no"
for f in $(ls "$d/yes" | tail -4); do ln -s "$d/yes/$f" "$few/yes/$f"; done
for f in $(ls "$d/no" | tail -4); do ln -s "$d/no/$f" "$few/no/$f"; done
expect_code 0 "eval on a folder of two of the three words, no noise folder" \
  "$bin" eval --model "$tmp/m.safetensors" --data "$few" --split all --json
check "its figures count the clips there and nothing else" $py -c "
import json; o=json.load(open('$tmp/out'))
assert o['n'] == 8, o['n']
pc = sorted(c['label'] for c in o['per_class'])
assert pc == ['no', 'yes'], pc
assert len(o['confusion']) == len(o['labels']) == 5"
expect_code 0 "eval text on it" "$bin" eval --model "$tmp/m.safetensors" --data "$few" --split all
check "absent words have no row" bash -c "! grep -qE '^(up|_silence_) ' '$tmp/out'"
check "present words do" grep -qE "^yes " "$tmp/out"
mkdir -p "$tmp/none/hello"
cp "$(ls "$d"/yes/* | head -1)" "$tmp/none/hello/"
expect_code 1 "eval on a folder of none of the model's words" "$bin" eval --model "$tmp/m.safetensors" --data "$tmp/none"
check "the error says so" grep -q "none of the model's words" "$tmp/err"

# the shipped digits model on a folder of only zero..nine by speakers it
# never heard (speech-commands speakers outside its train.seen_speakers):
# every clip is scored
dg=$tmp/digits
"$bin" info --model "$src/models/digits.safetensors" | awk '$1 == "train.seen_speakers" { print $2 }' \
  | tr , '\n' > "$tmp/seen"
for w in zero one two three four five six seven eight nine; do
  mkdir -p "$dg/$w"
  ls "$sc/$w" | while read -r f; do grep -qxF "${f%%_*}" "$tmp/seen" || echo "$f"; done | head -2 |
    while read -r f; do ln -s "$sc/$w/$f" "$dg/$w/$f"; done
done
nd=$(find "$dg" -type l | wc -l)
check "speech-commands has unheard speakers of every digit" test "$nd" -ge 10
expect_code 0 "eval the digits model on a folder of zero..nine only" \
  "$bin" eval --model "$src/models/digits.safetensors" --data "$dg" --json
check "all $nd clips scored" $py -c "
import json; o=json.load(open('$tmp/out')); assert o['n'] == $nd, o['n']"

# ---- detect on a stream of held-out clips
mapfile -t clips < <(for s in ${ts//,/ }; do ls "$d"/yes/"$s"_* "$d"/no/"$s"_* 2>/dev/null; done | head -4)
sox "${clips[@]}" "$tmp/stream.wav" 2>/dev/null
expect_code 0 "detect on a stream" "$bin" detect --model "$tmp/m.safetensors" --json "$tmp/stream.wav"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
