#!/usr/bin/env bash
# Makes the demo's bundled recording (models/samples/speech/digits.wav): ten
# spoken digits by one FSDD speaker (george, whom the shipped model never
# heard), separated by quiet room noise and two other words (espeak-ng voice en-us, also held out), 8 kHz.
#   datasets/make_demo_recording.sh DATA OUT.wav
# DATA is a folder made by datasets/prepare_fsdd.sh and datasets/make_extra.sh.
# Prints the truth (word, start and end in seconds) on standard output.
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ]; exit $?;; esac
data=$1; out=$2
command -v sox >/dev/null || { echo "make_demo_recording: sox is needed (apt-get install sox)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# pink noise at about -50 dBFS: a quiet room
gap() { sox -q -n -r 8000 -c 1 -b 16 "$tmp/g$1.wav" synth "$2" pinknoise vol 0.006; echo "$tmp/g$1.wav"; }
parts=() t=0
add() { parts+=("$1"); t=$(echo "$t + $(soxi -D "$1")" | bc -l); }
add "$(gap 0 1.0)"
i=0
for spec in four:3 one:7 seven:11 _hello two:5 nine:2 zero:9 _stop five:4 three:8 eight:6 six:1; do
  i=$((i + 1))
  if [ "${spec#_}" != "$spec" ]; then
    w=${spec#_}; f=$(ls "$data/$w"/espeak-en-us_*.wav | head -1)
  else
    w=${spec%%:*}; f="$data/$w/george_${spec##*:}.wav"
  fi
  [ -f "$f" ] || { echo "make_demo_recording: $f is missing" >&2; exit 1; }
  sox -q "$f" -r 8000 -c 1 -b 16 "$tmp/w$i.wav"
  s=$t; add "$tmp/w$i.wav"
  [ "${spec#_}" = "$spec" ] && printf "%s %.2f %.2f\n" "$w" "$s" "$t"
  add "$(gap $i 1.$((i % 3 + 2)))"
done
sox -q "${parts[@]}" -b 16 "$out"
