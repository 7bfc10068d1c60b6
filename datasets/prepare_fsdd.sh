#!/usr/bin/env bash
# Prepares the Free Spoken Digit Dataset (FSDD) in the folder-per-word
# layout cortex-speech trains on:  OUT/<word>/<speaker>_<take>.wav
#
#   datasets/prepare_fsdd.sh OUT [SOURCE]
#
# SOURCE is a local copy of FSDD, in either layout:
#   - folder per word (zero/ ... nine/ holding SPEAKER_TAKE.wav), or
#   - FSDD's own repository layout (recordings/DIGIT_SPEAKER_TAKE.wav).
# Without SOURCE the script uses ../shared/datasets/fsdd beside the project if
# it exists, and otherwise clones FSDD's public repository
# (https://github.com/Jakobovski/free-spoken-digit-dataset) with git.
# FSDD is by Zohar Jackson and contributors, CC BY-SA 4.0; keep the
# attribution with any copy.
set -euo pipefail
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0;; "") usage >&2; exit 2;; esac
out=$1
src=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
words=(zero one two three four five six seven eight nine)

if [ -z "$src" ]; then
  if [ -d "$here/../shared/datasets/fsdd" ]; then
    src="$here/../shared/datasets/fsdd"
  else
    command -v git >/dev/null || { echo "prepare_fsdd: git is needed to download FSDD (apt-get install git), or pass a local copy as SOURCE" >&2; exit 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "prepare_fsdd: downloading FSDD from its public repository"
    git clone --depth 1 https://github.com/Jakobovski/free-spoken-digit-dataset "$tmp/fsdd" \
      || { echo "prepare_fsdd: download failed; pass a local copy of FSDD as SOURCE" >&2; exit 1; }
    src="$tmp/fsdd"
  fi
fi
[ -d "$src" ] || { echo "prepare_fsdd: $src is not a folder" >&2; exit 1; }

mkdir -p "$out"
n=0
if [ -d "$src/recordings" ]; then
  for f in "$src"/recordings/*.wav; do
    base=$(basename "$f" .wav)         # DIGIT_SPEAKER_TAKE
    d=${base%%_*}; rest=${base#*_}
    case "$d" in [0-9]) ;; *) continue;; esac
    mkdir -p "$out/${words[$d]}"
    cp "$f" "$out/${words[$d]}/$rest.wav"; n=$((n + 1))
  done
else
  for w in "${words[@]}"; do
    [ -d "$src/$w" ] || continue
    mkdir -p "$out/$w"
    for f in "$src/$w"/*.wav; do cp "$f" "$out/$w/"; n=$((n + 1)); done
  done
  [ -f "$src/README.md" ] && cp "$src/README.md" "$out/FSDD-README.md"
fi
[ "$n" -gt 0 ] || { echo "prepare_fsdd: no recordings found in $src" >&2; exit 1; }
echo "prepare_fsdd: $n recordings in $out"
