#!/usr/bin/env bash
# Data-parallel training over MPI processes against threads, in the same
# run, on the Fashion-MNIST reference CNN (conv 3x3 1->32 pad 1, ReLU,
# maxpool 2, conv 3x3 32->64 pad 1, ReLU, maxpool 2, dense 3136->128, ReLU,
# dense 128->10; AdamW, one epoch, no validation):
#   - 1 process x 2 threads against 2 processes x 1 thread (mpirun -np 2),
#     images/s, at batch 64 and 256;
#   - the time per step spent summing the gradients over the processes
#     (MPI_Allreduce of the model's gradient block) and in all communication;
#   - a model of 8, 32 and 128 such machines on 10 and 100 Gbit/s networks
#     (bench/mpi_model.py): the measured time of a step at each machine's
#     share of the batch (1 process x 2 threads at batch 8 to 1024), the
#     gradient's size, a ring allreduce's 2(N-1)/N x bytes / bandwidth plus
#     2(N-1) latencies, and the global batch below which more machines stop
#     paying.
# The machine's sgemm rate at 1 and 2 threads comes first.
# Usage: bench/mpi.sh [FASHION_MNIST_DIR] [IMAGES]
#   (default /usr/share/datasets/fashion-mnist, all 60,000 training images)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-/usr/share/datasets/fashion-mnist}
images=${2:-60000}
build=${BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target cortex-vision bench_sgemm -j2 >/dev/null
if ! grep -q "CORTEX_MPI:BOOL=ON" "$build/CMakeCache.txt"; then
  echo "bench/mpi.sh: $build has no MPI (install libopenmpi-dev: scripts/setup.sh)" >&2
  exit 1
fi
echo "MPI benchmark: $images training images, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores," \
  "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $(mpirun --version | head -1)"
for t in 1 2; do OPENBLAS_NUM_THREADS=$t "$build"/bench_sgemm 1024 "$t"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the first IMAGES of the training set (and the test set, unused), as IDX files
/usr/bin/python3 - "$data" "$tmp/data" "$images" <<'PY'
import gzip, os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(dst)
for name, rec in (("train-images-idx3-ubyte", 784), ("train-labels-idx1-ubyte", 1)):
    with gzip.open(os.path.join(src, name + ".gz")) as f:
        raw = f.read()
    head = 16 if rec == 784 else 8
    count = min(n, int.from_bytes(raw[4:8], "big"))
    out = bytearray(raw[:head])
    out[4:8] = count.to_bytes(4, "big")
    with open(os.path.join(dst, name), "wb") as f:
        f.write(bytes(out) + raw[head:head + count * rec])
for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    os.symlink(os.path.abspath(os.path.join(src, name)), os.path.join(dst, name))
PY
arch="conv 32 3 pad=1 relu; maxpool 2; conv 64 3 pad=1 relu; maxpool 2; dense 128 relu; dense 10"
run() { # label batch threads command...
  local label=$1 batch=$2 threads=$3; shift 3
  local log=$tmp/$label.log
  "$@" train --data "$tmp/data" --out "$tmp/$label.safetensors" --arch "$arch" --epochs 1 \
    --batch "$batch" --val-split 0 --seed 1 --threads "$threads" </dev/null >"$log" 2>&1 ||
    { cat "$log"; exit 1; }
  local rate params comm
  rate=$(awk '/^epoch/ {for (i = 1; i < NF; i++) if ($(i + 1) == "img/s") print $i}' "$log")
  params=$(awk '/parameters;/ {print $1}' "$log")
  comm=$(grep "summing the gradients" "$log" || true)
  echo "$label batch $batch: $rate images/s ($params parameters)"
  [ -n "$comm" ] && echo "  $comm"
  echo "$label $batch $rate $params ${comm:-}" >>"$tmp/results"
}
mpi=(mpirun --oversubscribe --allow-run-as-root --bind-to none -np 2 "$build/cortex-vision")
for batch in 64 256; do
  run threads "$batch" 2 "$build/cortex-vision"
  run processes "$batch" 1 "${mpi[@]}"
  run one-thread "$batch" 1 "$build/cortex-vision"
done
# the compute of a step at the small per-machine batches of many machines
for batch in 8 16 1024; do run threads "$batch" 2 "$build/cortex-vision"; done
/usr/bin/python3 bench/mpi_model.py "$tmp/results"
