#!/usr/bin/env bash
# Makes running speech without any keyword, the audio a live detector meets
# when people talk:
#   OUT/_running_speech_/<voice>_<n>.wav    recordings of up to a minute each
#
#   datasets/make_running_speech.sh OUT [--rate 16000] [--voices N]
#       [--minutes-per-voice M] [--skip-voices K] [--arabic DIR] [--print-text]
#
# Synthetic voices (espeak-ng's English accents with its voice variants,
# flite's four voices, festival's kal, ked and slt voices) read ordinary
# text (Debian's fortunes and the licence texts in /usr/share/common-licenses)
# sentence by sentence, with pauses of 0.2 to 1.2 s between sentences. Every
# sentence holding one of the keywords of either shipped model, a digit, or a
# word that sounds like one ("to", "too", "for", "oh", "won", "ate", "know",
# "write", "someone", "stopped", "sixty" ...) is left out, so the recordings
# hold no keyword. With --arabic
# DIR (the arabic-commands folder), each of its speakers' clips are strung
# together, trimmed, with short pauses: real human voices saying words that
# are not English keywords (<voice> is arabic-<speaker>).
#
#   --rate HZ               sample rate of the files (default 16000)
#   --voices N              how many synthetic voices (default 40, at most 49)
#   --minutes-per-voice M   speech per synthetic voice (default 3)
#   --skip-voices K         start at the K+1-th voice of the list (default 0:
#                           --skip-voices 40 --voices 9 gives voices that a
#                           model trained on the default 40 never heard)
#   --arabic DIR            also the real voices of arabic-commands
#   --print-text            print the sentences the voices read and stop
#
# The voice is the "speaker" of a file (the text before the first '_'), so
# the speaker-hash split of cortex-speech keeps each voice in one split, and a
# model is scored on voices it did not train on. The same options give the
# same files on every run.
set -euo pipefail
usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0;; "") usage >&2; exit 2;; esac
out=$1; shift
rate=16000 nvoices=40 minutes=3 skip=0 arabic="" print_text=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=${2:?--rate needs a value}; shift 2;;
    --voices) nvoices=${2:?--voices needs a value}; shift 2;;
    --minutes-per-voice) minutes=${2:?--minutes-per-voice needs a value}; shift 2;;
    --skip-voices) skip=${2:?--skip-voices needs a value}; shift 2;;
    --arabic) arabic=${2:?--arabic needs a folder}; shift 2;;
    --print-text) print_text=1; shift;;
    *) echo "make_running_speech: unknown option $1 (see --help)" >&2; exit 2;;
  esac
done
[[ $rate =~ ^[0-9]+$ ]] && [ "$rate" -ge 4000 ] && [ "$rate" -le 96000 ] ||
  { echo "make_running_speech: --rate $rate is not a rate from 4000 to 96000 Hz" >&2; exit 2; }
[[ $nvoices =~ ^[0-9]+$ ]] && [ "$nvoices" -ge 0 ] && [ "$nvoices" -le 49 ] ||
  { echo "make_running_speech: --voices $nvoices is not a count from 0 to 49" >&2; exit 2; }
[[ $skip =~ ^[0-9]+$ ]] && [ $((skip + nvoices)) -le 49 ] ||
  { echo "make_running_speech: --skip-voices $skip plus --voices $nvoices is more than the 49 voices" >&2; exit 2; }
[[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]] ||
  { echo "make_running_speech: --minutes-per-voice $minutes is not a number of minutes" >&2; exit 2; }
if [ -n "$arabic" ] && [ ! -d "$arabic" ]; then
  echo "make_running_speech: --arabic $arabic is not a folder (the arabic-commands dataset)" >&2; exit 1
fi
for t in python3 sox soxi espeak-ng flite text2wave; do
  command -v $t >/dev/null || { echo "make_running_speech: $t is needed (scripts/setup.sh installs it)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The sentences: ordinary text, without keywords, digits or their homophones.
python3 - "$tmp/text" <<'EOF'
import glob, re, sys
banned = set("""
yes no up down left right on off stop go zero one two three four five six seven
eight nine oh to too for fore four won ate eight know knows write wright rite
nein sicks sex seventy ought owe hundred thousand million first second third
o zeros ones twos threes fours fives sixes sevens eights nines noes nos
someone anyone everyone noone upon going goes nobody nowhere forty eighty ninety
""".split())
# words that start with a keyword say it too ("stopped", "sixty", "leftover")
prefixes = ("yes", "stop", "left", "right", "down", "seven", "eight", "nine", "zero",
            "three", "four", "five", "six")
files = sorted(glob.glob("/usr/share/games/fortunes/*")) + sorted(glob.glob("/usr/share/common-licenses/*"))
seen, out = set(), []
for f in files:
    if f.endswith((".dat", ".u8")) or "/off/" in f:
        continue
    try:
        text = open(f, encoding="utf-8", errors="replace").read()
    except (IsADirectoryError, OSError):
        continue
    text = re.sub(r"\s+", " ", text.replace("%", " . "))
    for s in re.split(r"(?<=[.!?])\s+", text):
        s = s.strip()
        if not re.fullmatch(r"[A-Za-z][A-Za-z ,;:'\"()-]*[.!?]", s):
            continue
        words = re.findall(r"[A-Za-z']+", s)
        if not 4 <= len(words) <= 24 or "--" in s or " ." in s:
            continue
        if sum(w[0].isupper() for w in words) > len(words) / 3:
            continue
        low = [w.lower().strip("'") for w in words]
        low += [p for w in low for p in w.split("'")]  # "won't", "one's", "y'know"
        if any(w in banned or w.startswith(prefixes) for w in low):
            continue
        key = s.lower()
        if key not in seen:
            seen.add(key)
            out.append(s)
open(sys.argv[1], "w").write("\n".join(out) + "\n")
EOF
nsent=$(wc -l < "$tmp/text")
if [ "$print_text" = 1 ]; then cat "$tmp/text"; exit 0; fi
[ "$nsent" -ge 100 ] || { echo "make_running_speech: only $nsent sentences found (is the fortunes package installed?)" >&2; exit 1; }

dir="$out/_running_speech_"
mkdir -p "$dir"
# Voices: name (no '_': it is the speaker) and the command that reads $tmp/s.txt into $tmp/raw.wav.
voices=(festival-kal festival-ked festival-slt flite-kal flite-awb flite-rms flite-slt)
accents=(en-us en-gb en-gb-scotland en-gb-x-rp en-029 en-gb-x-gbclan en-gb-x-gbcwmd)
variants=(m1 f1 m3 f2 m5 f3 m7 f4 m2 f5 m4 m6 klatt2 klatt4 grandma grandpa travis shelby)
k=0
while [ ${#voices[@]} -lt 49 ]; do
  voices+=("espeak-${accents[k % ${#accents[@]}]}+${variants[k % ${#variants[@]}]}")
  k=$((k + 1))
done
synth() { # voice index, sentence file -> $tmp/raw.wav
  local v=${voices[$1]} speed=$((140 + ($1 * 37) % 60))
  case "$v" in
    festival-kal) text2wave -eval '(voice_kal_diphone)' "$2" -o "$tmp/raw.wav" 2>/dev/null;;
    festival-ked) text2wave -eval '(voice_ked_diphone)' "$2" -o "$tmp/raw.wav" 2>/dev/null;;
    festival-slt) text2wave -eval '(voice_cmu_us_slt_arctic_hts)' "$2" -o "$tmp/raw.wav" 2>/dev/null;;
    flite-*) flite -voice "${v#flite-}" -f "$2" -o "$tmp/raw.wav";;
    espeak-*) espeak-ng -v "${v#espeak-}" -s "$speed" -p $((30 + ($1 * 23) % 40)) -f "$2" -w "$tmp/raw.wav";;
  esac
}
# Appends $1 (trimmed, at the output rate) and a pause of 0.2 to 1.2 s
# (deterministic in $2) to the recording's part list; have counts samples.
parts=() have=0
append() {
  local i=${#parts[@]} ms=$((200 + ($2 * 97) % 1001))
  sox -q -V1 -R "$1" -r "$rate" -c 1 -b 16 "$tmp/part$i.wav" \
    silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse 2>/dev/null || return 0
  local len; len=$(soxi -s "$tmp/part$i.wav" 2>/dev/null || echo 0)
  [ "$len" -gt 0 ] || return 0
  local gap=$((ms * rate / 1000))
  sox -q -n -r "$rate" -c 1 -b 16 "$tmp/part${i}p.wav" trim 0 "${gap}s"
  parts+=("$tmp/part$i.wav" "$tmp/part${i}p.wav")
  have=$((have + len + gap))
}
# Writes the parts as $1 at a level between -3 and -21 dB peak (deterministic in $2).
flush() {
  [ ${#parts[@]} -gt 0 ] || return 0
  sox -q -V1 -R "${parts[@]}" "$1" norm -$((3 + ($2 * 5) % 19))
  rm -f "${parts[@]}"; parts=(); have=0
}
progress() { [ -t 2 ] && printf '\r\033[K%s' "$1" >&2; return 0; }
budget=$(awk -v m="$minutes" -v r="$rate" 'BEGIN { printf "%d", m * 60 * r }')
for ((v = skip; v < skip + nvoices; v++)); do
  done_s=0 n=0 failed=0 line=$(( (v * 7919) % nsent + 1 ))
  while [ "$done_s" -lt "$budget" ]; do
    sed -n "${line}p" "$tmp/text" > "$tmp/s.txt"
    line=$(( line % nsent + 1 ))
    if ! synth $v "$tmp/s.txt"; then
      failed=$((failed + 1))
      [ $failed -lt 20 ] || { echo "make_running_speech: voice ${voices[v]} fails to speak (scripts/setup.sh installs the voices)" >&2; exit 1; }
      continue
    fi
    before=$have
    append "$tmp/raw.wav" $((line + v))
    done_s=$((done_s + have - before))
    if [ "$have" -ge $((60 * rate)) ]; then
      flush "$dir/${voices[v]}_$n.wav" $((v + n)); n=$((n + 1))
    fi
  done
  flush "$dir/${voices[v]}_$n.wav" $((v + n))
  progress "$dir: $((v + 1 - skip)) of $nvoices voices"
done
if [ -n "$arabic" ]; then
  # One recording per speaker: all of their clips, trimmed, with pauses.
  mapfile -t clips < <(find "$arabic" -mindepth 2 -maxdepth 2 -type f -not -path "$arabic/_*" \
                       -printf '%f %p\n' | sort | cut -d' ' -f2-)
  [ ${#clips[@]} -gt 0 ] || { echo "make_running_speech: $arabic holds no clips (<word>/<speaker>_<n>.flac)" >&2; exit 1; }
  prev="" s=0 j=0
  for c in "${clips[@]}"; do
    spk=$(basename "$c"); spk=${spk%%_*}
    if [ -n "$prev" ] && [ "$spk" != "$prev" ]; then
      flush "$dir/arabic-${prev}_0.wav" $s; s=$((s + 1))
      progress "$dir: $s arabic-commands speakers"
    fi
    append "$c" $j; j=$((j + 1)); prev=$spk
  done
  flush "$dir/arabic-${prev}_0.wav" $s
fi
progress ""
minutes_made=$(find "$dir" -type f -name '*.wav' -exec soxi -D {} + | awk '{ s += $1 } END { printf "%.1f", s / 60 }')
printf '%s: %d recordings, %s minutes of speech without keywords (%d sentences to read from)\n' \
  "$dir" "$(find "$dir" -type f | wc -l)" "$minutes_made" "$nsent"
