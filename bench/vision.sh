#!/usr/bin/env bash
# Vision speed, Cortex against PyTorch at its best, in the same run, on the
# reference CNN (conv 3x3 1->32 pad 1, ReLU, maxpool 2, conv 3x3 32->64
# pad 1, ReLU, maxpool 2, dense 3136->128, ReLU, dense 128->10; batch 64;
# Adam) over Fashion-MNIST:
#   - training throughput (images/s over an epoch, and GFLOP/s from the
#     network's 25.0 MFLOP per training image),
#   - batch-1 classification latency with the model loaded (median),
#   - peak resident memory of the training process.
# PyTorch runs in every sensible thread configuration at THREADS threads
# (torch.set_num_threads(THREADS) beside OpenBLAS at 1 and at THREADS
# threads, idle OpenMP threads sleeping or spinning); each is printed, and
# Cortex is compared against the best one for each figure. The machine's
# sgemm rate at THREADS threads comes first, so a training rate reads as a
# fraction of the hardware.
# Usage: bench/vision.sh [THREADS] [IMAGES]   (default: all cores, 60000)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
images=${2:-60000}
build=${BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_vision bench_sgemm -j2 >/dev/null
echo "vision benchmark: $threads threads, $images training images, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores," \
  "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
sgemm=$(OPENBLAS_NUM_THREADS=$threads "$build"/bench_sgemm 1024 "$threads")
echo "$sgemm"
gflops=$(awk '{print $(NF-1)}' <<<"$sgemm")

c=$(OPENBLAS_NUM_THREADS=$threads "$build"/bench_vision "$threads" "$images")
echo "cortex: $c"
configs=("$threads PASSIVE")
if [ "$threads" -gt 1 ]; then configs=("1 PASSIVE" "$threads PASSIVE" "1 ACTIVE" "$threads ACTIVE"); fi
p=()
for cfg in "${configs[@]}"; do
  read -r blas wait <<<"$cfg"
  r=$(CX_TORCH_BLAS_THREADS=$blas CX_TORCH_OMP_WAIT=$wait \
    /usr/bin/python3 bench/vision_torch.py --threads "$threads" --limit "$images")
  echo "pytorch (torch $threads threads, OpenBLAS $blas, OMP_WAIT_POLICY=$wait): $r"
  p+=("$r")
done
/usr/bin/python3 - "$gflops" "$c" "${p[@]}" <<'PY'
import json, sys
# FLOPs of one training image: forward, plus the weight gradient of every
# layer and the input gradient of all but the first (2 FLOPs a multiply-add).
conv1 = 28 * 28 * 32 * 9 * 2
conv2 = 14 * 14 * 64 * 32 * 9 * 2
dense = 3136 * 128 * 2 + 128 * 10 * 2
flop = 2 * conv1 + 3 * conv2 + 3 * dense
sgemm = float(sys.argv[1])
c = json.loads(sys.argv[2])
ps = [json.loads(a) for a in sys.argv[3:]]
def name(p):
    return "torch %d + OpenBLAS %d, %s" % (p["threads"], p["blas_threads"], p["omp_wait"].lower())
print("\n%-38s %12s %10s %12s %10s" % ("training", "images/s", "GFLOP/s", "of sgemm", "latency ms"))
for label, r in [("Cortex", c)] + [("PyTorch: " + name(p), p) for p in ps]:
    g = r["train_images_per_sec"] * flop / 1e9
    print("%-38s %12.1f %10.1f %11.1f%% %10.3f" % (label, r["train_images_per_sec"], g,
                                                   100 * g / sgemm, r["latency_ms_median"]))
rows = [("training throughput (images/s)", "train_images_per_sec", True),
        ("batch-1 latency (ms, median)", "latency_ms_median", False),
        ("peak memory (MB)", "peak_rss_mb", False)]
print("\n%-34s %12s %12s %16s   PyTorch's best configuration" % ("", "Cortex", "PyTorch", "Cortex advantage"))
for label, key, higher in rows:
    best = max(ps, key=lambda p: p[key]) if higher else min(ps, key=lambda p: p[key])
    ratio = c[key] / best[key] if higher else best[key] / c[key]
    print("%-34s %12.3f %12.3f %15.2fx   %s" % (label, c[key], best[key], ratio, name(best)))
print("%.1f MFLOP per training image; sgemm %.1f GFLOP/s at the same thread count" % (flop / 1e6, sgemm))
print("advantage > 1 means Cortex is better than PyTorch's best configuration for that figure")
PY
