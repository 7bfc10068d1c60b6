#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# needed, builds, runs ctest, then builds again with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs the suite again.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh --deps

echo "== build (release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
echo "== tests (release)"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== build (address + undefined behaviour sanitizers)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORTEX_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests (sanitizers)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export CX_SANITIZED=1
# OpenBLAS starts its thread pool when the library loads; a program that
# exits at once (--help) can race a thread still starting, which LeakSanitizer
# reports as a glibc leak. One thread at load avoids the race; programs that
# ask for threads (--threads) still get them.
export OPENBLAS_NUM_THREADS=1
(cd build-asan && ctest --output-on-failure -j"$jobs")
echo "== all tests passed"
