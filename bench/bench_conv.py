#!/usr/bin/python3
"""PyTorch side of bench/conv.sh (arguments: THREADS[,THREADS] MIN_SECONDS
[CASE_PREFIX]): conv2d forward + backward time for the
layers of the reference CNN. Prints one line per case:
  torch THREADS NAME MS_PER_ITER
The first layer (1 input channel) does not need the input gradient; the
others do, as in a network."""
import sys
import time

import torch

CASES = [
    # name, n, c, h, w, f, k, stride, pad, need_dx
    ("64x32x28x28_32f3", 64, 32, 28, 28, 32, 3, 1, 1, True),
    ("64x1x28x28_32f3", 64, 1, 28, 28, 32, 3, 1, 1, False),
    ("64x32x14x14_64f3", 64, 32, 14, 14, 64, 3, 1, 1, True),
]
# Extra shapes (run when CASE_PREFIX selects them, e.g. "x"), the same as bench_conv.c's.
EXTRA = [
    ("x64x3x32x32_32f3", 64, 3, 32, 32, 32, 3, 1, 1, False),
    ("x64x4x28x28_16f3", 64, 4, 28, 28, 16, 3, 1, 1, True),
    ("x64x8x28x28_16f3", 64, 8, 28, 28, 16, 3, 1, 1, True),
    ("x64x16x28x28_16f3", 64, 16, 28, 28, 16, 3, 1, 1, True),
    ("x64x64x7x7_64f3", 64, 64, 7, 7, 64, 3, 1, 1, True),
    ("x64x128x8x8_128f3", 64, 128, 8, 8, 128, 3, 1, 1, True),
    ("x64x64x14x14_128f1", 64, 64, 14, 14, 128, 1, 1, 0, True),
    ("x64x32x28x28_64f3s2", 64, 32, 28, 28, 64, 3, 2, 1, True),
    ("x64x16x28x28_16f5", 64, 16, 28, 28, 16, 5, 1, 2, True),
]


def bench(threads, name, n, c, h, w, f, k, stride, pad, need_dx, min_time):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(c, f, k, stride=stride, padding=pad)
    x = torch.randn(n, c, h, w, requires_grad=need_dx)
    with torch.no_grad():
        y0 = conv(x)
    dy = torch.randn_like(y0)

    def step():
        conv.zero_grad(set_to_none=False)
        if x.grad is not None:
            x.grad = None
        y = conv(x)
        y.backward(dy)

    for _ in range(3):
        step()
    best = float("inf")
    spent = 0.0
    while spent < min_time:
        t0 = time.perf_counter()
        reps = 5
        for _ in range(reps):
            step()
        dt = (time.perf_counter() - t0) / reps
        best = min(best, dt)
        spent += dt * reps
    print("torch %d %s %.3f" % (threads, name, best * 1e3), flush=True)


def main():
    threads = [int(t) for t in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 2]
    min_time = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    only = sys.argv[3] if len(sys.argv) > 3 else None
    for t in threads:
        for case in CASES + EXTRA:
            if case[0].startswith(only) if only else case not in EXTRA:
                bench(t, *case, min_time)


if __name__ == "__main__":
    main()
