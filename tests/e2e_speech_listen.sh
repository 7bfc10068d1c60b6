#!/usr/bin/env bash
# End to end: cortex-speech listen on a virtual microphone (see
# tests/rig/virtual_mic.sh): a model trained on synthetic sound words hears
# them played into the microphone and prints them, in order, live.
#   e2e_speech_listen.sh BUILD_DIR SOURCE_DIR
set -u
bin=$1/cortex-speech
src=$2
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; type vmic_stop >/dev/null 2>&1 && vmic_stop; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }
py=/usr/bin/python3
# ALSA's plugins leak in their constructors (see tests/supp/lsan_audio.supp).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$src/tests/supp/lsan_audio.supp:print_suppressions=0"

bash "$src/tests/tools/make_sound_words.sh" "$tmp/data"
# No tnorm layer: it divides by the window's standard deviation, so a window
# of near or exact digital silence (the quiet lead-in and the stream's first
# 1.2 s) becomes full-scale noise or all zeros, inputs training never shows,
# and one sanitizer-build model fired "flat" on it in both attempts; without
# it the model needs more epochs to tell flat from down in every build.
# The stream is cat's, so cat trains and eve is held out; the training
# default's SpecAugment masks and 0 dB noise were too much for this tiny
# model: on an AMD EPYC (other OpenBLAS kernels) it took cat's flat for down
# in both attempts. Without masks and with 10-30 dB noise, four seeds with
# cat held out and four with eve held out each classified all 30 of cat's
# clips right.
"$bin" train --data "$tmp/data" --words up,down,flat --rate 8000 --window 0.8 --test-speakers eve \
    --val-percent 0 --arch "conv1d 32 5 relu; gru 32; mean" --batch 16 --lr 0.01 \
    --masks 0:0 --snr 10:30 \
    --label-smoothing 0 --threads 2 --epochs 80 --out "$tmp/m.safetensors" > "$tmp/train.log" 2>&1
check "model trained" test -s "$tmp/m.safetensors"

# Without any audio server: a clear message and exit code 1.
mkdir -p "$tmp/nohome/.config/pulse" "$tmp/noxdg"; chmod 700 "$tmp/noxdg"
echo "autospawn = no" > "$tmp/nohome/.config/pulse/client.conf"
env -u PULSE_SERVER HOME="$tmp/nohome" XDG_RUNTIME_DIR="$tmp/noxdg" \
    PULSE_CLIENTCONFIG="$tmp/nohome/.config/pulse/client.conf" \
    "$bin" listen --model "$tmp/m.safetensors" > "$tmp/out" 2> "$tmp/err"
code=$?
check "listen without a microphone exits 1" test "$code" = 1
check "and says to use detect on a file" grep -q "cortex-speech detect --model MODEL FILE" "$tmp/err"

source "$src/tests/rig/virtual_mic.sh"
if ! vmic_start; then bad "the virtual microphone could not start"; finish; fi
ok "virtual microphone up"
# Words in the stream start 1.7 s or more apart: a longer suppression than
# the tuned one keeps a word's tail from firing twice on this tiny model.
# The model is trained without label smoothing so that its peaks on these
# words are well above the threshold (above 0.9 on the file, whatever
# OpenBLAS kernels the machine picks: the trained weights differ with them).
# The audio arrives resampled twice by the sound server; should a live word
# still be missed, a second attempt is allowed and the first one's output is
# shown.
heard() { $py -c "
import json, sys; ev=[json.loads(l) for l in open('$tmp/listen.out')]
print([(e['word'], round(e['time'], 2), e['at']) for e in ev])
sys.exit([e['word'] for e in ev] != ['up', 'down', 'flat'])"; }
for attempt in 1 2; do
  : > "$tmp/exec.log"
  "$bin" listen --model "$tmp/m.safetensors" --json --seconds 15 --suppress-ms 1500 --threshold 0.6 \
      --exec "echo \"\$CORTEX_WORD\" >> '$tmp/exec.log'" > "$tmp/listen.out" 2> "$tmp/listen.err" &
  lp=$!; pids+=($lp)
  for i in $(seq 1 100); do grep -q "listening on" "$tmp/listen.err" && break; kill -0 $lp 2>/dev/null || break; sleep 0.1; done
  # A second of quiet first: the sink and the capture settle before the words.
  sox -q -n -r 8000 -c 1 -b 16 "$tmp/quiet.wav" trim 0 1
  vmic_play "$tmp/quiet.wav"
  vmic_play "$tmp/data/stream.wav"
  for i in $(seq 1 200); do kill -0 $lp 2>/dev/null || break; sleep 0.1; done
  kill -INT $lp 2>/dev/null; wait $lp; code=$?
  heard && break
  echo "attempt $attempt: not the words played"
done
check "listen started" grep -q "listening on" "$tmp/listen.err"
check "listen ends with exit 0" test "$code" = 0
check "listen heard up, down, flat in order" heard
check "--exec ran once per word" test "$(cat "$tmp/exec.log" 2>/dev/null | tr '\n' ' ')" = "up down flat "
check "listen reports CPU and overflows" grep -q "input overflows" "$tmp/listen.err"
grep "listened" "$tmp/listen.err"
if grep -q "Sanitizer\|runtime error" "$tmp/listen.err"; then bad "sanitizer report"; head -20 "$tmp/listen.err"; fi

# Spoken digits: the shipped model hears the bundled recording (ten digits
# by an FSDD speaker it never heard, models/samples/speech/digits.truth)
# through the microphone, and at least three of the digits must come out,
# right and in order, with the detector setting stored in the model (what a
# user gets). The model is not perfect on a new voice (the model card gives
# its figures: 92% of his digits recognized, about half found live with the
# stored setting; 7 of these 10 by detect), so up to two wrong words are
# tolerated.
model=$src/models/digits.safetensors rec=$src/models/samples/speech/digits.wav
"$bin" listen --model "$model" --json --seconds 30 > "$tmp/digits.out" 2> "$tmp/digits.err" &
lp=$!; pids+=($lp)
for i in $(seq 1 100); do grep -q "listening on" "$tmp/digits.err" && break; kill -0 $lp 2>/dev/null || break; sleep 0.1; done
vmic_play "$rec"
kill -INT $lp 2>/dev/null; wait $lp
digits() { $py -c "
import json, sys
ev = [json.loads(l) for l in open('$tmp/digits.out')]
words = [l.split()[0] for l in open('$src/models/samples/speech/digits.truth')]
right = j = 0
for e in ev:  # greedy in-order match against the spoken sequence
    k = j
    while k < len(words) and words[k] != e['word']: k += 1
    if k < len(words): right += 1; j = k + 1
print('heard:', [e['word'] for e in ev], 'spoken:', words, 'right:', right, 'wrong:', len(ev) - right)
sys.exit(not (right >= 3 and len(ev) - right <= 2))"; }
check "listen heard spoken digits: at least 3 right and in order, at most 2 wrong" digits
grep "listened" "$tmp/digits.err"

# ---- a lost microphone (the audio server killed, as when a USB microphone
# is unplugged or PulseAudio restarts)
since() { $py -c "import sys, time; print('%.2f' % (time.time() - float(sys.argv[1])))" "$1"; }
# 1. The server comes back within --reconnect: listen says so, goes on and
#    hears the words played after.
"$bin" listen --model "$tmp/m.safetensors" --json --reconnect 20 --suppress-ms 1500 \
    --threshold 0.6 > "$tmp/lost.out" 2> "$tmp/lost.err" &
lp=$!; pids+=($lp)
for i in $(seq 1 100); do grep -q "listening on" "$tmp/lost.err" && break; kill -0 $lp 2>/dev/null || break; sleep 0.1; done
t0=$(date +%s.%N)
vmic_kill_server KILL
for i in $(seq 1 50); do grep -q "reopening it" "$tmp/lost.err" && break; sleep 0.1; done
noticed=$(since "$t0")
check "listen noticed the lost device within 2.5 s (took $noticed s)" \
    $py -c "import sys; sys.exit(not float(sys.argv[1]) < 2.5)" "$noticed"
check "listen names the device it lost" grep -q "input device '.*'.*reopening it" "$tmp/lost.err"
vmic_restart_server
for i in $(seq 1 100); do grep -q "is back" "$tmp/lost.err" && break; sleep 0.1; done
check "listen reopened the device" grep -q "is back" "$tmp/lost.err"
# The restarted sink settles (its first seconds may be lost once more).
sleep 2
for attempt in 1 2; do
  : > "$tmp/lost.out"
  vmic_play "$tmp/quiet.wav"
  vmic_play "$tmp/data/stream.wav"
  sleep 1.5
  $py -c "
import json, sys; ev=[json.loads(l) for l in open('$tmp/lost.out')]
print([(e['word'], round(e['time'], 2)) for e in ev]); sys.exit([e['word'] for e in ev] != ['up', 'down', 'flat'])" && break
done
check "after the gap listen heard up, down, flat" $py -c "
import json, sys; sys.exit([json.loads(l)['word'] for l in open('$tmp/lost.out')] != ['up', 'down', 'flat'])"
t1=$(date +%s.%N); kill -INT $lp 2>/dev/null; wait $lp; code=$?; stopped=$(since "$t1")
check "listen exits 0 on Ctrl-C after a reconnection" test "$code" = 0
check "and within 0.5 s (took $stopped s)" $py -c "import sys; sys.exit(not float(sys.argv[1]) < 0.5)" "$stopped"
check "the summary counts the gap" grep -q "[1-9][0-9]* gaps (" "$tmp/lost.err"
sed 's/^/  | /' "$tmp/lost.err" | grep -v "^  | Expression"

# 2. Ctrl-C while listen waits for the device: stops within 0.5 s.
"$bin" listen --model "$tmp/m.safetensors" --reconnect 60 > /dev/null 2> "$tmp/wait.err" &
lp=$!; pids+=($lp)
for i in $(seq 1 100); do grep -q "listening on" "$tmp/wait.err" && break; kill -0 $lp 2>/dev/null || break; sleep 0.1; done
vmic_kill_server KILL
for i in $(seq 1 50); do grep -q "reopening it" "$tmp/wait.err" && break; sleep 0.1; done
sleep 1
t1=$(date +%s.%N); kill -INT $lp 2>/dev/null; wait $lp; code=$?; stopped=$(since "$t1")
check "Ctrl-C while reconnecting: exit 0 (got $code)" test "$code" = 0
check "and within 0.5 s (took $stopped s)" $py -c "import sys; sys.exit(not float(sys.argv[1]) < 0.5)" "$stopped"

# 3. The server does not come back: exit 1 once --reconnect has passed, with
#    a message that names the device.
vmic_restart_server || bad "the audio server did not restart"
"$bin" listen --model "$tmp/m.safetensors" --reconnect 3 > /dev/null 2> "$tmp/gone.err" &
lp=$!; pids+=($lp)
for i in $(seq 1 100); do grep -q "listening on" "$tmp/gone.err" && break; kill -0 $lp 2>/dev/null || break; sleep 0.1; done
t0=$(date +%s.%N)
vmic_kill_server KILL
for i in $(seq 1 150); do kill -0 $lp 2>/dev/null || break; sleep 0.1; done
wait $lp; code=$?; took=$(since "$t0")
check "a device that does not come back: exit 1 (got $code)" test "$code" = 1
check "within --reconnect 3 s and a second (took $took s)" \
    $py -c "import sys; sys.exit(not float(sys.argv[1]) < 6.0)" "$took"
check "the message names the device and says it did not come back" \
    grep -q "input device '.*'.*did not come back within 3 s" "$tmp/gone.err"
grep "did not come back" "$tmp/gone.err"
finish
