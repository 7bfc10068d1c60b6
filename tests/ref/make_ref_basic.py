#!/usr/bin/python3
"""Reference values from PyTorch for batch normalization, the softmax
cross-entropy loss and the optimizers. Run with Debian's python3-torch:
    /usr/bin/python3 tests/ref/make_ref_basic.py
Writes little-endian float32 files next to this script (basic_*.f32)."""
import os
import torch

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)


def save(name, t):
    t.detach().to(torch.float32).contiguous().numpy().astype('<f4').tofile(
        os.path.join(here, 'basic_' + name + '.f32'))


# Batch normalization, training mode then evaluation mode, (4, 3, 5, 5).
x = torch.randn(4, 3, 5, 5) * 2 + 0.5
x.requires_grad_(True)
bn = torch.nn.BatchNorm2d(3)
with torch.no_grad():
    bn.weight.copy_(torch.tensor([0.5, 1.5, -1.0]))
    bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
dy = torch.randn(4, 3, 5, 5)
bn.train()
y = bn(x)
y.backward(dy)
save('bn_x', x)
save('bn_dy', dy)
save('bn_weight', bn.weight)
save('bn_bias', bn.bias)
save('bn_y', y)
save('bn_dx', x.grad)
save('bn_dweight', bn.weight.grad)
save('bn_dbias', bn.bias.grad)
save('bn_running_mean', bn.running_mean)
save('bn_running_var', bn.running_var)
bn.eval()
save('bn_y_eval', bn(x))

# Softmax cross-entropy, mean over the batch, with and without smoothing.
logits = (torch.randn(6, 5) * 3).requires_grad_(True)
labels = torch.tensor([0, 4, 2, 2, 1, 3])
save('xent_logits', logits)
for s in (0.0, 0.1):
    if logits.grad is not None:
        logits.grad = None
    loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=s)
    loss.backward()
    tag = 'smooth' if s else 'plain'
    save('xent_loss_' + tag, loss.reshape(1))
    save('xent_grad_' + tag, logits.grad)

# Optimizers: a weight (1, 10) with decay and a bias (1) without, three
# steps with fixed gradients.
w0 = torch.randn(1, 10)
b0 = torch.randn(1)
grads = [(torch.randn(1, 10), torch.randn(1)) for _ in range(3)]
save('opt_w0', w0)
save('opt_b0', b0)
save('opt_gw', torch.stack([g[0] for g in grads]))
save('opt_gb', torch.stack([g[1] for g in grads]))
configs = {
    'sgd': lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    'nesterov': lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    'adam': lambda p: torch.optim.Adam(p, lr=0.01),
    'adamw': lambda p: torch.optim.AdamW(p, lr=0.01),
}
for name, make in configs.items():
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    wd = 0.05 if name != 'adamw' else 0.1
    opt = make([{'params': [w], 'weight_decay': wd}, {'params': [b], 'weight_decay': 0.0}])
    for gw, gb in grads:
        w.grad = gw.clone()
        b.grad = gb.clone()
        opt.step()
    save('opt_' + name + '_w', w)
    save('opt_' + name + '_b', b)
