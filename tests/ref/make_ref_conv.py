#!/usr/bin/python3
"""PyTorch references for tests/test_conv.c (run with /usr/bin/python3 from
the repository root or anywhere: files are written next to this script).

Each case is one little-endian float32 file holding, in this order:
  x (input), w (weight, if any), b (bias, if any), dy (upstream gradient),
  y (output), dx (input gradient), dw, db
with the shapes given in the comment of each case below and in the test."""
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, tensors):
    data = torch.cat([t.detach().reshape(-1).float() for t in tensors])
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data.numpy().astype("<f4").tobytes())


def conv_case(name, seed, n, c, f, h, w, k, stride, pad, groups=1):
    torch.manual_seed(seed)
    conv = torch.nn.Conv2d(c, f, k, stride=stride, padding=pad, groups=groups)
    with torch.no_grad():
        conv.bias.uniform_(-0.5, 0.5)
    x = torch.randn(n, c, h, w, requires_grad=True)
    y = conv(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    write(name, [x, conv.weight, conv.bias, dy, y, x.grad, conv.weight.grad, conv.bias.grad])


def pool_case(name, seed, n, c, h, w, pool):
    torch.manual_seed(seed)
    x = torch.randn(n, c, h, w, requires_grad=True)
    y = pool(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    write(name, [x, dy, y, x.grad])


# "input 3 7 6; conv 4 3 stride=2 pad=1": x (2,3,7,6) w (4,3,3,3) b (4) y (2,4,4,3)
conv_case("conv_s2.f32", 1, n=2, c=3, f=4, h=7, w=6, k=3, stride=2, pad=1)
# "input 5 6 5; conv 4 3 stride=1 pad=1": x (2,5,6,5) w (4,5,3,3) b (4) y (2,4,6,5)
conv_case("conv_s1.f32", 2, n=2, c=5, f=4, h=6, w=5, k=3, stride=1, pad=1)
# "input 3 7 6; dwconv 3 stride=2 pad=1": x (2,3,7,6) w (3,1,3,3) b (3) y (2,3,4,3)
conv_case("dwconv.f32", 3, n=2, c=3, f=3, h=7, w=6, k=3, stride=2, pad=1, groups=3)
# "input 3 7 6; maxpool 3 stride=2": x (2,3,7,6) y (2,3,3,2)
pool_case("maxpool.f32", 4, n=2, c=3, h=7, w=6, pool=torch.nn.MaxPool2d(3, stride=2))
# "input 3 7 6; avgpool 2": x (2,3,7,6) y (2,3,3,3)
pool_case("avgpool.f32", 5, n=2, c=3, h=7, w=6, pool=torch.nn.AvgPool2d(2))
# Non-square windows, as a CRNN pools frequency and keeps time; W odd: floor mode.
# "input 3 6 9; maxpool 1x2": x (2,3,6,9) y (2,3,6,4)
pool_case("maxpool_1x2.f32", 6, n=2, c=3, h=6, w=9, pool=torch.nn.MaxPool2d((1, 2)))
# "input 2 7 8; maxpool 2x3 stride=1x2": x (2,2,7,8) y (2,2,6,3)
pool_case("maxpool_2x3_s1x2.f32", 7, n=2, c=2, h=7, w=8,
          pool=torch.nn.MaxPool2d((2, 3), stride=(1, 2)))
# "input 3 6 9; avgpool 1x2": x (2,3,6,9) y (2,3,6,4)
pool_case("avgpool_1x2.f32", 8, n=2, c=3, h=6, w=9, pool=torch.nn.AvgPool2d((1, 2)))
