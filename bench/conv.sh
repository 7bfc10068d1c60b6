#!/usr/bin/env bash
# Conv2d forward + backward: Cortex against PyTorch (Debian's python3-torch,
# oneDNN) on the layers of the reference CNN, at 1 and 2 threads, measured
# in the same run. Builds bench_conv in a Release tree first.
#   bench/conv.sh [MIN_SECONDS_PER_CASE [ROUNDS [CASE_PREFIX]]]
#     defaults 1.0 s, 3 rounds, the three reference layers ("x" = extra shapes)
# Environment: BUILD (build folder, default build-bench), THREADS (default "1 2").
# Each round runs Cortex then PyTorch for every thread count; a cell is the
# best (lowest) time over the rounds, which filters out moments when other
# work shares the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-bench}
min=${1:-1.0}
rounds=${2:-3}
only=${3:-}
threads=${THREADS:-1 2}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCORTEX_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target bench_conv >/dev/null

# Percentage of the CPU time other work used over the last second (Linux).
others_busy() {
  local a b
  read -ra a </proc/stat; sleep 1; read -ra b </proc/stat
  local busy=$(((b[1] + b[2] + b[3]) - (a[1] + a[2] + a[3])))
  local all=$((busy + b[4] - a[4]))
  echo $((all > 0 ? 100 * busy / all : 0))
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
loaded=()
for ((r = 1; r <= rounds; r++)); do
  busy=$(others_busy)
  [ "$busy" -gt 10 ] && loaded+=("round $r: ${busy}%")
  for t in $threads; do
    # PyTorch gets the same budget for its OpenMP pool and its BLAS.
    OPENBLAS_NUM_THREADS=$t "$build/bench_conv" "$t" "$min" $only >>"$results"
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 bench/bench_conv.py "$t" "$min" $only >>"$results"
  done
done

echo "conv2d forward + backward, batch 64 (ms per batch, best of $rounds rounds)"
echo "case NxCxHxW_Ffilters+kernel: the 1-channel first layer skips the input gradient"
awk '
  {
    id = $1 SUBSEP $2 SUBSEP $3
    if (!(id in t) || $4 < t[id]) t[id] = $4
    if (!seen[$2, $3]++) key[n++] = $2 SUBSEP $3
  }
  END {
    printf "%-22s %7s %10s %10s %13s\n", "case", "threads", "cortex", "torch", "torch/cortex"
    for (i = 0; i < n; i++) {
      split(key[i], k, SUBSEP)
      c = t["cortex", k[1], k[2]]; p = t["torch", k[1], k[2]]
      printf "%-22s %7s %10.3f %10.3f %12.2fx\n", k[2], k[1], c, p, p / c
    }
    print "torch/cortex > 1 means Cortex is faster."
  }' "$results"
if [ ${#loaded[@]} -gt 0 ]; then
  echo "warning: other work was using the CPUs before ${loaded[*]} (share of all cores);"
  echo "         2-thread figures suffer most (spinning threads lose their core)."
fi
