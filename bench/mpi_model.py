#!/usr/bin/env python3
"""What N machines like this one would give, from bench/mpi.sh's figures.

Reads the results file bench/mpi.sh writes (label batch images/s
parameters [communication line]) and models data-parallel training on N
machines, each as fast as this one with its 2 threads, joined by a network:

  step(N, B) = compute(B / N) + allreduce(N)
  allreduce(N) = 2 (N - 1) / N x bytes / bandwidth + 2 (N - 1) x latency

compute(b) is the time of one step at batch b on this machine (1 process,
2 threads: data, forward, backward, the optimizer's update), measured at
batch 8 to 1024 and interpolated per image in log2(b) between them (below
the smallest, its time per image); bytes is the gradient block (4 bytes per
parameter), summed by a ring allreduce (bandwidth-optimal: each machine
sends and receives 2 (N - 1) / N of the block, in 2 (N - 1) messages). The
sum is not overlapped with the backward pass (Cortex does not overlap; it
would hide at most the backward pass's share of compute(B / N)).

Usage: mpi_model.py RESULTS
"""
import math
import sys

NETS = [("10 Gbit/s Ethernet", 10e9 / 8, 25e-6), ("100 Gbit/s (RDMA)", 100e9 / 8, 3e-6)]
NODES = [8, 32, 128]
BATCHES = [256, 1024, 4096, 16384, 65536]


def main(path):
    rows = {}
    params = 0
    for line in open(path):
        f = line.split()
        if len(f) < 4:
            continue
        rows[(f[0], int(f[1]))] = float(f[2])
        params = int(f[3])
    pts = sorted((b, 1.0 / r) for (p, b), r in rows.items() if p == "threads")

    def per_image(b):
        if b <= pts[0][0]:
            return pts[0][1]
        for (b0, c0), (b1, c1) in zip(pts, pts[1:]):
            if b <= b1:
                w = (math.log2(b) - math.log2(b0)) / (math.log2(b1) - math.log2(b0))
                return c0 + w * (c1 - c0)
        return pts[-1][1]

    def compute(b):
        return b * per_image(b)

    nbytes = 4 * params
    print("\nmodel: one machine = this one, 1 process x 2 threads; a step at batch b takes: %s; "
          "gradient %.2f MB (%d parameters)" % (", ".join(
              "%d: %.2f ms" % (b, 1e3 * b * c) for b, c in pts), nbytes / 1e6, params))
    for (p, b) in sorted(rows):
        if p == "processes" and ("threads", b) in rows:
            print("measured here, batch %d: 2 processes x 1 thread %.0f images/s = %.2fx "
                  "1 process x 2 threads" % (b, rows[(p, b)], rows[(p, b)] / rows[("threads", b)]))
    best = max(r for (p, b), r in rows.items() if p == "threads")
    for name, bw, lat in NETS:
        print("\n%s (latency %.0f us):" % (name, 1e6 * lat))
        print("  %5s %11s %10s | %s" % ("nodes", "allreduce", "B at 50%", "  ".join(
            "%18s" % ("B=%d img/s (eff)" % B) for B in BATCHES)))
        for n in NODES:
            ar = 2 * (n - 1) / n * nbytes / bw + 2 * (n - 1) * lat

            def eff(B):
                return B / (compute(B / n) + ar) / (n * best)

            cells = []
            for B in BATCHES:
                step = compute(B / n) + ar
                cells.append("%18s" % ("%.0f (%2.0f%%)" % (B / step, 100 * eff(B))))
            b50 = next((B for B in range(n, 1 << 22, n) if eff(B) >= 0.5), None)
            print("  %5d %8.2f ms %10s | %s" % (n, 1e3 * ar, b50 or "-", "  ".join(cells)))
    print("\nB at 50%%: the smallest global batch at which N machines reach half their ideal "
          "speed-up (below it the allreduce outweighs each machine's share of the images: more "
          "machines stop paying). eff = N machines' images/s over N times one machine's "
          "best; one machine's best here: %.0f images/s." % best)


if __name__ == "__main__":
    main(sys.argv[1])
