#!/usr/bin/env bash
# End to end: data-parallel training over MPI processes (mpirun).
#   e2e_mpi.sh BUILD_DIR SOURCE_DIR
# The library (tests/tools/mpi_train.c, a CNN with batch normalization and
# dropout on augmented data): 2 processes x 1 thread train the bits 1
# process x 2 threads train; 3 processes match 3 threads to rounding; an
# interrupted 2-process run resumed on 1 process ends bit-identical to the
# uninterrupted run; evaluation split over 1, 2 and 3 processes gives the
# same figures; a process killed in the middle ends the job (no hang).
# The programs: cortex-vision and cortex-speech train under mpirun -np 2
# (one process prints, the model equals the one-process model), eval
# under mpirun, Ctrl-C on mpirun leaves a checkpoint that --resume
# continues on one process, a failing process ends the job.
# Exits 77 (skipped) in a build without MPI.
set -u
b=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
if [ ! -x "$b/mpi_train" ]; then
  echo "skipped: this build has no MPI (CORTEX_MPI off: install libopenmpi-dev)"
  exit 77
fi
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# OpenMPI as root, and more processes than cores; no stdin (CI). Under the
# sanitizers, LeakSanitizer is off in the processes mpirun starts: OpenMPI
# leaks in the components it dlopens and unloads at MPI_Finalize, whose
# stacks no suppression can name (the programs' leaks are checked where
# they run without mpirun, here and in the rest of the suite).
mpi_asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
mpi() { ASAN_OPTIONS=$mpi_asan timeout 120 mpirun --oversubscribe --allow-run-as-root -np "$@" </dev/null; }
t=$b/mpi_train
cd "$tmp" || exit 1

# ---- the library
check "1 process x 2 threads trains" "$t" train one 2 >one.log
check "2 processes x 1 thread train" mpi 2 "$t" train two 1 >two.log
check "only process 0 prints" test "$(grep -c '^trained' two.log)" = 1
check "2 processes: the model of 1 process x 2 threads, bit for bit" "$t" compare one.safetensors two.safetensors 0
"$t" compare one.safetensors two.safetensors 0 | sed 's/^/  | /'
check "1 process x 3 threads trains" "$t" train three_t 3 >/dev/null
check "3 processes train" mpi 3 "$t" train three 1 >three.log
check "3 processes: the model of 3 threads within 1e-5" "$t" compare three_t.safetensors three.safetensors 1e-5
"$t" compare three_t.safetensors three.safetensors 1 | sed 's/^/  | /'
"$t" train four_t 4 >/dev/null
mpi 2 "$t" train four 2 >/dev/null
check "2 processes x 2 threads: the model of 4 threads within 1e-5" "$t" compare four_t.safetensors four.safetensors 1e-5

mpi 2 "$t" train part 1 9 >part.log
check "2 processes stop together at an interruption" grep -q "interrupted after" part.log
check "the interrupted run left a checkpoint" test -s part.ckpt
cp part.ckpt part1.ckpt
check "its checkpoint resumes on 1 process x 2 threads" "$t" resume resumed part.ckpt 2 >/dev/null
check "2 -> 1 processes: resumed = uninterrupted, bit for bit" "$t" compare one.safetensors resumed.safetensors 0
# (3 processes cut the batches into other shards, whose augmentation and
# dropout differ: the same run continued, not the same bits)
mpi 3 "$t" resume resumed3 part1.ckpt 1 >resumed3.log
check "and resumes on 3 processes: the 11 steps left" grep -q "trained: 3 epochs.* 11 steps" resumed3.log

e1=$("$t" eval one.safetensors 1 | grep '^eval')
e2=$(mpi 2 "$t" eval one.safetensors 1 | grep '^eval')
e3=$(mpi 3 "$t" eval one.safetensors 2 | grep '^eval')
echo "  | 1: $e1"; echo "  | 2: $e2"; echo "  | 3: $e3"
check "evaluation over 2 and 3 processes: the same loss, accuracy and predictions" \
  test -n "$e1" -a "$e1" = "$e2" -a "$e1" = "$e3"

start=$(date +%s)
mpi 2 "$t" die dead 1 25 >dead.log 2>dead.err
rc=$? secs=$(( $(date +%s) - start ))
check "a killed process ends the job (exit $rc after ${secs}s), no hang" test "$rc" -ne 0 -a "$rc" -ne 124
check "mpirun names the process that died" grep -q "rank 1" dead.err
# process 1 died in its 25th step, in epoch 4 (7 steps an epoch): the
# checkpoint of epoch 3 resumes, here to epoch 5 on one process
"$t" resume after dead.ckpt 2 5 >after.log
check "the dead job's last checkpoint resumes (epochs 4 and 5: 14 steps)" grep -q "trained: 5 epochs.* 14 steps" after.log

# ---- the programs
"$b/gen_images" data 40 1 >/dev/null
vcommon=(--data data --arch "conv 8 3 relu; maxpool 2; conv 16 3 relu; gap" --size 16x16 --channels 1
         --batch 16 --lr 0.01 --epochs 3)
check "cortex-vision train under mpirun -np 2" mpi 2 "$b/cortex-vision" train "${vcommon[@]}" --threads 1 --out v2.safetensors >v2.log
check "cortex-vision: one process prints the epochs" test "$(grep -c '^epoch' v2.log)" = 3
check "cortex-vision: the communication is reported" grep -q "2 processes x 1 thread (MPI).*summing the gradients" v2.log
check "cortex-vision train, 1 process x 2 threads" "$b/cortex-vision" train "${vcommon[@]}" --threads 2 --out v1.safetensors >/dev/null
check "cortex-vision: the same model" "$t" compare v1.safetensors v2.safetensors 0
ev1=$("$b/cortex-vision" eval --model v1.safetensors --data data --split all --threads 1 | grep -i accuracy | head -1)
ev2=$(mpi 2 "$b/cortex-vision" eval --model v1.safetensors --data data --split all --threads 1 | grep -i accuracy | head -1)
echo "  | $ev1"; echo "  | $ev2"
check "cortex-vision eval under mpirun: the same accuracy" test -n "$ev1" -a "$ev1" = "$ev2"

# Ctrl-C on mpirun: every process stops at the same step, process 0 writes
# the checkpoint; one process resumes it. (Epochs of some length: mpirun
# stops reading its processes' output when it is interrupted, and a process
# printing a line per millisecond would block on a full pipe before it gets
# to its checkpoint; mpirun kills it a second later.)
"$b/gen_images" data2 400 1 >/dev/null
long=(--data data2 --arch "conv 8 3 relu; maxpool 2; conv 16 3 relu; gap" --size 16x16 --channels 1
      --batch 4 --lr 0.01 --epochs 100000)
ASAN_OPTIONS=$mpi_asan mpirun --oversubscribe --allow-run-as-root -np 2 "$b/cortex-vision" train \
  "${long[@]}" --threads 1 --out c.safetensors >c.log 2>c.err </dev/null &
pid=$!
( sleep 30; kill -9 "$pid" 2>/dev/null ) &
watchdog=$!
for _ in $(seq 100); do [ -s c.safetensors.ckpt ] && break; sleep 0.2; done
sleep 1
kill -INT "$pid"
wait "$pid"
rc=$?
kill "$watchdog" 2>/dev/null
# OpenMPI 4.1's mpirun can deadlock in its own teardown after an interrupt
# (PMIx_server_finalize), after its processes have exited: counted, shown
if [ "$rc" = 137 ]; then
  echo "note: mpirun itself hung after Ctrl-C, its processes gone; killed after 30 s"
fi
check "Ctrl-C on mpirun: the checkpoint is saved" grep -q "interrupted; checkpoint saved" c.err
check "Ctrl-C on mpirun: no process aborts the job" bash -c "! grep -q MPI_ABORT c.err"
last=$(grep -o '^epoch *[0-9]*' c.log | tail -1 | grep -o '[0-9]*$')
"$b/cortex-vision" train "${long[@]}" --threads 2 --out c.safetensors --resume --stop-after 300 >c1.log 2>&1
first=$(grep -o '^epoch *[0-9]*' c1.log | head -1 | grep -o '[0-9]*$')
echo "  | mpirun -np 2 ran to epoch ${last:-?}; the resumed run's first epoch: ${first:-?}"
check "the checkpoint resumes on one process, after the epochs done" test -n "$first" -a -n "$last" -a "${first:-0}" -gt "${last:-0}"

mkdir -p bad
mpi 2 "$b/cortex-vision" train --data bad --out x.safetensors >/dev/null 2>bad.err
rc=$?
check "a failing process ends the job (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "and says so" grep -q "ending the whole job" bad.err

scommon=(--data sd --words up,down,flat --rate 8000 --window 0.8 --test-speakers cat --val-percent 0
         --arch "tnorm; conv1d 32 5 relu; gru 32; mean" --label-smoothing 0 --batch 16 --lr 0.01 --epochs 4)
bash "$src/tests/tools/make_sound_words.sh" sd >/dev/null 2>&1
check "cortex-speech train under mpirun -np 2" mpi 2 "$b/cortex-speech" train "${scommon[@]}" --threads 1 --out s2.safetensors >s2.log
check "cortex-speech train, 1 process x 2 threads" "$b/cortex-speech" train "${scommon[@]}" --threads 2 --out s1.safetensors >/dev/null 2>&1
check "cortex-speech: the same model" "$t" compare s1.safetensors s2.safetensors 0
check "cortex-speech: one process prints the detector" test "$(grep -c '^detector:' s2.log)" = 1

echo "e2e_mpi: $pass passed, $fail failed"
[ "$fail" = 0 ]
