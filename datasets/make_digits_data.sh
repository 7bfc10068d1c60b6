#!/usr/bin/env bash
# Makes the digit model's data folder (8 kHz recipe; clips of any rate are
# resampled as they load):
#   DATA/<digit>/<speaker>_<n>.wav   FSDD (datasets/prepare_fsdd.sh), the
#                                    digits of ~90 synthetic voices and other
#                                    words as _unknown_ (datasets/make_extra.sh
#                                    --keywords), noise
#   DATA/<word>/<file>               speech-commands' clips linked (not
#                                    copied): its digit folders join FSDD's,
#                                    its other words are _unknown_, its noise
#                                    recordings join DATA/_background_noise_
#   DATA/_running_speech_            running speech without any keyword
#                                    (datasets/make_running_speech.sh at 8 kHz
#                                    with arabic-commands' real voices, or
#                                    RUNNING=DIR: a folder that script made)
#   datasets/make_digits_data.sh DATA FSDD SPEECH_COMMANDS ARABIC_COMMANDS
# Used by models/train_digits_running.sh (a candidate digit recipe, not the
# shipped one).
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ]; exit $?;; esac
[ $# -eq 4 ] || { echo "make_digits_data: needs DATA FSDD SPEECH_COMMANDS ARABIC_COMMANDS (--help)" >&2; exit 2; }
data=$1 fsdd=$2 sc=$3 arabic=$4
for d in "$fsdd" "$sc" "$arabic"; do
  [ -d "$d" ] || { echo "make_digits_data: $d is not a folder" >&2; exit 1; }
done
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$data"
"$here"/prepare_fsdd.sh "$data" "$fsdd" >/dev/null
"$here"/make_extra.sh "$data" --rate 8000 --keywords "zero one two three four five six seven eight nine" \
  >/dev/null 2>&1 || { echo "make_digits_data: datasets/make_extra.sh failed" >&2; exit 1; }
for d in "$sc"/*/; do
  w=$(basename "$d")
  mkdir -p "$data/$w"
  src=$(cd "$d" && pwd)
  prefix=""
  [ "$w" = _background_noise_ ] && prefix=speech-commands-
  for f in "$src"/*; do ln -sf "$f" "$data/$w/$prefix$(basename "$f")"; done
done
running=${RUNNING:-}
if [ -z "$running" ]; then
  running=$data/.running
  "$here"/make_running_speech.sh "$running" --rate 8000 --arabic "$arabic"
fi
[ -d "$running/_running_speech_" ] || { echo "make_digits_data: $running/_running_speech_ is missing" >&2; exit 1; }
ln -sfn "$(cd "$running/_running_speech_" && pwd)" "$data/_running_speech_"
