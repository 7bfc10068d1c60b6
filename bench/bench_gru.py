#!/usr/bin/python3
"""GRU benchmark, the PyTorch side of bench/gru.sh (same work as bench_gru.c).

    bench_gru.py stream          nn.GRUCell step time, 1 stream, F=40, H=128:
                                 one cell, and a stack of two
    bench_gru.py train THREADS   training throughput of nn.GRU(40, 128,
                                 num_layers=2) + last step + Linear(128, 12),
                                 batch 64, T=100: forward, cross-entropy,
                                 backward, Adam step

Prints "key value" lines: stream1_us, stream2_us, train_seq_per_s.
Run with Debian's torch: /usr/bin/python3.
"""
import sys
import time

import torch

F, H, T, K, BATCH = 40, 128, 100, 12, 64


def stream_us(layers):
    rounds, steps = 5, 4000
    torch.manual_seed(1)
    cells = [torch.nn.GRUCell(F if i == 0 else H, H) for i in range(layers)]
    frames = torch.empty(T, 1, F).uniform_(-1, 1)
    best = 1e30
    with torch.no_grad():
        h = [torch.zeros(1, H) for _ in cells]
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
    warmup, iters = 2, 12
    torch.manual_seed(1)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.empty(BATCH, T, F).uniform_(-1, 1)
    labels = torch.randint(0, K, (BATCH,))
    t0 = 0.0
    for it in range(warmup + iters):
        if it == warmup:
            t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(net(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return iters * BATCH / (time.perf_counter() - t0)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "stream":
        torch.set_num_threads(1)
        print("stream1_us %.3f" % stream_us(1))
        print("stream2_us %.3f" % stream_us(2))
    elif len(sys.argv) >= 3 and sys.argv[1] == "train":
        torch.set_num_threads(int(sys.argv[2]))
        print("train_seq_per_s %.1f" % train_seq_per_s())
    else:
        sys.stderr.write("usage: bench_gru.py stream | bench_gru.py train THREADS\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
