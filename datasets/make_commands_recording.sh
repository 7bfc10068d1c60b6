#!/usr/bin/env bash
# Makes the demo's bundled commands recording (models/samples/speech/commands.wav):
# the ten command words, each by a different speaker the model never heard
# (not in its train.seen_speakers), separated by quiet room noise, with two
# other words (not commands) between them; 16 kHz.
#   datasets/make_commands_recording.sh SPEECH_COMMANDS MODEL OUT.wav [BUILD]
# Prints the truth (word, start and end in seconds) on standard output.
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ]; exit $?;; esac
sc=$1; model=$2; out=$3; build=${4:-build}
command -v sox >/dev/null || { echo "make_commands_recording: sox is needed (apt-get install sox)" >&2; exit 1; }
seen=$("$build"/cortex-speech info --model "$model" | sed -n 's/^ *train.seen_speakers *//p')
[ -n "$seen" ] || { echo "make_commands_recording: $model records no seen speakers" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '%s\n' ${seen//,/ } | sort > "$tmp/seen"
gap() { sox -q -n -r 16000 -c 1 -b 16 "$tmp/g$1.wav" synth "$2" pinknoise vol 0.006; echo "$tmp/g$1.wav"; }
parts=() t=0 used=""
add() { parts+=("$1"); t=$(echo "$t + $(soxi -D "$1")" | bc -l); }
add "$(gap 0 1.0)"
i=0
for w in go left _five yes stop right down _three up no on off; do
  i=$((i + 1))
  word=${w#_}
  # the first clip of an unseen speaker not used yet
  f=""
  for c in $(ls "$sc/$word"); do
    s=${c%%_*}
    grep -qx "$s" "$tmp/seen" && continue
    case " $used " in *" $s "*) continue;; esac
    f=$sc/$word/$c; used="$used $s"; break
  done
  [ -n "$f" ] || { echo "make_commands_recording: no unseen speaker for $word" >&2; exit 1; }
  # the clip trimmed to its word (0.1 s margins), at -6 dB peak
  sox -q "$f" -r 16000 -c 1 -b 16 "$tmp/w$i.wav" silence 1 0.02 1% reverse silence 1 0.02 1% reverse \
    pad 0.1 0.1 norm -6
  s0=$t; add "$tmp/w$i.wav"
  [ "$w" = "$word" ] && printf "%s %.2f %.2f\n" "$word" "$s0" "$t"
  add "$(gap $i 1.$((i % 3 + 2)))"
done
sox -q "${parts[@]}" "$out"
