#!/usr/bin/env bash
# Vision speed, Cortex against PyTorch in the same run, on the reference CNN
# (conv 3x3 1->32 pad 1, ReLU, maxpool 2, conv 3x3 32->64 pad 1, ReLU,
# maxpool 2, dense 3136->128, ReLU, dense 128->10; batch 64; Adam) over
# Fashion-MNIST:
#   - training throughput (images/s over an epoch),
#   - batch-1 classification latency with the model loaded (median),
#   - peak resident memory of the training process.
# Usage: bench/vision.sh [THREADS] [IMAGES]   (default: all cores, 60000)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
images=${2:-60000}
build=${BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_vision -j2 >/dev/null
echo "vision benchmark: $threads threads, $images training images, $(date -u +%Y-%m-%dT%H:%MZ)"
c=$(OPENBLAS_NUM_THREADS=$threads "$build"/bench_vision "$threads" "$images")
p=$(/usr/bin/python3 bench/vision_torch.py --threads "$threads" --limit "$images")
echo "cortex:  $c"
echo "pytorch: $p"
/usr/bin/python3 - "$c" "$p" <<'PY'
import json, sys
c, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rows = [("training throughput (images/s)", "train_images_per_sec", True),
        ("batch-1 latency (ms, median)", "latency_ms_median", False),
        ("peak memory (MB)", "peak_rss_mb", False)]
print("%-34s %12s %12s %16s" % ("", "Cortex", "PyTorch", "Cortex advantage"))
for label, key, higher in rows:
    ratio = c[key] / p[key] if higher else p[key] / c[key]
    print("%-34s %12.3f %12.3f %15.2fx" % (label, c[key], p[key], ratio))
print("advantage > 1 means Cortex is better (targets: throughput >= 1.5x, "
      "latency >= 2x, memory > 1x)")
PY
