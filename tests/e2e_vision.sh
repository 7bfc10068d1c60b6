#!/usr/bin/env bash
# End to end: cortex-vision on small generated image folders.
#   e2e_vision.sh BUILD_DIR SOURCE_DIR
# train, eval (--json, confusion PNG), classify (files, stdin, --json),
# watch (files dropped into a watched folder), info, resume == uninterrupted,
# corrupt/truncated/odd files, mixed gray/RGB/RGBA and sizes, empty folders,
# one class, usage errors and exit codes.
set -u
bin=$1/cortex-vision
gen=$1/gen_images
src=$2
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
expect_code() { # expected-code description command...
  local want=$1 what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
  if [ "$got" = "$want" ]; then ok "$what (exit $got)"; else bad "$what: exit $got, wanted $want"; sed 's/^/  | /' "$tmp/err" | head -5; fi
}
py=/usr/bin/python3

# ---- data: mixed formats, sizes and channel counts, plus awkward files
"$gen" "$tmp/data" 40 1
mkdir -p "$tmp/data/empty_class"                       # a class folder with nothing in it
echo "not an image" > "$tmp/data/dots/readme.txt"      # not an image
head -c 100 "$tmp/data/hbars/img000.png" > "$tmp/data/hbars/truncated.png"
head -c 3000 /dev/urandom > "$tmp/data/vbars/random.jpg"
: > "$tmp/data/vbars/empty.png"
echo hidden > "$tmp/data/dots/.hidden.png"
# A PNG header declaring a 100000 x 100000 image (a decompression bomb).
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00\x00\x00\x00\x00' > "$tmp/data/dots/bomb.png"

# ---- help and usage errors
expect_code 0 "--help" "$bin" --help
for c in train eval classify watch info; do expect_code 0 "$c --help" "$bin" $c --help; done
expect_code 2 "no command" "$bin"
expect_code 2 "unknown command" "$bin" frobnicate
expect_code 2 "train without --data" "$bin" train --out "$tmp/m.safetensors"
expect_code 2 "bad --epochs" "$bin" train --data "$tmp/data" --out "$tmp/m.safetensors" --epochs zero
expect_code 2 "bad --arch token" "$bin" train --data "$tmp/data" --out "$tmp/m.safetensors" --arch "input 1 16 16; conv 8 x3"
grep -q "'x3'" "$tmp/err" && ok "bad --arch names the token" || bad "bad --arch names the token"

# ---- train
common=(--data "$tmp/data" --arch "conv 8 3 relu; maxpool 2; conv 16 3 relu; gap" --size 16x16 --channels 1 --batch 16 --lr 0.01 --threads 2)
expect_code 0 "train" "$bin" train "${common[@]}" --epochs 6 --out "$tmp/m.safetensors"
cp "$tmp/out" "$tmp/train.log"
check "train skips and names the corrupt files" grep -q "truncated.png" "$tmp/err"
check "train reports the bomb" grep -qi "too large" "$tmp/err"
check "train summary counts skipped files" grep -q "skipped" "$tmp/err"
check "model written" test -s "$tmp/m.safetensors"
check "checkpoint written" test -s "$tmp/m.safetensors.ckpt"
check "learning curve PNG written" test -s "$tmp/m.safetensors.curve.png"
check "no temporary files left" bash -c "! ls '$tmp' | grep -q '\.tmp\.'"
check "training prints validation accuracy" grep -q "val " "$tmp/train.log"

# ---- a residual network: trains, saves, loads and classifies
expect_code 0 "train a res { } network" "$bin" train --data "$tmp/data" --size 16x16 --channels 1 --batch 16 --lr 0.01 --threads 2 \
  --arch "conv 8 3; bn; relu; res { conv 8 3; bn; relu; conv 8 3; bn }; relu; res { conv 16 3 stride=2; bn; relu; conv 16 3; bn }; relu; gap" \
  --epochs 4 --out "$tmp/res.safetensors"
check "its spec keeps the blocks" grep -q "res { conv 16 3 stride=2" "$tmp/out"
expect_code 0 "classify with the res network" "$bin" classify --model "$tmp/res.safetensors" "$tmp/data/hbars/img000.png"
expect_code 1 "an unclosed res { is refused" "$bin" train --data "$tmp/data" --arch "conv 8 3; res { conv 8 3" --out "$tmp/x.safetensors"
grep -q "without its '}'" "$tmp/err" && ok "the unclosed block is named" || bad "the unclosed block is named"

# ---- fine-tuning from the res network: its layers, a new last one
mkdir -p "$tmp/two"; cp -r "$tmp/data/hbars" "$tmp/data/vbars" "$tmp/two/"
expect_code 0 "train --init --freeze" "$bin" train --data "$tmp/two" --init "$tmp/res.safetensors" --freeze 4 --epochs 2 --batch 16 --threads 2 --out "$tmp/ft.safetensors"
check "--init names the layers taken and frozen" grep -q "^init: 20 of 21 layers .*2 labels); the first 4 frozen" "$tmp/out"
expect_code 0 "classify with the fine-tuned model" "$bin" classify --model "$tmp/ft.safetensors" "$tmp/data/hbars/img000.png"
expect_code 2 "--freeze without --init" "$bin" train --data "$tmp/two" --freeze 2 --out "$tmp/x.safetensors"
expect_code 2 "--init with --arch" "$bin" train --data "$tmp/two" --init "$tmp/res.safetensors" --arch small28 --out "$tmp/x.safetensors"
expect_code 1 "--init of a missing model" "$bin" train --data "$tmp/two" --init "$tmp/nothing.safetensors" --out "$tmp/x.safetensors"
expect_code 1 "--freeze beyond the layers taken" "$bin" train --data "$tmp/two" --init "$tmp/res.safetensors" --freeze 30 --out "$tmp/x.safetensors"

# ---- info, eval
expect_code 0 "info" "$bin" info --model "$tmp/m.safetensors"
check "info lists labels" grep -q "dots, hbars, vbars" "$tmp/out"
expect_code 0 "eval --json" "$bin" eval --model "$tmp/m.safetensors" --data "$tmp/data" --split all --json --confusion-png "$tmp/cm.png"
check "eval JSON has accuracy, n, confusion" $py -c "
import json,sys; o=json.load(open('$tmp/out'))
assert set(['accuracy','n','confusion']) <= set(o), o.keys()
assert o['n'] == 120 and len(o['confusion']) == 3
assert o['accuracy'] >= 0.9, o['accuracy']
print('accuracy', o['accuracy'])"
check "confusion PNG written" test -s "$tmp/cm.png"
expect_code 0 "eval (text report)" "$bin" eval --model "$tmp/m.safetensors" --data "$tmp/data"
check "eval report has per-class F1" grep -q "f1" "$tmp/out"

# ---- classify
expect_code 0 "classify files" "$bin" classify --model "$tmp/m.safetensors" "$tmp/data/hbars/img000.png" "$tmp/data/vbars/img001.jpg"
check "classify prints one line per file" test "$(wc -l < "$tmp/out")" = 2
check "classify gets a bar image right" grep -q "img000.png: hbars" "$tmp/out"
ls "$tmp"/data/dots/img00*.* | expect_code 0 "classify from stdin --json" "$bin" classify --model "$tmp/m.safetensors" --json -
check "classify --json lines parse" $py -c "
import json; rows=[json.loads(l) for l in open('$tmp/out')]
assert len(rows) == 10 and all('label' in r and 'probability' in r for r in rows)"
expect_code 1 "classify a corrupt file" "$bin" classify --model "$tmp/m.safetensors" "$tmp/data/hbars/truncated.png"
check "the error names the file" grep -q "truncated.png" "$tmp/err"
expect_code 1 "a missing model" "$bin" classify --model "$tmp/nope.safetensors" "$tmp/data/hbars/img000.png"
head -c 5000 "$tmp/m.safetensors" > "$tmp/trunc.safetensors"
expect_code 1 "a truncated model" "$bin" classify --model "$tmp/trunc.safetensors" "$tmp/data/hbars/img000.png"
check "the model error names the file" grep -q "trunc.safetensors" "$tmp/err"

# ---- watch (live mode)
mkdir -p "$tmp/inbox"
"$bin" watch --model "$tmp/m.safetensors" "$tmp/inbox" > "$tmp/watch.out" 2> "$tmp/watch.err" &
wpid=$!; pids+=($wpid)
for i in $(seq 1 50); do grep -q watching "$tmp/watch.err" 2>/dev/null && break; sleep 0.1; done
cp "$tmp/data/vbars/img002.bmp" "$tmp/inbox/a.bmp"
cp "$tmp/data/hbars/img005.png" "$tmp/inbox/.b.png.tmp" && mv "$tmp/inbox/.b.png.tmp" "$tmp/inbox/b.png"
cp "$tmp/data/hbars/truncated.png" "$tmp/inbox/c.png"
for i in $(seq 1 50); do [ "$(wc -l < "$tmp/watch.out")" -ge 2 ] && grep -q c.png "$tmp/watch.err" && break; sleep 0.1; done
kill -INT $wpid; wait $wpid; wcode=$?
check "watch classified the copied image" grep -q "a.bmp: vbars" "$tmp/watch.out"
check "watch classified the moved-in image" grep -q "b.png: hbars" "$tmp/watch.out"
check "watch reported the corrupt image and went on" grep -q "c.png" "$tmp/watch.err"
check "watch exits 0 on Ctrl-C" test "$wcode" = 0

# ---- watch on a folder that receives 100 hostile PNGs keeps a flat resident
# size: each declares 32x32 pixels, half with an IDAT chunk that declares
# 2,046,824,570 bytes (the fuzz finding of issue 15: 2 GB each before; now
# rejected as truncated), half with a zlib stream that inflates to 64 MB
# (libpng inflates only the declared rows: they decode as a black image)
$py - "$tmp/hostile" "$src/tests/fuzz/corpus/fuzz_image/idat_length.png" <<'PY'
import os, struct, sys, zlib
out, idat = sys.argv[1], open(sys.argv[2], "rb").read()
os.makedirs(out)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
ihdr = struct.pack(">IIBBBBB", 32, 32, 8, 0, 0, 0, 0)
bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
        chunk(b"IDAT", zlib.compress(bytes(64 << 20), 9)) + chunk(b"IEND", b""))
for i in range(50):
    open(os.path.join(out, "idat%02d.png" % i), "wb").write(idat)
    open(os.path.join(out, "zlib%02d.png" % i), "wb").write(bomb)
PY
mkdir -p "$tmp/inbox2"
# Under AddressSanitizer freed memory waits in a quarantine (256 MB by
# default) before it is reused: a small one, so that the figure is the
# program's own.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8" \
    "$bin" watch --model "$tmp/m.safetensors" "$tmp/inbox2" > "$tmp/watch2.out" 2> "$tmp/watch2.err" &
wpid=$!; pids+=($wpid)
for i in $(seq 1 50); do grep -q watching "$tmp/watch2.err" 2>/dev/null && break; sleep 0.1; done
cp "$tmp/data/hbars/img005.png" "$tmp/inbox2/first.png"
for i in $(seq 1 50); do grep -q first.png "$tmp/watch2.out" && break; sleep 0.1; done
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
before=$(hwm $wpid)
cp "$tmp/hostile"/*.png "$tmp/inbox2/"
handled() { echo $(( $(grep -c 'idat[0-9]*\.png' "$tmp/watch2.err") + $(grep -c 'zlib[0-9]*\.png' "$tmp/watch2.out") )); }
for i in $(seq 1 300); do [ "$(handled)" -ge 100 ] && break; sleep 0.1; done
after=$(hwm $wpid)
kill -INT $wpid; wait $wpid
echo "watch: peak resident size $before kB before the 100 hostile files, $after kB after"
check "watch rejected the 50 PNGs with a 2 GB IDAT, naming each" test "$(grep -c 'idat[0-9]*\.png.*truncated' "$tmp/watch2.err")" -eq 50
check "watch classified the 50 zlib bombs" test "$(grep -c 'zlib[0-9]*\.png' "$tmp/watch2.out")" -eq 50
check "watch's peak resident size grew less than 64 MB over them" test $((after - before)) -lt 65536

# ---- resume gives the same model as an uninterrupted run
expect_code 0 "train uninterrupted" "$bin" train "${common[@]}" --epochs 3 --out "$tmp/u.safetensors" --seed 7
expect_code 1 "train interrupted mid-epoch" "$bin" train "${common[@]}" --epochs 3 --out "$tmp/r.safetensors" --seed 7 --stop-after 9
check "interruption says how to resume" grep -q -- "--resume" "$tmp/err"
expect_code 0 "train --resume" "$bin" train "${common[@]}" --epochs 3 --out "$tmp/r.safetensors" --seed 7 --resume
check "resumed weights equal uninterrupted weights" $py "$src/tests/tools/same_weights.py" "$tmp/u.safetensors" "$tmp/r.safetensors"

# ---- split layout, bad datasets
"$gen" "$tmp/split" 12 2 --split
expect_code 0 "train on train/ and test/ folders" "$bin" train --data "$tmp/split" --arch "conv 4 3 relu; gap" --size 16x16 --channels 3 --epochs 1 --out "$tmp/s.safetensors"
expect_code 0 "eval defaults to test/" "$bin" eval --model "$tmp/s.safetensors" --data "$tmp/split" --json
check "eval used the 9 test images" $py -c "import json; assert json.load(open('$tmp/out'))['n'] == 9"
mkdir -p "$tmp/empty"
expect_code 1 "an empty folder is an error" "$bin" train --data "$tmp/empty" --out "$tmp/e.safetensors"
mkdir -p "$tmp/one/only"; cp "$tmp/data/dots/img000.png" "$tmp/one/only/"
expect_code 1 "a single class is an error" "$bin" train --data "$tmp/one" --out "$tmp/e.safetensors"
check "the one-class error says why" grep -qi "class" "$tmp/err"
expect_code 1 "a missing folder is an error" "$bin" train --data "$tmp/nowhere" --out "$tmp/e.safetensors"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
