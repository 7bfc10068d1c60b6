#!/usr/bin/env bash
# The examples in examples/ build against the *installed* library (cmake
# --install into a temporary prefix, then pkg-config, as a user would) and
# print what the applications print on the bundled samples.
#   e2e_examples.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" 2>&1
check "cmake --install into a prefix" test -f "$tmp/prefix/include/cortex/cortex.h"
pc=$(find "$tmp/prefix" -name cortex.pc | head -1)
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs cortex)
check "pkg-config finds cortex" test -n "$flags"
# The sanitizer build's library needs the sanitizer runtime in the program.
extra=()
[ -n "${CX_SANITIZED:-}" ] && extra=(-fsanitize=address,undefined)
for ex in classify_image spot_keywords; do
  cc -std=c11 -Wall -Wextra -Werror "${extra[@]}" "$src/examples/$ex.c" $flags -o "$tmp/$ex" \
    2> "$tmp/$ex.cc.log"
  check "$ex builds with pkg-config against the installed library" test -x "$tmp/$ex"
  cat "$tmp/$ex.cc.log"
done
libdir=$(pkg-config --variable=libdir cortex)
check "the examples use the installed shared library" \
  sh -c "LD_LIBRARY_PATH='$libdir' ldd '$tmp/classify_image' | grep -q '$libdir/libcortex.so'"
export LD_LIBRARY_PATH=$libdir

cd "$src"
samples=(models/samples/fashion/*.png)
LD_LIBRARY_PATH= "$build/cortex-vision" classify --model models/fashion-mnist.safetensors \
  "${samples[@]}" > "$tmp/app.txt"
"$tmp/classify_image" models/fashion-mnist.safetensors "${samples[@]}" > "$tmp/ex.txt"
check "classify_image prints what cortex-vision classify prints" cmp -s "$tmp/app.txt" "$tmp/ex.txt"
diff "$tmp/app.txt" "$tmp/ex.txt" | head -5

LD_LIBRARY_PATH= "$build/cortex-speech" detect --model models/digits.safetensors \
  models/samples/speech/digits.wav > "$tmp/app.txt" 2> /dev/null
"$tmp/spot_keywords" models/digits.safetensors models/samples/speech/digits.wav > "$tmp/ex.txt"
check "spot_keywords prints what cortex-speech detect prints" cmp -s "$tmp/app.txt" "$tmp/ex.txt"
check "and finds the recording's keywords" test "$(wc -l < "$tmp/ex.txt")" -ge 3
diff "$tmp/app.txt" "$tmp/ex.txt" | head -5
"$tmp/classify_image" models/digits.safetensors x.png > /dev/null 2> "$tmp/err"
check "a speech model given to classify_image is refused by name" grep -q "digits.safetensors: not an image model" "$tmp/err"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
