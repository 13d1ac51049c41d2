"""The raw array module of the speed code, which works in place (``out=``)."""
import numpy as np

from ..bijectors import AffineCoupling


def array_module(x):
    """``numpy`` for NumPy arrays, ``cupy`` for CuPy arrays.

    The speed code calls ufuncs with ``out=`` (in place), which NumPy and CuPy share but the
    array-API standard does not have, so it talks to the module directly.
    """
    if isinstance(x, np.ndarray):
        return np
    if type(x).__module__.startswith("cupy"):
        import cupy

        return cupy
    raise TypeError(f"x: the speed engines take NumPy or CuPy arrays, got {type(x).__name__}")


def couplings_only(layers):
    """True if every layer is an AffineCoupling (what the hand-derived backward pass implements)."""
    return all(type(layer) is AffineCoupling for layer in layers)
