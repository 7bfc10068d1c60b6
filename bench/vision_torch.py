#!/usr/bin/python3
"""PyTorch side of the vision benchmark: the reference CNN on Fashion-MNIST.
Prints one JSON line: training images/s over an epoch, batch-1 latency,
peak resident memory. Run with Debian's python3-torch:
    /usr/bin/python3 bench/vision_torch.py --threads 2 [--limit N]"""
import argparse
import gzip
import json
import os
import resource
import struct
import sys
import time

# Debian's torch runs OpenMP threads and also calls the pthreads OpenBLAS,
# which starts one thread per core of its own. Both are set before torch is
# imported: OpenMP gets --threads; OpenBLAS gets CX_TORCH_BLAS_THREADS if set
# (bench/vision.sh tries 1 and --threads and reports each), else --threads;
# idle OpenMP threads sleep unless CX_TORCH_OMP_WAIT=ACTIVE.
_threads = str(os.cpu_count())
for _i, _a in enumerate(sys.argv):
    if _a == '--threads' and _i + 1 < len(sys.argv):
        _threads = sys.argv[_i + 1]
BLAS_THREADS = os.environ.get('CX_TORCH_BLAS_THREADS', _threads)
OMP_WAIT = os.environ.get('CX_TORCH_OMP_WAIT', 'PASSIVE')
os.environ['OMP_NUM_THREADS'] = _threads
os.environ['OPENBLAS_NUM_THREADS'] = BLAS_THREADS
os.environ['MKL_NUM_THREADS'] = BLAS_THREADS
os.environ['OMP_WAIT_POLICY'] = OMP_WAIT

import numpy as np  # noqa: E402
import torch  # noqa: E402

FMNIST = '/usr/share/datasets/fashion-mnist'


def load_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    magic, = struct.unpack('>I', data[:4])
    ndim = magic & 0xff
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def model():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(3136, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--limit', type=int, default=60000, help='training images (an epoch)')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--latency-runs', type=int, default=2000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x = load_idx(os.path.join(FMNIST, 'train-images-idx3-ubyte.gz'))[:args.limit]
    y = load_idx(os.path.join(FMNIST, 'train-labels-idx1-ubyte.gz'))[:args.limit]
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
    x = (x - x.mean()) / x.std()
    y = torch.from_numpy(y.astype(np.int64))
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    net.train()
    order = torch.randperm(len(x))
    t0 = time.perf_counter()
    for s in range(0, len(x), args.batch):
        idx = order[s:s + args.batch]
        opt.zero_grad()
        loss = lossf(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - t0
    net.eval()
    one = x[:1].clone()
    times = []
    with torch.no_grad():
        for _ in range(50):
            net(one)
        for i in range(args.latency_runs):
            t = time.perf_counter()
            net(x[i % len(x)].unsqueeze(0))
            times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({
        'framework': 'pytorch ' + torch.__version__,
        'threads': args.threads,
        'blas_threads': int(BLAS_THREADS),
        'omp_wait': OMP_WAIT,
        'images': len(x),
        'train_images_per_sec': len(x) / train_s,
        'final_loss': float(loss),
        'latency_ms_median': 1000 * times[len(times) // 2],
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == '__main__':
    main()
