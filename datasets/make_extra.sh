#!/usr/bin/env bash
# Makes extra training material for cortex-speech with espeak-ng, flite and sox:
#   OUT/<word>/espeak-<voice>_<n>.wav   spoken words that are not keywords
#                                       (they become _unknown_ in training)
#   OUT/_background_noise_/*.wav        long noise recordings (white, pink,
#                                       brown, hum, babble) mixed into
#                                       training clips and cut into _silence_
#   OUT/<keyword>/flite-<voice>_<n>.wav, OUT/<keyword>/espeak-<accent>-<variant>_<n>.wav
#                                       with --keywords: the keywords spoken
#                                       by ~90 synthetic voices (flite's four
#                                       recorded-speaker voices at three
#                                       speeds and pitches, espeak-ng's voice
#                                       variants over eight English accents),
#                                       extra "speakers" that make a model
#                                       trained on few real ones generalize
#
#   datasets/make_extra.sh OUT [--rate 8000] [--words "yes no ..."] [--keywords "zero one ..."]
#
# The "speaker" of a generated clip (the text before the first '_') is
# espeak-VOICE or flite-VOICE, so the speaker-hash split keeps every voice in
# one split. The word clips are the same bytes on every run; the noise is
# synthesized afresh each time.
set -euo pipefail
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0;; "") usage >&2; exit 2;; esac
out=$1; shift
rate=8000
keywords=""
words="yes no up down left right on off stop go hello cat dog house bird bed tree wow happy marvin sheila follow learn visual forward backward"
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2;;
    --words) words=$2; shift 2;;
    --keywords) keywords=$2; shift 2;;
    *) echo "make_extra: unknown option $1" >&2; exit 2;;
  esac
done
tools="espeak-ng sox"
[ -n "$keywords" ] && tools="$tools flite"
for t in $tools; do
  command -v $t >/dev/null || { echo "make_extra: $t is needed (apt-get install $t)" >&2; exit 1; }
done
voices="en-us en-gb en-gb-scotland en-gb-x-rp en-029 en-gb-x-gbclan en-gb-x-gbcwmd"
mkdir -p "$out/_background_noise_"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Saves the synthesized $tmp/raw.wav as $1: the model's rate, mono, 16 bits,
# silence trimmed at both ends, peak at -3 dB (-R: the same bytes every run).
save() {
  sox -q -V1 -R "$tmp/raw.wav" -r "$rate" -c 1 -b 16 "$1" \
    silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse norm -3
}
n=0
for w in $words; do
  mkdir -p "$out/$w"
  for v in $voices; do
    i=0
    for speed in 130 160 190; do
      for pitch in 30 50 70; do
        espeak-ng -v "$v" -s $speed -p $pitch -w "$tmp/raw.wav" "$w" 2>/dev/null || continue
        save "$out/$w/espeak-${v}_$i.wav"
        i=$((i + 1)); n=$((n + 1))
      done
    done
  done
done
# Synthetic keyword speakers. On held-out FSDD speakers (digits, four real
# speakers in training) these raised keyword accuracy from 75.2/61.8% to
# 82.4/73.2% (george/jackson held out); flite's voices alone gave 76.6/65.4%.
if [ -n "$keywords" ]; then
  for w in $keywords; do mkdir -p "$out/$w"; done
  for v in kal16 awb rms slt; do
    for w in $keywords; do
      i=0
      for stretch in 0.85 1.0 1.2; do
        for f0 in 80 110 150; do
          flite -voice $v --setf duration_stretch=$stretch --setf int_f0_target_mean=$f0 -t "$w" -o "$tmp/raw.wav"
          save "$out/$w/flite-${v}_$i.wav"
          i=$((i + 1)); n=$((n + 1))
        done
      done
    done
  done
  accents=(en-us en-gb en-gb-scotland en-029 en-gb-x-rp en-gb-x-gbclan en-gb-x-gbcwmd en-us-nyc)
  speeds=(120 140 160 180 200)
  pitches=(20 35 50 65 80)
  # Every espeak-ng voice variant except the robotic, whispered and klatt ones,
  # each with one accent and three speed/pitch pairs.
  variants=$(espeak-ng --voices=variant | awk 'NR > 1 { print $5 }' | sed 's|!v/||' |
             grep -v -i -E 'robo|demonic|fast|whisper|klatt[0-9]')
  k=0
  for v in $variants; do
    a=${accents[$((k % 8))]}
    k=$((k + 1))
    for w in $keywords; do
      for i in 0 1 2; do
        s=${speeds[$(( (k * 7 + i * 3) % 5 ))]}
        p=${pitches[$(( (k * 3 + i * 2) % 5 ))]}
        espeak-ng -v "$a+$v" -s $s -p $p -w "$tmp/raw.wav" "$w" 2>/dev/null || continue
        save "$out/$w/espeak-$a-${v}_$i.wav"
        n=$((n + 1))
      done
    done
  done
fi
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
