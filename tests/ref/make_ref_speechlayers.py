#!/usr/bin/python3
"""PyTorch references for the speech layers in tests/test_speechlayers.c.

Cortex sequences are (N, T, F); PyTorch's Conv1d and InstanceNorm1d take
(N, F, T), so inputs are transposed on the way in and outputs on the way out.
Each case is one little-endian float32 file holding, in this order:
  conv1d:  x (N,T,C), weight (FO,C,K), bias (FO), dy (N,T,FO),
           y (N,T,FO), dx (N,T,C), dweight, dbias
  tnorm:   x (N,T,F), dy (N,T,F), y (N,T,F), dx (N,T,F)
for loss = sum(y * dy). The float32 inputs are run in float64 so the
reference carries no rounding of its own.

Run with Debian's torch: /usr/bin/python3 tests/ref/make_ref_speechlayers.py
"""
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, tensors):
    data = torch.cat([t.detach().reshape(-1).float() for t in tensors])
    path = os.path.join(HERE, name)
    data.numpy().astype("<f4").tofile(path)
    print("%s: %d floats" % (path, data.numel()))


def conv1d_case(name, seed, n, t, c, fo, k, dilation):
    torch.manual_seed(seed)
    conv = torch.nn.Conv1d(c, fo, k, dilation=dilation, padding=(k - 1) // 2 * dilation)
    with torch.no_grad():
        conv.bias.uniform_(-0.5, 0.5)
    x32 = torch.randn(n, t, c)
    w32, b32 = conv.weight.detach().clone(), conv.bias.detach().clone()
    conv = conv.double()
    x = x32.double().requires_grad_(True)
    y = conv(x.transpose(1, 2)).transpose(1, 2)
    assert y.shape == (n, t, fo)
    dy32 = torch.randn(n, t, fo)
    (y * dy32.double()).sum().backward()
    write(name, [x32, w32, b32, dy32, y, x.grad, conv.weight.grad, conv.bias.grad])


def tnorm_case(name, seed, n, t, f, mean_only):
    torch.manual_seed(seed)
    # an offset and a spread per feature, so the statistics matter
    x32 = torch.randn(n, t, f) * torch.rand(f) * 3 + torch.randn(f) * 2
    dy32 = torch.randn(n, t, f)
    x = x32.double().requires_grad_(True)
    if mean_only:
        y = x - x.mean(dim=1, keepdim=True)
    else:
        norm = torch.nn.InstanceNorm1d(f, eps=1e-5, affine=False)
        y = norm(x.transpose(1, 2)).transpose(1, 2)
    (y * dy32.double()).sum().backward()
    write(name, [x32, dy32, y, x.grad])


# "input 7 3; conv1d 4 3": x (2,7,3) weight (4,3,3) y (2,7,4)
conv1d_case("speech_conv1d_k3.f32", 21, n=2, t=7, c=3, fo=4, k=3, dilation=1)
# "input 6 3; conv1d 2 5 dilation=2": padding 4 reaches past the middle of T
conv1d_case("speech_conv1d_k5d2.f32", 22, n=2, t=6, c=3, fo=2, k=5, dilation=2)
# "input 5 4; conv1d 3 1": a pointwise (K = 1) product without im2col
conv1d_case("speech_conv1d_k1.f32", 23, n=3, t=5, c=4, fo=3, k=1, dilation=1)
# "input 6 4; tnorm" and "input 6 4; tnorm mean"
tnorm_case("speech_tnorm.f32", 24, n=2, t=6, f=4, mean_only=False)
tnorm_case("speech_tnorm_mean.f32", 25, n=2, t=6, f=4, mean_only=True)
