#!/usr/bin/env bash
# A small synthetic keyword data set made with sox, for the speech tests:
#   make_sound_words.sh OUT
# "Words" are sound shapes in separate bands (up: a chirp rising from the
# base pitch p to 2p, down: one falling from 6p to 3p, flat: a steady 3.5p
# tone) said by five "speakers" (ann, bob, cat, dan, eve: p =
# 300-540 Hz), 10 clips each, 0.35-0.62 s, at 8 kHz; "buzz" (a square wave
# at p) is a non-keyword; _background_noise_ holds 20 s of pink noise. The
# bands differ so that a tiny model learns them for sure: the tests check
# the pipeline, not the model.
# Also OUT/stream.wav: cat saying up, down, (buzz), flat between silence and
# noise, for detection tests. sox -R: the same bytes on every run.
set -eu
d=$1
mkdir -p "$d/up" "$d/down" "$d/flat" "$d/buzz" "$d/_background_noise_"
speakers=(ann bob cat dan eve)
pitches=(300 360 420 480 540)
for s in 0 1 2 3 4; do
  p=${pitches[$s]}
  for i in 0 1 2 3 4 5 6 7 8 9; do
    len=$(awk -v i=$i 'BEGIN { printf "%.2f", 0.35 + 0.03 * i }')
    sox -q -D -R -n -r 8000 -c 1 -b 16 "$d/up/${speakers[$s]}_$i.wav" synth "$len" sine "$p-$((p * 2))" vol 0.5 fade 0.02 "$len" 0.02
    sox -q -D -R -n -r 8000 -c 1 -b 16 "$d/down/${speakers[$s]}_$i.wav" synth "$len" sine "$((p * 6))-$((p * 3))" vol 0.5 fade 0.02 "$len" 0.02
    sox -q -D -R -n -r 8000 -c 1 -b 16 "$d/flat/${speakers[$s]}_$i.wav" synth "$len" sine "$((p * 7 / 2))" vol 0.5 fade 0.02 "$len" 0.02
    sox -q -D -R -n -r 8000 -c 1 -b 16 "$d/buzz/${speakers[$s]}_$i.wav" synth "$len" square "$p" vol 0.3 fade 0.02 "$len" 0.02
  done
done
sox -q -D -R -n -r 8000 -c 1 -b 16 "$d/_background_noise_/pink.wav" synth 20 pinknoise vol 0.05
t=$(mktemp -d)
sox -q -D -R -n -r 8000 -c 1 -b 16 "$t/sil.wav" trim 0 1.2
sox -q -D -R "$d/_background_noise_/pink.wav" "$t/noise.wav" trim 0 1.2
sox -q -D -R "$t/sil.wav" "$d/up/cat_5.wav" "$t/noise.wav" "$d/down/cat_6.wav" "$t/sil.wav" \
    "$d/buzz/cat_2.wav" "$t/sil.wav" "$d/flat/cat_7.wav" "$t/sil.wav" "$d/stream.wav"
rm -rf "$t"
