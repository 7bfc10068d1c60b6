#!/usr/bin/env bash
# Makes extra training material for cortex-speech with espeak-ng and sox:
#   OUT/<word>/espeak-<voice>_<n>.wav   spoken words that are not keywords
#                                       (they become _unknown_ in training)
#   OUT/_background_noise_/*.wav        long noise recordings (white, pink,
#                                       brown, hum, babble) mixed into
#                                       training clips and cut into _silence_
#
#   datasets/make_extra.sh OUT [--rate 8000] [--words "yes no ..."]
#
# The "speaker" of a generated clip (the text before the first '_') is
# espeak-VOICE, so the speaker-hash split keeps every voice in one split.
set -euo pipefail
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0;; "") usage >&2; exit 2;; esac
out=$1; shift
rate=8000
words="yes no up down left right on off stop go hello cat dog house bird bed tree wow happy marvin sheila follow learn visual forward backward"
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2;;
    --words) words=$2; shift 2;;
    *) echo "make_extra: unknown option $1" >&2; exit 2;;
  esac
done
for t in espeak-ng sox; do
  command -v $t >/dev/null || { echo "make_extra: $t is needed (apt-get install $t)" >&2; exit 1; }
done
voices="en-us en-gb en-gb-scotland en-gb-x-rp en-029 en-gb-x-gbclan en-gb-x-gbcwmd"
mkdir -p "$out/_background_noise_"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for w in $words; do
  mkdir -p "$out/$w"
  for v in $voices; do
    i=0
    for speed in 130 160 190; do
      for pitch in 30 50 70; do
        espeak-ng -v "$v" -s $speed -p $pitch -w "$tmp/raw.wav" "$w" 2>/dev/null || continue
        sox -q "$tmp/raw.wav" -r "$rate" -c 1 -b 16 "$out/$w/espeak-${v}_$i.wav" silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse norm -3
        i=$((i + 1)); n=$((n + 1))
      done
    done
  done
done
noise="$out/_background_noise_"
sox -q -n -r "$rate" -c 1 -b 16 "$noise/white.wav" synth 60 whitenoise vol 0.3
sox -q -n -r "$rate" -c 1 -b 16 "$noise/pink.wav" synth 60 pinknoise vol 0.4
sox -q -n -r "$rate" -c 1 -b 16 "$noise/brown.wav" synth 60 brownnoise vol 0.5
sox -q -n -r "$rate" -c 1 -b 16 "$noise/hum.wav" synth 60 sine 50 sine 100 vol 0.2
# Babble: several voices reading sentences at once.
text="the quick brown fox jumps over the lazy dog while the weather is changing and people talk about the news of the day"
parts=()
for v in en-us en-gb en-gb-scotland en-029; do
  espeak-ng -v "$v" -s 170 -w "$tmp/b-$v.wav" "$text $text $text" 2>/dev/null
  sox -q "$tmp/b-$v.wav" -r "$rate" -c 1 "$tmp/b-$v-r.wav"
  parts+=("$tmp/b-$v-r.wav")
done
sox -q -m "${parts[@]}" -b 16 "$noise/babble.wav" vol 0.5
echo "make_extra: $n word clips and $(ls "$noise" | wc -l) noise recordings in $out"
