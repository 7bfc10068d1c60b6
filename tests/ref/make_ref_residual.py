#!/usr/bin/python3
"""PyTorch references for tests/test_residual.c (run with /usr/bin/python3;
files are written next to this script).

Each case is one little-endian float32 file holding, in this order:
  x (input), every parameter in Cortex's tensor order (layer by layer: a
  conv's weight then bias; a residual block's projection, at its end, as a
  (C2, C1) weight then bias), dy (upstream gradient), y (output), dx (input
  gradient), then every parameter's gradient in the same order."""
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, tensors):
    data = torch.cat([t.detach().reshape(-1).float() for t in tensors])
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data.numpy().astype("<f4").tobytes())


def conv(c, f, k, stride=1, pad=1):
    m = torch.nn.Conv2d(c, f, k, stride=stride, padding=pad)
    with torch.no_grad():
        m.bias.uniform_(-0.5, 0.5)
    return m


def run(name, n, shape, forward, params):
    x = torch.randn(n, *shape, requires_grad=True)
    y = forward(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    # (a 1x1 projection's weight is (C2, C1) in Cortex: the same floats)
    write(name, [x] + params + [dy, y, x.grad] + [p.grad for p in params])


relu = torch.relu

# "input 3 8 8; res { conv 6 3 stride=2 pad=1 relu; conv 6 3 pad=1 }; relu"
# x (2,3,8,8); conv1 (6,3,3,3) (6); conv2 (6,6,3,3) (6); projection 1x1
# stride 2 (6,3) (6); y (2,6,4,4)
torch.manual_seed(1)
c1, c2, proj = conv(3, 6, 3, stride=2), conv(6, 6, 3), conv(3, 6, 1, stride=2, pad=0)
run("res_proj.f32", 2, (3, 8, 8), lambda x: relu(c2(relu(c1(x))) + proj(x)),
    [c1.weight, c1.bias, c2.weight, c2.bias, proj.weight, proj.bias])

# "input 4 5 5; res { conv 4 3 pad=1 relu; res { conv 4 3 pad=1 } }; relu"
# x (3,4,5,5); conv1 (4,4,3,3) (4); conv2 (4,4,3,3) (4); y (3,4,5,5)
torch.manual_seed(2)
a, b = conv(4, 4, 3), conv(4, 4, 3)


def nested(x):
    h = relu(a(x))
    return relu(b(h) + h + x)


run("res_nested.f32", 3, (4, 5, 5), nested, [a.weight, a.bias, b.weight, b.bias])
