"""A minimal PyTorch RealNVP, the same model as ``minflow.RealNVP`` (for the benchmark only).

Affine couplings with halves alternating (eq. 3, 6), one MLP per coupling with output
[s_raw | t], s = s_max tanh(s_raw / s_max), standard-normal prior. PyTorch is never a
dependency of minflow; this file is imported only when torch is installed.
"""
import math

import torch
from torch import nn


class Coupling(nn.Module):
    def __init__(self, dim, width, depth, flip, s_max=2.0):
        super().__init__()
        self.k, self.flip, self.s_max = dim // 2, flip, s_max
        d_a = dim - self.k if flip else self.k
        self.d_b = dim - d_a
        sizes = [d_a] + [width] * depth + [2 * self.d_b]
        layers = []
        for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(m, n))
            if i < depth:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        lo, hi = x[:, :self.k], x[:, self.k:]
        x_a, x_b = (hi, lo) if self.flip else (lo, hi)
        o = self.net(x_a)
        s = self.s_max * torch.tanh(o[:, :self.d_b] / self.s_max)
        y_b = x_b * torch.exp(s) + o[:, self.d_b:]
        y = torch.cat([y_b, x_a] if self.flip else [x_a, y_b], dim=1)
        return y, s.sum(dim=1)


class RealNVP(nn.Module):
    def __init__(self, dim, n_layers, width, depth=2):
        super().__init__()
        self.layers = nn.ModuleList(Coupling(dim, width, depth, k % 2 == 1) for k in range(n_layers))
        self.dim = dim

    def log_prob(self, x):
        ld = torch.zeros(x.shape[0], dtype=x.dtype)
        for layer in self.layers:
            x, ld_k = layer(x)
            ld = ld + ld_k
        return -0.5 * (x * x).sum(dim=1) - 0.5 * self.dim * math.log(2 * math.pi) + ld


def make(dim, n_layers, width, dtype, threads):
    """(model, train_step(x), log_prob(x, chunk)) for numpy arrays x."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    model = RealNVP(dim, n_layers, width).to(dt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step(x):
        xt = torch.from_numpy(x)
        opt.zero_grad(set_to_none=True)
        loss = -model.log_prob(xt).mean()
        loss.backward()
        opt.step()
        return loss.item()

    @torch.inference_mode()
    def log_prob(x, chunk):
        xt = torch.from_numpy(x)
        return torch.cat([model.log_prob(xt[i:i + chunk]) for i in range(0, len(xt), chunk)])

    return model, train_step, log_prob


def matmul_gflops(n, dtype, threads, reps=3):
    import time

    torch.set_num_threads(threads)
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    a, b = torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt)
    a @ b
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9
