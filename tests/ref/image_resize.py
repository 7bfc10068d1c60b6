#!/usr/bin/python3
"""Reference for tests/test_image.c: image resizing against PyTorch.

torch.nn.functional.interpolate(mode="bilinear", align_corners=False,
antialias=True) is PyTorch's (and PIL's) antialiased bilinear resize, which
cx_image_load's triangle filter reproduces (edge pixels excepted: Cortex
clamps the image edge where PyTorch renormalizes the cut kernel).

Writes little-endian float32 files next to this script:
  image_resize_in.f32          23 x 37 gray image, integer values 0..255
  image_resize_<h>x<w>.f32     the reference resized to h x w (unrounded)
Run with Debian's python3-torch: /usr/bin/python3 tests/ref/image_resize.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [(8, 11), (5, 37), (64, 50), (23, 80)]


def main():
    rng = np.random.default_rng(20240601)
    img = rng.integers(0, 256, size=(23, 37)).astype(np.float32)
    img.astype("<f4").tofile(os.path.join(HERE, "image_resize_in.f32"))
    t = torch.from_numpy(img)[None, None]
    for h, w in SIZES:
        out = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        out[0, 0].numpy().astype("<f4").tofile(os.path.join(HERE, f"image_resize_{h}x{w}.f32"))


if __name__ == "__main__":
    main()
