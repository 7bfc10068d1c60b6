#!/usr/bin/env bash
# End to end: cortex-speech devices and record on a virtual microphone.
#   e2e_speech_record.sh BUILD_DIR SOURCE_DIR
# Usage errors; no audio server at all (the no-microphone message); then a
# private PulseAudio null sink (tests/rig/virtual_mic.sh) into which the
# script plays espeak-ng's "hello" each time record says "now": devices
# lists it, record saves trimmed clips with plausible durations, numbering
# continues without overwriting, the callback + resampling path (as used for
# JACK) matches the played audio, a 3 s stop (SIGSTOP) is survived and any
# overflow it causes is reported, silence is rejected, Ctrl-C keeps what was
# saved.
# Every wait is bounded; every process started here is killed on exit.
set -u
bin=$1/cortex-speech
src=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
expect_code() { # expected-code description command...
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; local got=$?
  if [ "$got" = "$want" ]; then ok "$what (exit $got)"; else bad "$what: exit $got, wanted $want"; sed 's/^/  | /' "$tmp/err" | head -8; fi
  if grep -q "Sanitizer\|runtime error" "$tmp/err"; then bad "$what: sanitizer report"; head -20 "$tmp/err"; fi
}
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }
py=/usr/bin/python3

# Under the sanitizer build: ALSA's plugins leak in their constructors and are
# unloaded again (see tests/supp/lsan_audio.supp); the suppression needs
# full stacks. Both variables are ignored by a binary built without ASan.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$src/tests/supp/lsan_audio.supp:print_suppressions=0"
# OpenBLAS starts its threads in a library constructor; a command that exits
# at once (--help) can end while one is still starting, and glibc 2.36's
# pthread_getattr_np then leaks under ASan (about 1 run in 6 here). These
# commands never use BLAS: one thread, no race.
export OPENBLAS_NUM_THREADS=1

# ---- help and usage errors
expect_code 0 "--help" "$bin" --help
check "--help lists devices and record" grep -q "devices.*record" <(tr '\n' ' ' < "$tmp/out")
for c in devices record; do expect_code 0 "$c --help" "$bin" $c --help; done
expect_code 2 "no command" "$bin"
expect_code 2 "unknown command" "$bin" frobnicate
expect_code 2 "record without --word" "$bin" record --data "$tmp/d" --count 1
expect_code 2 "record --word with a slash" "$bin" record --data "$tmp/d" --word a/b --count 1
expect_code 2 "record --count 0" "$bin" record --data "$tmp/d" --word a --count 0
expect_code 2 "record --seconds 99" "$bin" record --data "$tmp/d" --word a --count 1 --seconds 99
expect_code 2 "devices with an argument" "$bin" devices extra

# ---- no audio server at all: what a user without a microphone sees
mkdir -p "$tmp/nohome/.config/pulse" "$tmp/noxdg"
chmod 700 "$tmp/noxdg"
echo "autospawn = no" > "$tmp/nohome/.config/pulse/client.conf"
nomic=(env -u PULSE_SERVER HOME="$tmp/nohome" XDG_RUNTIME_DIR="$tmp/noxdg"
       PULSE_CLIENTCONFIG="$tmp/nohome/.config/pulse/client.conf")
expect_code 1 "record without a microphone" "${nomic[@]}" "$bin" record --data "$tmp/none" --word hello --count 1
check "it says no microphone was found" grep -q "no microphone found" "$tmp/err"
check "it says how to run on a recording" grep -q "cortex-speech detect --model MODEL FILE" "$tmp/err"
check "no ALSA/JACK noise on stderr" test "$(wc -l < "$tmp/err")" -le 2
check "no folder created" test ! -e "$tmp/none"
expect_code 1 "record --device pulse without a microphone" "${nomic[@]}" "$bin" record --data "$tmp/none" --word hello --count 1 --device pulse
check "same message" grep -q "no microphone found" "$tmp/err"
expect_code 1 "devices without a microphone" "${nomic[@]}" "$bin" devices
check "devices says no microphone was found" grep -q "no microphone found" "$tmp/err"

# ---- the virtual microphone
if ! command -v espeak-ng >/dev/null; then
    bad "espeak-ng is not installed (apt-get install espeak-ng, or scripts/setup.sh --deps)"
    finish
fi
espeak-ng -w "$tmp/hello.wav" hello
source "$src/tests/rig/virtual_mic.sh"
if ! vmic_start; then
    bad "the virtual microphone could not start (see the vmic: lines above)"
    finish
fi
ok "virtual microphone up"

expect_code 0 "devices" "$bin" devices
check "devices lists the pulse input" grep -Eq "^[ *] +[0-9]+ +(pulse|default) " "$tmp/out"
check "devices marks a default" grep -q "^\*" "$tmp/out"

# record_with_player NAME PLAYS ENV... -- ARGS...: runs record in the
# background (stdin not a terminal) and plays hello.wav after each "now", at
# most PLAYS times; waits at most 40 s for record to end. Sets $code.
record_with_player() {
    local name=$1 plays=$2; shift 2
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    : > "$tmp/$name.err"
    env "${envs[@]}" "$bin" record "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
    local p=$! k i
    pids+=($p)
    for ((k = 1; k <= plays; k++)); do
        for i in $(seq 1 100); do
            [ "$(grep -o ' now' "$tmp/$name.err" | wc -l)" -ge "$k" ] && break
            kill -0 $p 2>/dev/null || break
            sleep 0.1
        done
        kill -0 $p 2>/dev/null || break
        sleep 0.2
        vmic_play "$tmp/hello.wav"
    done
    for i in $(seq 1 400); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
    kill -0 $p 2>/dev/null && { kill -INT $p; sleep 0.5; kill -KILL $p 2>/dev/null; }
    wait $p
    code=$?
}
show() { sed 's/^/  | /' "$tmp/$1.err" | tail -12; }
durations_ok() { # files...: every duration in 0.2..1.5 s
    $py - "$@" <<'EOF'
import sys, wave
for p in sys.argv[1:]:
    w = wave.open(p)
    d = w.getnframes() / w.getframerate()
    print(f"  {p.split('/')[-1]}: {d:.2f} s, {w.getframerate()} Hz, {w.getnchannels()} ch, {8 * w.getsampwidth()} bit")
    assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, p
    assert 0.2 <= d <= 1.5, (p, d)
EOF
}

# Two clips, blocking reads (Pa_ReadStream), device "pulse".
record_with_player two 6 -- --data "$tmp/T" --word hello --count 2 --device pulse --speaker tester
if [ "$code" = 0 ]; then ok "record --count 2 (exit 0)"; else bad "record --count 2: exit $code"; show two; fi
check "two clips saved, numbered 1 and 2" test -f "$tmp/T/hello/tester_1.wav" -a -f "$tmp/T/hello/tester_2.wav"
check "clips are 16 kHz 16-bit mono, 0.2-1.5 s" durations_ok "$tmp"/T/hello/tester_*.wav
check "record prints where it saved each clip" test "$(grep -c "^saved $tmp/T/hello/tester_[12].wav" "$tmp/two.out")" = 2
check "no temporary files left" test "$(ls -A "$tmp/T/hello" | wc -l)" = 2
md5_before=$(md5sum "$tmp"/T/hello/tester_1.wav "$tmp"/T/hello/tester_2.wav)

# A third clip through the callback path (JACK's) from a device running at
# 44.1 kHz, resampled to 16 kHz: numbering continues, nothing overwritten,
# and the clip is the played word.
record_with_player three 3 CORTEX_MIC_CALLBACK=1 CORTEX_MIC_DEVICE_RATE=44100 -- \
    --data "$tmp/T" --word hello --count 1 --device default --speaker tester
if [ "$code" = 0 ]; then ok "record via callback at 44.1 kHz (exit 0)"; else bad "record via callback at 44.1 kHz: exit $code"; show three; fi
check "it says the device rate is resampled" grep -q "44100 Hz, resampled" "$tmp/three.err"
check "numbering continued: tester_3.wav" test -f "$tmp/T/hello/tester_3.wav"
check "earlier clips untouched" test "$(md5sum "$tmp"/T/hello/tester_1.wav "$tmp"/T/hello/tester_2.wav)" = "$md5_before"
check "the resampled clip is the played word (correlation > 0.8)" $py - "$tmp/hello.wav" "$tmp/T/hello/tester_3.wav" <<'EOF'
import sys, wave, subprocess, numpy as np
def read(p):
    w = wave.open(p)
    return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64), w.getframerate()
src, rate = read(sys.argv[1])
got, grate = read(sys.argv[2])
# Resample the espeak-ng file (22050 Hz) to the clip's rate by linear interpolation.
t = np.arange(int(len(src) * grate / rate)) * rate / grate
ref = np.interp(t, np.arange(len(src)), src)
c = np.correlate(got, ref, "full")
lag = int(np.argmax(c)) - (len(ref) - 1)
a, b = (got[lag:], ref) if lag >= 0 else (got, ref[-lag:])
n = min(len(a), len(b))
r = np.corrcoef(a[:n], b[:n])[0, 1]
print(f"  correlation {r:.3f} at lag {lag}")
assert r > 0.8
EOF

# The process is stopped for 3 s during a clip (callback path). On resuming,
# the audio server's backlog bursts into the callback's 2 s ring; whether it
# overflows depends on how fast the reader drains it at that moment (the
# counting itself is tests/test_speech_ring.c). Either way record goes on; a
# reported overflow must mean the clip was recorded again.
: > "$tmp/over.err"
CORTEX_MIC_CALLBACK=1 "$bin" record --data "$tmp/T" --word hello --count 1 --device pulse --speaker tester \
    </dev/null >"$tmp/over.out" 2>"$tmp/over.err" &
p=$!; pids+=($p)
for i in $(seq 1 100); do grep -q ' now' "$tmp/over.err" && break; sleep 0.1; done
sleep 0.3; kill -STOP $p; sleep 3; kill -CONT $p
for i in $(seq 1 100); do [ "$(grep -o ' now' "$tmp/over.err" | wc -l)" -ge 2 ] && break; kill -0 $p 2>/dev/null || break; sleep 0.1; done
sleep 0.2; vmic_play "$tmp/hello.wav"
for i in $(seq 1 100); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
kill -0 $p 2>/dev/null && kill -KILL $p
wait $p; code=$?
if [ "$code" = 0 ]; then ok "record survives being stopped for 3 s (exit 0)"; else bad "record stopped for 3 s: exit $code"; show over; fi
if grep -q "input overflow" "$tmp/over.err"; then
    echo "  (an overflow happened and was reported)"
    check "the clip with lost audio was recorded again" grep -q "audio was lost" "$tmp/over.err"
else
    echo "  (no overflow this time: the reader kept up with the backlog)"
    check "no clip was called lost without an overflow" bash -c "! grep -q 'audio was lost' '$tmp/over.err'"
fi
check "the clip was saved as tester_4.wav" test -f "$tmp/T/hello/tester_4.wav"

# Silence: nothing is played; three rejected attempts end with exit 1.
expect_code 1 "record hears only silence" "$bin" record --data "$tmp/S" --word hello --count 1 --seconds 0.5 --speaker tester
check "it says no word was heard, 3 times" grep -q "heard no word.*3 times in a row" "$tmp/err"
check "nothing saved" test -z "$(ls -A "$tmp/S/hello" 2>/dev/null)"

# Ctrl-C after the first of 5 clips: exit 0, the saved clip is kept, the
# speaker defaults to $USER.
: > "$tmp/int.err"
USER=ci-user "$bin" record --data "$tmp/I" --word hello --count 5 </dev/null >"$tmp/int.out" 2>"$tmp/int.err" &
p=$!; pids+=($p)
for i in $(seq 1 100); do grep -q ' now' "$tmp/int.err" && break; sleep 0.1; done
sleep 0.2; vmic_play "$tmp/hello.wav"
for i in $(seq 1 100); do grep -q '^saved' "$tmp/int.out" && break; sleep 0.1; done
sleep 0.3; kill -INT $p
for i in $(seq 1 50); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
kill -0 $p 2>/dev/null && kill -KILL $p
wait $p; code=$?
check "Ctrl-C stops record with exit 0" test "$code" = 0
check "it says it stopped" grep -q "stopped" "$tmp/int.err"
check "the clip saved before Ctrl-C is kept, named after \$USER" test -s "$tmp/I/hello/ci-user_1.wav"
check "nothing else was written" test "$(ls -A "$tmp/I/hello" | wc -l)" = 1

# The microphone lost during a clip: with the audio server back within
# --reconnect the clip is recorded again and saved; without it, exit 1 with
# a message naming the device.
"$bin" record --data "$tmp/L" --word hello --count 1 --speaker tester --reconnect 20 </dev/null \
    >"$tmp/lost.out" 2>"$tmp/lost.err" &
p=$!; pids+=($p)
for i in $(seq 1 100); do grep -q ' in 3' "$tmp/lost.err" && break; sleep 0.1; done
vmic_kill_server KILL
for i in $(seq 1 50); do grep -q 'reopening it' "$tmp/lost.err" && break; sleep 0.1; done
check "record noticed the lost device" grep -q "input device '.*'.*reopening it" "$tmp/lost.err"
vmic_restart_server
for i in $(seq 1 100); do grep -q 'is back' "$tmp/lost.err" && break; sleep 0.1; done
# The clip the device was lost in ends (and is discarded) first; then the
# word is played after each new "now" until a clip is saved.
for i in $(seq 1 100); do grep -q 'lost during this clip' "$tmp/lost.err" && break; kill -0 $p 2>/dev/null || break; sleep 0.1; done
check "the clip the device was lost in is recorded again" grep -q "lost during this clip" "$tmp/lost.err"
nows() { grep -o ' now' "$tmp/lost.err" | wc -l; }
base=$(nows)
for try in 1 2; do
  for i in $(seq 1 100); do [ "$(nows)" -gt "$base" ] && break; kill -0 $p 2>/dev/null || break; sleep 0.1; done
  base=$(nows)
  sleep 0.2; vmic_play "$tmp/hello.wav"
  for i in $(seq 1 30); do grep -q '^saved' "$tmp/lost.out" && break; sleep 0.1; done
  grep -q '^saved' "$tmp/lost.out" && break
done
for i in $(seq 1 50); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
kill -0 $p 2>/dev/null && kill -INT $p
wait $p; code=$?
check "record went on after the device came back and saved the clip (exit $code)" \
    test "$code" = 0 -a -s "$tmp/L/hello/tester_1.wav"
sed 's/^/  | /' "$tmp/lost.err" | grep -v "^  | Expression"
"$bin" record --data "$tmp/G" --word hello --count 1 --speaker tester --reconnect 2 </dev/null \
    >"$tmp/gone.out" 2>"$tmp/gone.err" &
p=$!; pids+=($p)
for i in $(seq 1 100); do grep -q ' in 3' "$tmp/gone.err" && break; sleep 0.1; done
vmic_kill_server KILL
for i in $(seq 1 100); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
kill -0 $p 2>/dev/null && kill -KILL $p
wait $p; code=$?
check "record with a device that does not come back: exit 1 (got $code)" test "$code" = 1
check "the message names the device and says it did not come back" \
    grep -q "input device '.*'.*did not come back within 2 s" "$tmp/gone.err"
check "nothing saved" test -z "$(ls -A "$tmp/G/hello" 2>/dev/null)"

check "no sanitizer report" bash -c "! grep -l 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error' '$tmp'/*.err"
vmic_stop
finish
