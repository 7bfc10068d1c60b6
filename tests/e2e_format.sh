#!/usr/bin/env bash
# Every C source and header is formatted with the repository's .clang-format
# (the house style), so a diff never mixes reformatting with a change.
#   e2e_format.sh BUILD_DIR SOURCE_DIR
set -u
src=$2
cd "$src" || exit 1
command -v clang-format > /dev/null || { echo "FAIL: clang-format not installed (scripts/setup.sh installs it)"; exit 1; }
bad=$(git ls-files '*.c' '*.h' 2> /dev/null | grep -v '^tests/fuzz/corpus/' | while read -r f; do
  clang-format --style=file "$f" | cmp -s - "$f" || echo "$f"
done)
if [ -n "$bad" ]; then
  echo "FAIL: not formatted (run: clang-format -i FILE):"
  echo "$bad"
  exit 1
fi
echo "ok: $(git ls-files '*.c' '*.h' | grep -vc '^tests/fuzz/corpus/') files formatted"
