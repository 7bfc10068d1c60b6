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
    OPENBLAS_NUM_THREADS=$t "$build/bench_conv" "$t" "$min" $only >>"$results"
    # PyTorch in each configuration at t threads: its OpenMP pool at t beside
    # OpenBLAS at 1 and at t, idle threads sleeping or spinning.
    cfgs=("$t PASSIVE")
    [ "$t" -gt 1 ] && cfgs=("1 PASSIVE" "$t PASSIVE" "1 ACTIVE" "$t ACTIVE")
    for cfg in "${cfgs[@]}"; do
      read -r blas wait <<<"$cfg"
      OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$blas OMP_WAIT_POLICY=$wait \
        /usr/bin/python3 bench/bench_conv.py "$t" "$min" $only |
        sed "s/^torch /torch:blas$blas:${wait,,} /" >>"$results"
    done
  done
done

echo "conv2d forward + backward, batch 64 (ms per batch, best of $rounds rounds)"
echo "case NxCxHxW_Ffilters+kernel: the 1-channel first layer skips the input gradient"
echo "machine: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
cmake --build "$build" -j2 --target bench_sgemm >/dev/null
"$build/bench_sgemm" 1024 $threads
awk '
  {
    id = $1 SUBSEP $2 SUBSEP $3
    if (!(id in t) || $4 < t[id]) t[id] = $4
    if (!seen[$2, $3]++) key[n++] = $2 SUBSEP $3
    if ($1 ~ /^torch:/ && !cfgseen[$1, $2]++) cfgs[$2] = cfgs[$2] " " $1
  }
  END {
    printf "%-22s %7s %10s %10s %13s   %s\n", "case", "threads", "cortex", "torch best", "torch/cortex", "each torch configuration (ms)"
    for (i = 0; i < n; i++) {
      split(key[i], k, SUBSEP)
      c = t["cortex", k[1], k[2]]
      m = split(cfgs[k[1]], cf, " "); best = 1e30; detail = ""
      for (j = 1; j <= m; j++) {
        v = t[cf[j], k[1], k[2]]
        if (v < best) { best = v; bc = cf[j] }
        sub(/^torch:/, "", cf[j]); detail = detail sprintf(" %s %.3f", cf[j], v)
      }
      printf "%-22s %7s %10.3f %10.3f %12.2fx  %s\n", k[2], k[1], c, best, best / c, detail
    }
    print "torch/cortex > 1 means Cortex is faster than PyTorch at its best configuration."
  }' "$results"
if [ ${#loaded[@]} -gt 0 ]; then
  echo "warning: other work was using the CPUs before ${loaded[*]} (share of all cores);"
  echo "         2-thread figures suffer most (spinning threads lose their core)."
fi
