"""Training (thesis section 4, eq. 15-17): an Adam step and one epoch of minibatch descent.

Reference: https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91;
Adam: Kingma & Ba (2015), Algorithm 1.
"""
import numpy as np

# BEGIN VARIANT
BETAS = (0.9, 0.999)
# END VARIANT
EPS = 1e-8


def adam_step(params, grads, state, lr):
    """One Adam update (Kingma & Ba 2015, Algorithm 1) with YOUR variant's decay rates: {variant:betas}

    params, grads: lists of arrays of equal shapes; state = (m, v, t): lists of first and second
    moments and the number of steps taken so far (0 before the first). eps = EPS.
    -> (new params, (new m, new v, t + 1)), with the bias-corrected moments of step t + 1.
    """
    m, v, t = state
    # BEGIN EXERCISE adam_step: Kingma & Ba Algorithm 1: moments, bias correction, then the step
    b1, b2 = BETAS
    t = t + 1
    m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads)]
    v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads)]
    new = [p - lr * (mi / (1 - b1**t)) / (np.sqrt(vi / (1 - b2**t)) + EPS) for p, mi, vi in zip(params, m, v)]
    return new, (m, v, t)
    # END EXERCISE


def train_epoch(params, loss_and_grad, x, batch_size, step, rng):
    """One epoch (section 4): shuffle x with ``rng``, then one ``step`` per minibatch, in order.

    loss_and_grad(params, batch) -> (loss, grads); step(params, grads) -> new params.
    Every row of x is used exactly once; the last batch holds the remainder (smaller) if
    batch_size does not divide N. x: (N, D) -> the params after the epoch.
    """
    # BEGIN EXERCISE train_epoch: section 4, eq. 15: shuffle, then minibatches, a gradient step each
    shuffled = x[rng.permutation(x.shape[0])]
    for start in range(0, x.shape[0], batch_size):
        _, grads = loss_and_grad(params, shuffled[start:start + batch_size])
        params = step(params, grads)
    return params
    # END EXERCISE
