"""A minimal RealNVP in PyTorch: the benchmark's reference contender (never imported by minflow).

The model minflow.RealNVP(dim, n_layers, (w, w)) builds, written the way a PyTorch user would:

- n_layers affine couplings; coupling k conditions on the first half x[:, :D//2] and transforms
  the second half when k is even, and the other way round when k is odd (mask "half", flip = k % 2);
- the conditioner is Linear(d_a, w) - ReLU - Linear(w, w) - ReLU - Linear(w, 2 d_b), whose output
  is [s_raw | t]; the log-scale is bounded, s = s_max tanh(s_raw / s_max), with minflow's s_max;
- y_b = x_b exp(s) + t, log|det J| = sum s; standard-normal prior.

`train_epoch` is the loop a user writes (shuffle, minibatches, Adam, the loss read back every
step as `fit` does, a validation NLL at the end of the epoch); `log_prob` evaluates an array in
chunks under `torch.inference_mode()`. `load_minflow` copies a minflow flow's weights in, so the
benchmark's --check can show that both compute the same function.
"""
import math

import torch
from torch import nn

from minflow import RealNVPSpec

DTYPES = {"float32": torch.float32, "float64": torch.float64}


class AffineCoupling(nn.Module):
    def __init__(self, dim, hidden, flip, s_max):
        super().__init__()
        self.half, self.flip, self.s_max = dim // 2, flip, s_max
        d_a = dim - self.half if flip else self.half
        self.d_b = dim - d_a
        sizes = [d_a, *hidden, 2 * self.d_b]
        mods = []
        for i in range(len(sizes) - 1):
            mods.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                mods.append(nn.ReLU())
        self.net = nn.Sequential(*mods)
        nn.init.zeros_(self.net[-1].weight)   # like minflow: a new flow is the identity map
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x):
        if self.flip:
            x_b, x_a = x[:, :self.half], x[:, self.half:]
        else:
            x_a, x_b = x[:, :self.half], x[:, self.half:]
        out = self.net(x_a)
        s = self.s_max * torch.tanh(out[:, :self.d_b] / self.s_max)
        y_b = x_b * torch.exp(s) + out[:, self.d_b:]
        y = torch.cat((y_b, x_a) if self.flip else (x_a, y_b), dim=1)
        return y, s.sum(dim=1)


class RealNVP(nn.Module):
    def __init__(self, dim, n_layers, hidden):
        super().__init__()
        self.dim = dim
        s_max = RealNVPSpec().s_max  # minflow's bound, read from its spec (the benchmark compares the same model)
        self.couplings = nn.ModuleList(AffineCoupling(dim, hidden, k % 2 == 1, s_max) for k in range(n_layers))

    def log_prob(self, x):
        log_det = x.new_zeros(x.shape[0])
        for c in self.couplings:
            x, ld = c(x)
            log_det = log_det + ld
        return log_det - 0.5 * (x * x).sum(dim=1) - 0.5 * self.dim * math.log(2.0 * math.pi)


def build(dim, n_layers, hidden, dtype, seed=0):
    torch.manual_seed(seed)
    return RealNVP(dim, n_layers, tuple(hidden)).to(DTYPES[dtype])


def load_minflow(model, params):
    """Copy minflow parameters (per coupling: [(W (in, out), b), ...]) into ``model``."""
    with torch.no_grad():
        for coupling, layer_params in zip(model.couplings, params):
            linears = [m for m in coupling.net if isinstance(m, nn.Linear)]
            for lin, (w, b) in zip(linears, layer_params):
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b.copy()))


def train_epoch(model, opt, data, batch_size, validation, generator):
    """One epoch over ``data`` (a tensor): returns (steps, validation NLL; None without ``validation``)."""
    order = torch.randperm(len(data), generator=generator)
    steps = 0
    for i in range(0, len(data) - batch_size + 1, batch_size):
        xb = data[order[i:i + batch_size]]
        loss = -model.log_prob(xb).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()                     # fit reads every loss back (history, divergence check)
        steps += 1
    if validation is None:
        return steps, None
    with torch.inference_mode():
        val_nll = -model.log_prob(validation).mean().item()
    return steps, val_nll


@torch.inference_mode()
def log_prob(model, x, chunk):
    """log p(x) for a tensor x, evaluated ``chunk`` rows at a time."""
    return torch.cat([model.log_prob(x[i:i + chunk]) for i in range(0, len(x), chunk)])
