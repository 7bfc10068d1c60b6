#!/usr/bin/python3
"""Writes the PyTorch reference fixtures for tests/test_rnn.c.

For nn.GRU and nn.LSTM (batch_first, one layer, zero initial state) with
batch 2, T=4, F=3, H=5 it writes one little-endian float32 file,
rnn_<kind>.f32, holding in this order:
    x (2,4,3), weight_ih (G*5,3), weight_hh (G*5,5), bias_ih (G*5), bias_hh (G*5),
    dy (2,4,5)   a fixed upstream gradient of the output sequence,
    y (2,4,5)    the output sequence,
    dx, d weight_ih, d weight_hh, d bias_ih, d bias_hh   for loss = sum(y * dy)
with G = 3 (GRU, gates r,z,n) or 4 (LSTM, gates i,f,g,o). The float32 inputs
are run in float64 so the reference carries no rounding of its own.

Run with Debian's torch: /usr/bin/python3 tests/ref/make_ref_rnn.py
"""
import os

import torch

N, T, F, H = 2, 4, 3, 5
HERE = os.path.dirname(os.path.abspath(__file__))


def write(kind, cls, seed):
    torch.manual_seed(seed)
    rnn = cls(F, H, batch_first=True)
    with torch.no_grad():  # biases away from zero so their gradients matter
        for name, p in rnn.named_parameters():
            if name.startswith("bias"):
                p.uniform_(-0.5, 0.5)
    x32 = torch.empty(N, T, F).uniform_(-1, 1)
    dy32 = torch.empty(N, T, H).uniform_(-1, 1)
    params32 = [p.detach().clone() for p in
                (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)]

    rnn = rnn.double()
    x = x32.double().requires_grad_(True)
    y, _ = rnn(x)
    (y * dy32.double()).sum().backward()
    grads = [x.grad] + [p.grad for p in
                        (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)]

    parts = [x32] + params32 + [dy32, y.detach()] + grads
    data = torch.cat([p.reshape(-1).float() for p in parts])
    path = os.path.join(HERE, "rnn_%s.f32" % kind)
    data.numpy().astype("<f4").tofile(path)
    print("%s: %d floats" % (path, data.numel()))


write("gru", torch.nn.GRU, 11)
write("lstm", torch.nn.LSTM, 12)
