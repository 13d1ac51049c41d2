"""Gradient engines and fast kernels: the speed layer under the readable reference code.

The reference code (``bijectors/coupling.py``, ``conditioner.py``, ``flow.py``) is what
students read; everything here computes the *same numbers* faster and is checked
against that reference in ``tests/test_engines.py``.

* ``manual``     - the backward pass of the affine coupling and its MLP, derived by hand
                   (a lesson in itself: every chain-rule step is written out);
* ``primitives`` - one autograd primitive per coupling layer whose VJP is ``manual``'s
                   backward pass, so autograd still differentiates whole flows;
* ``minflow.fast`` - evaluation (log_prob) in place, chunked, in preallocated buffers.

Engines are selected per fit: ``minflow.fit(flow, data, rng=rng, engine="manual")``.
"""
import numpy as np


def array_module(x):
    """The raw array module of x: ``numpy`` for NumPy arrays, ``cupy`` for CuPy arrays.

    The speed code calls ufuncs with ``out=`` (in place), which NumPy and CuPy share
    but the array-API standard does not have, so it talks to the module directly.
    """
    if isinstance(x, np.ndarray):
        return np
    if type(x).__module__.startswith("cupy"):
        import cupy

        return cupy
    raise TypeError(f"x: the fast engines take NumPy or CuPy arrays, got {type(x).__name__}")


def covered(layers):
    """True if every layer is an AffineCoupling (what the hand-derived engine implements)."""
    from ..bijectors import AffineCoupling

    return all(type(layer) is AffineCoupling for layer in layers)
