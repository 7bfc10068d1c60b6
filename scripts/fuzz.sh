#!/usr/bin/env bash
# Searches for inputs that crash Cortex's file readers: builds the fuzz
# targets in tests/fuzz with clang's libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer (in build-fuzz/), then runs each for a while
# starting from the inputs kept in tests/fuzz/corpus/<target>.
#
# A crash leaves its input in build-fuzz/crashes/<target>/; once fixed, copy
# it into tests/fuzz/corpus/<target>/ so the test suite (scripts/test.sh)
# replays it for ever after. Not part of the test suite: fuzzing is a search
# with no end, run by hand or on a schedule.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    cat <<'USAGE'
usage: scripts/fuzz.sh [--seconds N] [--jobs N] [--rss-limit-mb N] [TARGET...]

Fuzzes the readers of files users hand Cortex, each TARGET for N seconds:
  fuzz_model   model files (safetensors, layer spec, speech metadata)
  fuzz_audio   audio files (libsndfile, mixing, resampling)
  fuzz_image   image files (every decoder, conversion, resizing)
  fuzz_idx     IDX files, plain or gzip (Fashion-MNIST)
  fuzz_config  feature and detector settings strings, layer specs
  fuzz_forward a model that loads, whatever its spec: forward, backward, streaming
Default: every target, 60 seconds each, 1 job.

  --seconds N   time per target (default 60)
  --jobs N      parallel fuzzing processes per target (default 1)
  --rss-limit-mb N
                memory limit per input (default 512): an input that makes a
                reader hold more (resident, or in one allocation) is a finding
  -h, --help    this help

Installs clang and its sanitizer runtimes first (scripts/setup.sh --fuzz).
Exit status: 0 no crash found, 1 a crash (its input is named), 2 usage.
USAGE
}

seconds=60
jobs=1
rss=512
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
    --rss-limit-mb) rss=${2:?--rss-limit-mb needs a number}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
    esac
done
all=(fuzz_model fuzz_forward fuzz_audio fuzz_image fuzz_idx fuzz_config)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [ -d "tests/fuzz/corpus/$t" ] || { echo "fuzz.sh: no target '$t' (see --help)" >&2; exit 2; }
done
scripts/setup.sh --fuzz

echo "== build (clang, libFuzzer + sanitizers) in build-fuzz"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORTEX_FUZZ=ON \
    -DCORTEX_SANITIZE=ON -DCORTEX_TESTS=OFF -DCORTEX_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" >/dev/null

# A small quarantine: freed blocks wait there (256 MB by default) and would
# count against --rss-limit-mb as if the reader held them.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=64
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OPENBLAS_NUM_THREADS=1
status=0
root=$PWD
for t in "${targets[@]}"; do
    work=$root/build-fuzz/corpus/$t crashes=$root/build-fuzz/crashes/$t logs=$root/build-fuzz/logs/$t
    mkdir -p "$work" "$crashes" "$logs"
    echo "== $t: ${seconds}s"
    # -timeout: the largest image the reader accepts (64 megapixels) takes
    # about 0.6 s in a release build and over 10 s here, with the sanitizers
    # and coverage; a 41-byte GIF can declare one (found by fuzz_image).
    opts=(-max_total_time="$seconds" -max_len=65536 -timeout=60 -print_final_stats=1
          -artifact_prefix="$crashes/")
    # A hostile file must not make a reader allocate more than a normal file
    # of its kind needs: memory blow-ups are findings like crashes.
    opts+=(-rss_limit_mb="$rss" -malloc_limit_mb="$rss")
    [ -f "tests/fuzz/$t.dict" ] && opts+=(-dict="$root/tests/fuzz/$t.dict")
    [ "$jobs" -gt 1 ] && opts+=(-jobs="$jobs" -workers="$jobs")
    # libFuzzer writes its workers' logs (fuzz-N.log) in the current folder.
    if (cd "$logs" && "$root/build-fuzz/$t" "$work" "$root/tests/fuzz/corpus/$t" "${opts[@]}" \
        >"$logs/main.log" 2>&1); then
        cat "$logs"/*.log | grep -E "stat::number_of_executed_units|stat::peak_rss_mb" |
            sed 's/^/   /'
        cat "$logs"/*.log | grep -E "^#[0-9]+.*DONE" | tail -1 | sed 's/^/   /'
    else
        status=1
        echo "   CRASH: see build-fuzz/logs/$t/; input(s):"
        ls "$crashes" | sed "s|^|   build-fuzz/crashes/$t/|"
    fi
done
exit $status
