#!/usr/bin/env bash
# Conv2d forward + backward: Cortex against PyTorch (Debian's python3-torch,
# oneDNN) on the layers of the reference CNN, at 1 and 2 threads, measured
# in the same run. Builds bench_conv in a Release tree first.
#   bench/conv.sh [MIN_SECONDS_PER_CASE]      (default 1.0)
# Environment: BUILD (build folder, default build-bench), THREADS (default "1 2").
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-bench}
min=${1:-1.0}
threads=${THREADS:-1 2}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCORTEX_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target bench_conv >/dev/null

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for t in $threads; do
  # The two run one after the other, each with the same thread budget.
  OPENBLAS_NUM_THREADS=$t "$build/bench_conv" "$t" "$min" >>"$results"
  OMP_NUM_THREADS=$t /usr/bin/python3 bench/bench_conv.py "$t" "$min" >>"$results"
done

echo "conv2d forward + backward, batch 64, 3x3 pad 1 stride 1 (ms per batch, best of runs)"
echo "case: NxCxHxW_Ffilters; the 1-channel first layer skips the input gradient"
awk '
  { t[$1, $2, $3] = $4; if (!seen[$2, $3]++) { key[n++] = $2 SUBSEP $3 } }
  END {
    printf "%-20s %7s %10s %10s %14s\n", "case", "threads", "cortex", "torch", "torch/cortex"
    for (i = 0; i < n; i++) {
      split(key[i], k, SUBSEP)
      c = t["cortex", k[1], k[2]]; p = t["torch", k[1], k[2]]
      printf "%-20s %7s %10.3f %10.3f %13.2fx\n", k[2], k[1], c, p, p / c
    }
    print "torch/cortex > 1 means Cortex is faster."
  }' "$results"
