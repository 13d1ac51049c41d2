"""Adam with fewer allocations: the numbers of ``train.adam_step``, each leaf updated in place
*within* its new arrays (four allocations per leaf instead of twelve). At the thesis's model
size a training step is a few milliseconds, and Adam's small-array arithmetic is a tenth of it.

The inputs are never modified: ``fit`` keeps the best parameters by reference.
"""
import math

from ..tree import tree_map
from ._arrays import array_module


def adam_step_fused(params, grads, state, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Same signature and result as ``minflow.train.adam_step`` (Kingma & Ba 2015, Algorithm 1)."""
    m, v, t = state
    t += 1
    step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    new = tree_map(lambda p, g, m_, v_: _Leaf(p, g, m_, v_, b1, b2, step, eps), params, grads, m, v)
    return tree_map(lambda n: n.p, new), (tree_map(lambda n: n.m, new), tree_map(lambda n: n.v, new), t)


class _Leaf:
    """The update of one array (a class, not a tuple, so that tree_map treats it as a leaf)."""

    def __init__(self, p, g, m, v, b1, b2, step, eps):
        xp = array_module(p)
        self.m = g - m
        self.m *= 1 - b1
        self.m += m                        # m + (1 - b1)(g - m) = b1 m + (1 - b1) g
        self.v = g * g
        self.v -= v
        self.v *= 1 - b2
        self.v += v                        # b2 v + (1 - b2) g^2
        d = xp.sqrt(self.v)
        d += eps
        xp.divide(self.m, d, out=d)
        d *= step
        self.p = p - d
