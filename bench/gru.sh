#!/usr/bin/env bash
# GRU speed, Cortex against PyTorch, both measured in this run:
#   (a) one streaming step, 1 stream, F=40, H=128 (Cortex's
#       cx_model_stream_step vs nn.GRUCell), one layer and a stack of two,
#       1 thread;
#   (b) the live cost of one 10 ms frame, H=64 and H=128, 1 stream, 1 thread:
#       Cortex pushes one hop (80 samples at 8 kHz) into cx_melspec with
#       the shipped models' settings, pops the 40-band log-mel frame and runs
#       one cx_model_stream_step of "input 1 40; gru H" (bench_gru frame H);
#       PyTorch runs only one nn.GRUCell(40, H) step, no features
#       (bench_gru.py cell H). The speech target is a speed-up of at least
#       10x. A line under each row splits the Cortex time into features and
#       GRU step, each measured alone;
#   (c) training throughput of "input 100 40; gru 128; gru 128; last;
#       dense 12", batch 64, forward + backward + Adam, at 1 and 2 threads.
# The last column is the Cortex speed-up: above 1, Cortex is faster.
# Usage: bench/gru.sh [BUILD_DIR]   (default: build; configured as Release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
py=/usr/bin/python3

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_gru -j2 >/dev/null

value() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
row() { # label cortex pytorch higher-is-better(0/1)
    awk -v l="$1" -v c="$2" -v p="$3" -v hib="$4" 'BEGIN {
        printf "%-50s %12.1f %12.1f %9.2fx\n", l, c, p, hib ? c / p : p / c }'
}

echo "GRU benchmark on $(nproc) cores ($(uname -m)), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
cmake --build "$build" --target bench_sgemm -j2 >/dev/null
"$build"/bench_sgemm 1024 1 2
printf "%-50s %12s %12s %10s\n" "" "Cortex" "PyTorch" "speed-up"

# Each side gets exactly the thread budget: OpenBLAS would otherwise start
# one (idle, polling) thread per core in the single-thread runs.
c=$(OPENBLAS_NUM_THREADS=1 "$build"/bench_gru stream)
p=$($py bench/bench_gru.py stream)
row "stream step, 1 GRU layer (us/step)" "$(value "$c" stream1_us)" "$(value "$p" stream1_us)" 0
row "stream step, 2 GRU layers (us/step)" "$(value "$c" stream2_us)" "$(value "$p" stream2_us)" 0

for h in 64 128; do
    c=$(OPENBLAS_NUM_THREADS=1 "$build"/bench_gru frame "$h")
    p=$($py bench/bench_gru.py cell "$h")
    row "features + 1 GRU step per 10 ms frame, H=$h (us)" "$(value "$c" frame_us)" \
        "$(value "$p" cell_us)" 0
    printf "    Cortex alone: features %.2f us, GRU step %.2f us\n" "$(value "$c" features_us)" \
        "$(value "$c" step_us)"
done

# Training: PyTorch in each thread configuration at THREADS threads
# (OpenBLAS at 1 and at THREADS threads beside torch's THREADS OpenMP
# threads, idle threads sleeping or spinning), each printed; the row
# compares Cortex with the fastest.
for threads in 1 2; do
    c=$(OPENBLAS_NUM_THREADS=$threads "$build"/bench_gru train "$threads")
    best=0 bestcfg=""
    cfgs=("$threads PASSIVE")
    [ "$threads" -gt 1 ] && cfgs=("1 PASSIVE" "$threads PASSIVE" "1 ACTIVE" "$threads ACTIVE")
    for cfg in "${cfgs[@]}"; do
        read -r blas wait <<<"$cfg"
        p=$(CX_TORCH_BLAS_THREADS=$blas CX_TORCH_OMP_WAIT=$wait $py bench/bench_gru.py train "$threads")
        v=$(value "$p" train_seq_per_s)
        printf "    PyTorch, torch %d + OpenBLAS %d threads, %s: %.1f sequences/s\n" "$threads" \
            "$blas" "${wait,,}" "$v"
        if awk -v a="$v" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$v bestcfg="$blas ${wait,,}"; fi
    done
    row "training, $threads thread(s) (sequences/s)" "$(value "$c" train_seq_per_s)" "$best" 1
    echo "    (PyTorch's best: OpenBLAS $bestcfg)"
done
