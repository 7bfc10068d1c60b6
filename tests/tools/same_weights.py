#!/usr/bin/python3
"""Exits 0 if two safetensors files hold the same tensors byte for byte
(metadata such as dates may differ)."""
import json
import struct
import sys


def tensors(path):
    data = open(path, 'rb').read()
    n, = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    header.pop('__metadata__', None)
    base = 8 + n
    return {k: data[base + v['data_offsets'][0]:base + v['data_offsets'][1]]
            for k, v in header.items()}


a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
if a.keys() != b.keys():
    sys.exit('different tensors: %s vs %s' % (sorted(a), sorted(b)))
diff = [k for k in a if a[k] != b[k]]
if diff:
    sys.exit('tensors differ: %s' % ', '.join(diff))
print('%d tensors identical' % len(a))
