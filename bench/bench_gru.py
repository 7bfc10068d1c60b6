#!/usr/bin/python3
"""GRU benchmark, the PyTorch side of bench/gru.sh (same work as bench_gru.c).

    bench_gru.py stream          nn.GRUCell step time, 1 stream, F=40, H=128:
                                 one cell, and a stack of two
    bench_gru.py cell H          nn.GRUCell(40, H) step time, 1 stream: the
                                 reference for bench_gru.c's "frame H" (which
                                 adds the log-mel features of the frame);
                                 measured as "stream", 1 thread
    bench_gru.py train THREADS   training throughput of nn.GRU(40, 128,
                                 num_layers=2) + last step + Linear(128, 12),
                                 batch 64, T=100: forward, cross-entropy,
                                 backward, Adam step

Prints "key value" lines: stream1_us, stream2_us, cell_us (microseconds per
step, best of a few rounds, under torch.no_grad), train_seq_per_s.
Run with Debian's torch: /usr/bin/python3.

Threads: Debian's torch runs its own OpenMP threads and calls the
pthreads build of OpenBLAS, which starts one thread per core of its own.
Left alone, "1 thread" really uses every core, and at 2 threads the two
pools spin against each other (about 5x slower than 1 thread on a 2-core
machine). So before torch is imported, OpenBLAS gets the same thread count
and OpenMP threads sleep instead of spinning when idle: PyTorch's best
configuration at exactly THREADS threads.
"""
import os
import sys
import time

THREADS = 1
if len(sys.argv) >= 3 and sys.argv[1] == "train":
    THREADS = int(sys.argv[2])
# CX_TORCH_BLAS_THREADS and CX_TORCH_OMP_WAIT override OpenBLAS's thread
# count and the OpenMP wait policy (bench/gru.sh tries each configuration).
BLAS_THREADS = os.environ.get("CX_TORCH_BLAS_THREADS", str(THREADS))
os.environ["OMP_NUM_THREADS"] = str(THREADS)
os.environ["OPENBLAS_NUM_THREADS"] = BLAS_THREADS
os.environ["MKL_NUM_THREADS"] = BLAS_THREADS
os.environ["OMP_WAIT_POLICY"] = os.environ.get("CX_TORCH_OMP_WAIT", "PASSIVE")

import torch  # noqa: E402  (after the thread settings above)

F, H, T, K, BATCH = 40, 128, 100, 12, 64


def stream_us(layers, hidden=H):
    rounds, steps = 5, 4000
    torch.manual_seed(1)
    cells = [torch.nn.GRUCell(F if i == 0 else hidden, hidden) for i in range(layers)]
    frames = torch.empty(T, 1, F).uniform_(-1, 1)
    best = 1e30
    with torch.no_grad():
        h = [torch.zeros(1, hidden) for _ in cells]
        for _ in range(rounds):
            t0 = time.perf_counter()
            for s in range(steps):
                x = frames[s % T]
                for i, cell in enumerate(cells):
                    h[i] = cell(x, h[i])
                    x = h[i]
            best = min(best, (time.perf_counter() - t0) * 1e6 / steps)
    return best


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(F, H, num_layers=2, batch_first=True)
        self.dense = torch.nn.Linear(H, K)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.dense(y[:, -1])


def train_seq_per_s():
    """Sequences per second, the best of a few rounds (the machine is shared)."""
    rounds, iters = 3, 5
    torch.manual_seed(1)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.empty(BATCH, T, F).uniform_(-1, 1)
    labels = torch.randint(0, K, (BATCH,))
    best = 0.0
    for r in range(-1, rounds):  # round -1 warms up
        t0 = time.perf_counter()
        for _ in range(iters):
            loss = torch.nn.functional.cross_entropy(net(x), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        rate = iters * BATCH / (time.perf_counter() - t0)
        if r >= 0:
            best = max(best, rate)
    return best


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "stream":
        torch.set_num_threads(1)
        print("stream1_us %.3f" % stream_us(1))
        print("stream2_us %.3f" % stream_us(2))
    elif len(sys.argv) >= 3 and sys.argv[1] == "cell":
        hidden = int(sys.argv[2])
        if hidden < 1:
            sys.stderr.write("bench_gru.py: bad number of units '%s'\n" % sys.argv[2])
            sys.exit(2)
        torch.set_num_threads(1)
        print("cell_us %.3f" % stream_us(1, hidden))
    elif len(sys.argv) >= 3 and sys.argv[1] == "train":
        torch.set_num_threads(THREADS)
        print("train_seq_per_s %.1f" % train_seq_per_s())
    else:
        sys.stderr.write("usage: bench_gru.py stream | bench_gru.py cell H"
                         " | bench_gru.py train THREADS\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
