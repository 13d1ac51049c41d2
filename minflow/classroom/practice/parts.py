"""Pieces of the affine coupling (thesis sections 2.1.1-2.1.2, appendix section 3.2 on masking).

The coupling copies one part x_a of x and transforms the other part x_b (eq. 3); ``split`` and
``join`` cut x into the two parts and put them back, for odd D too. The network's raw log-scale
is bounded before use, so exp(s) cannot overflow. Reference:
https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91
"""
import numpy as np

from minflow.backend import namespace

# BEGIN VARIANT
COPY_PART = "first-floor"
S_BOUND = ("tanh", 2.0)
# END VARIANT


def copied_columns(dim):
    """The columns of x_a, the part the coupling copies, in increasing order: int array (d_a,).

    YOUR variant: {variant:copy_part}
    """
    cols = np.arange(dim)
    # BEGIN EXERCISE split_join: appendix 3.2 (masking): which columns are copied, for odd D too
    half = (dim + 1) // 2 if COPY_PART.endswith("ceil") else dim // 2
    if COPY_PART.startswith("first"):
        return cols[:half]
    if COPY_PART.startswith("last"):
        return cols[dim - half:]
    return cols[0::2] if COPY_PART == "even" else cols[1::2]
    # END EXERCISE


def split(x):
    """x: (N, D) -> x_a: (N, d_a) the copied columns, x_b: (N, d_b) the others, each in column order."""
    # BEGIN EXERCISE split_join: section 2.1.1: x_a = x[:, copied columns], x_b = x[:, the rest]
    idx_a = copied_columns(x.shape[1])
    idx_b = np.setdiff1d(np.arange(x.shape[1]), idx_a)
    return x[:, idx_a], x[:, idx_b]
    # END EXERCISE


def join(x_a, x_b):
    """The inverse of ``split``: x_a (N, d_a), x_b (N, d_b) -> x (N, d_a + d_b), columns back in place."""
    xp = namespace(x_a, x_b)
    # BEGIN EXERCISE split_join: undo split: every column back to its place (no assignment into arrays)
    dim = x_a.shape[1] + x_b.shape[1]
    idx_a = copied_columns(dim)
    order = np.argsort(np.concatenate([idx_a, np.setdiff1d(np.arange(dim), idx_a)]))
    return xp.take(xp.concat([x_a, x_b], axis=1), order, axis=1)
    # END EXERCISE


def bounded_scale(s_raw):
    """The log-scale s used in eq. 3, from the network's raw output: (N, d_b) -> (N, d_b).

    YOUR variant bounds it like this: {variant:s_bound}
    """
    xp = namespace(s_raw)
    # BEGIN EXERCISE bounded_scale: section 2.1.1: a smooth bound on s, so that exp(s) cannot overflow
    kind, c = S_BOUND
    if kind == "tanh":
        return c * xp.tanh(s_raw / c)
    return c * s_raw / (c + xp.abs(s_raw))
    # END EXERCISE


def inverse_log_det(s):
    """log|det J| of the coupling's INVERSE map y -> x (eq. 4), one value per row: (N, d_b) -> (N,).

    s: (N, d_b), the log-scale computed from y_a = x_a. Derive it: no formula is given here.
    """
    xp = namespace(s)
    # BEGIN EXERCISE inverse_log_det: derive it: the Jacobian of eq. 4 is triangular (section 2.1.2)
    return -xp.sum(s, axis=1)
    # END EXERCISE
