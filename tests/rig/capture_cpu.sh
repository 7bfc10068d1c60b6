#!/usr/bin/env bash
# How much CPU live capture costs: runs `cortex-speech record` on the virtual
# microphone and reads the process's utime + stime from /proc/PID/stat over
# a window of plain capture (after PortAudio's start-up, during a clip).
#   tests/rig/capture_cpu.sh BUILD_DIR [SECONDS]
# Prints one line per mode: blocking reads at 16 kHz, blocking reads of a
# 44.1 kHz device resampled to 16 kHz, and the callback path (JACK's).
# A measurement, not a test: nothing is asserted.
set -u
bin=$1/cortex-speech
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$here/virtual_mic.sh"
VMIC_QUIET=1 vmic_start || exit 1
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in ticks

measure() { # label env...
    local label=$1; shift
    : > "$tmp/err"
    env "$@" "$bin" record --data "$tmp/d" --word w --count 1 --seconds $((secs + 5)) \
        --speaker cpu </dev/null >/dev/null 2>"$tmp/err" &
    local p=$! i
    for i in $(seq 1 100); do grep -q ' now' "$tmp/err" && break; sleep 0.1; done
    sleep 1
    local c0 t0 c1 t1 d0 d1
    c0=$(cpu $p); d0=$(cpu "${VMIC_PIDS[0]}"); t0=$(date +%s.%N)
    sleep "$secs"
    c1=$(cpu $p); d1=$(cpu "${VMIC_PIDS[0]}"); t1=$(date +%s.%N)
    kill -INT $p; wait $p
    awk -v c=$((c1 - c0)) -v d=$((d1 - d0)) -v t0="$t0" -v t1="$t1" -v hz="$tick" -v l="$label" \
        'BEGIN { w = t1 - t0; printf "%-44s %5.2f%% of one core (%d ticks in %.1f s); pulseaudio daemon %.2f%%\n", l, 100 * c / hz / w, c, w, 100 * d / hz / w }'
}
measure "record, Pa_ReadStream, 16 kHz" CORTEX_MIC_CALLBACK=0
measure "record, Pa_ReadStream, 44.1 kHz -> 16 kHz" CORTEX_MIC_CALLBACK=0 CORTEX_MIC_DEVICE_RATE=44100
measure "record, callback + ring, 16 kHz" CORTEX_MIC_CALLBACK=1
vmic_stop
