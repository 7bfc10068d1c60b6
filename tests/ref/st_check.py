#!/usr/bin/python3
"""Checks that a Cortex model file is a standard safetensors file, and writes
it back out the way another tool would (test_io.c loads the copy).

Usage: st_check.py IN OUT

With the `safetensors` package: safetensors.torch.load_file / save_file.
Without it: the header is parsed with json + struct, checked against the
safetensors rules (what the reference implementation's reader checks), the
tensors are read with torch.frombuffer, and OUT is written with json.dumps's
default spacing, tensors in reverse order and no padding, so the C reader
also sees a file it did not write. Exit status 0 on success; 3 when neither
safetensors nor torch can be imported (the C test then skips).
"""
import json
import struct
import sys

try:
    import torch
except ImportError:
    sys.exit(3)


def check_and_read(path):
    with open(path, "rb") as f:
        blob = f.read()
    assert len(blob) >= 8, "too short"
    (n,) = struct.unpack("<Q", blob[:8])
    assert 2 <= n <= len(blob) - 8, "bad header length"
    assert (8 + n) % 8 == 0, "data section not 8-byte aligned"
    text = blob[8 : 8 + n].decode("utf-8")
    assert text.startswith("{"), "header must start with {"

    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), "duplicate keys"
        return dict(pairs)

    header = json.loads(text, object_pairs_hook=no_dupes)
    meta = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in meta.values()), "metadata values must be strings"
    data = blob[8 + n :]
    tensors = {}
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        assert set(info) == {"dtype", "shape", "data_offsets"}, name
        assert info["dtype"] == "F32", name
        shape = info["shape"]
        assert all(isinstance(d, int) and d >= 0 for d in shape), name
        begin, stop = info["data_offsets"]
        assert begin == end, "hole or overlap before " + name
        numel = 1
        for d in shape:
            numel *= d
        assert stop - begin == 4 * numel, name
        end = stop
        t = torch.frombuffer(bytearray(data[begin:stop]), dtype=torch.float32) if numel else \
            torch.zeros(0, dtype=torch.float32)
        tensors[name] = t.reshape(shape).clone()
    assert end == len(data), "trailing bytes after the last tensor"
    return tensors, meta


def write(path, tensors, meta):
    header = {"__metadata__": meta}
    chunks = []
    at = 0
    for name in reversed(list(tensors)):
        raw = tensors[name].contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    text = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    try:
        from safetensors import safe_open
        from safetensors.torch import load_file, save_file
    except ImportError:
        tensors, meta = check_and_read(src)
        assert meta.get("cortex.format") == "1"
        write(dst, tensors, meta)
        print("st_check: json+struct+torch: %d tensors, %d metadata keys" % (len(tensors), len(meta)))
        return
    tensors = load_file(src)
    with safe_open(src, framework="pt") as f:
        meta = f.metadata()
    assert meta.get("cortex.format") == "1"
    save_file(tensors, dst, metadata=meta)
    print("st_check: safetensors: %d tensors, %d metadata keys" % (len(tensors), len(meta)))


if __name__ == "__main__":
    main()
