"""Adam with fewer allocations: the numbers of ``train.adam_step``, each leaf updated in place
*within* its new arrays (four allocations per leaf instead of twelve). At the thesis's model
size a training step is a few milliseconds, and Adam's small-array arithmetic is a tenth of it.

The inputs are never modified: ``fit`` keeps the best parameters by reference.
"""
import math

from ..tree import tree_leaves, tree_unflatten
from ._arrays import array_module


def adam_step_fused(params, grads, state, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Same signature and result as ``minflow.train.adam_step`` (Kingma & Ba 2015, Algorithm 1).

    The trees are flattened once (walking them is a large share of a small model's step)."""
    m, v, t = state
    t += 1
    step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    new = [_update(p, g, m_, v_, b1, b2, step, eps) for p, g, m_, v_ in
           zip(tree_leaves(params), tree_leaves(grads), tree_leaves(m), tree_leaves(v))]
    return (tree_unflatten(params, [n[0] for n in new]),
            (tree_unflatten(m, [n[1] for n in new]), tree_unflatten(v, [n[2] for n in new]), t))


def _update(p, g, m, v, b1, b2, step, eps):
    """One array's update: returns new (p, m, v), each computed in place within one new array."""
    xp = array_module(p)
    m_new = g - m
    m_new *= 1 - b1
    m_new += m                             # m + (1 - b1)(g - m) = b1 m + (1 - b1) g
    v_new = g * g
    v_new -= v
    v_new *= 1 - b2
    v_new += v                             # b2 v + (1 - b2) g^2
    d = xp.sqrt(v_new)
    d += eps
    xp.divide(m_new, d, out=d)
    d *= step
    return p - d, m_new, v_new
