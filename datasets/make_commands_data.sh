#!/usr/bin/env bash
# Makes the commands model's data folder: speech-commands' folders linked
# (not copied) into DATA, and running speech in DATA/_running_speech_ (made
# by datasets/make_running_speech.sh at 16 kHz with arabic-commands' real
# voices, or RUNNING=DIR: a folder that script made, linked).
#   datasets/make_commands_data.sh DATA SPEECH_COMMANDS ARABIC_COMMANDS
# Used by models/train_commands.sh and bench/speech.sh, so the two see the
# same folder.
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ]; exit $?;; esac
data=$1 sc=$2 arabic=$3
for d in "$sc" "$arabic"; do
  [ -d "$d" ] || { echo "make_commands_data: $d is not a folder" >&2; exit 1; }
done
mkdir -p "$data"
for d in "$sc"/*/; do ln -s "$(cd "$d" && pwd)" "$data/$(basename "$d")"; done
running=${RUNNING:-}
if [ -z "$running" ]; then
  running=$data/.running
  datasets/make_running_speech.sh "$running" --rate 16000 --arabic "$arabic"
fi
[ -d "$running/_running_speech_" ] || { echo "make_commands_data: $running/_running_speech_ is missing" >&2; exit 1; }
ln -s "$(cd "$running/_running_speech_" && pwd)" "$data/_running_speech_"
