#!/usr/bin/python3
"""Writes a few Fashion-MNIST test images as PNG files for the demo:
    datasets/make_vision_samples.py [OUT_DIR] [PER_CLASS]
(default models/samples/fashion, 1 per class). Reads Debian's
dataset-fashion-mnist package; PNGs are written with zlib, no imaging
library needed. Image i of class c is the first test image of that class."""
import gzip
import os
import struct
import sys
import zlib

SRC = '/usr/share/datasets/fashion-mnist'
NAMES = ['tshirt-top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker',
         'bag', 'ankle-boot']


def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]


def png(path, w, h, gray):
    raw = b''.join(b'\x00' + gray[y * w:(y + 1) * w] for y in range(h))

    def chunk(kind, body):
        return (struct.pack('>I', len(body)) + kind + body +
                struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff))
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else 'models/samples/fashion'
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    (n, h, w), pixels = idx(os.path.join(SRC, 't10k-images-idx3-ubyte.gz'))
    _, labels = idx(os.path.join(SRC, 't10k-labels-idx1-ubyte.gz'))
    os.makedirs(out, exist_ok=True)
    count = [0] * 10
    for i in range(n):
        c = labels[i]
        if count[c] >= per:
            continue
        png(os.path.join(out, '%s-%d.png' % (NAMES[c], count[c] + 1)), w, h,
            pixels[i * h * w:(i + 1) * h * w])
        count[c] += 1
        if min(count) >= per:
            break
    print('wrote %d samples to %s' % (sum(count), out))


if __name__ == '__main__':
    main()
