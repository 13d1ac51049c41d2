"""The array namespace the compute code is written against.

Every bijector, the conditioner and the prior call ``xp = namespace(x)`` and
then use only ``xp.<function>`` and operators. The same lines then run on

* NumPy arrays (through ``autograd.numpy``, so ``autograd.grad`` can trace them),
* CuPy arrays on a GPU (no autograd there: evaluation and the hand-derived engine),
* any array-API namespace such as ``array_api_strict`` (used by the tests to
  prove that nothing NumPy-only slipped in).

Only functions in both NumPy 2 and the array-API standard are used:
``concat``, ``exp``, ``tanh``, ``log``, ``sum``, ``maximum``, ``where``, ``take``, ``tril``, ``@``.
The bijectors keep their fixed index arrays (masks, permutations) in NumPy; every namespace
returned here has a ``take`` that accepts them, so the formulas need no conversions.
"""
import functools
import os
import types

import autograd.numpy as anp
import numpy as np
from autograd.tracer import Box

BACKEND_ENV = "MINFLOW_BACKEND"


# autograd's NumPy, with ``concat`` pointing at autograd's differentiable ``concatenate``
# (its own ``concat`` is wrapped without a gradient rule).
AUTOGRAD_NUMPY = types.SimpleNamespace(**{k: getattr(anp, k) for k in dir(anp) if not k.startswith("_")})
AUTOGRAD_NUMPY.concat = anp.concatenate
# autograd defines no gradient for ``take``; integer indexing has one.
AUTOGRAD_NUMPY.take = lambda a, indices, axis=0: a[(slice(None),) * axis + (indices,)]
AUTOGRAD_NUMPY.__name__ = "autograd.numpy"


def namespace(*arrays):
    """Return the array namespace of ``arrays`` (autograd's NumPy for NumPy arrays)."""
    for a in arrays:
        if isinstance(a, (np.ndarray, Box)):
            continue
        if type(a).__module__.startswith("cupy"):
            import cupy

            return _foreign(cupy)
        get_ns = getattr(a, "__array_namespace__", None)
        if get_ns is not None:
            return _foreign(get_ns())
    return AUTOGRAD_NUMPY


class _Foreign:
    """``module`` (CuPy, an array-API namespace) with a ``take`` that accepts NumPy indices,
    and ``concat`` where an older CuPy only has ``concatenate``; everything else is the module's."""

    def __init__(self, module):
        self.module, self.__name__ = module, module.__name__

    def take(self, a, indices, axis=0):
        return self.module.take(a, self.module.asarray(indices), axis=axis)

    def __getattr__(self, name):
        if name == "concat" and not hasattr(self.module, "concat"):
            return self.module.concatenate
        return getattr(self.module, name)


_foreign = functools.cache(_Foreign)


def default_backend():
    """Name of the backend asked for by ``$MINFLOW_BACKEND`` ("numpy" or "cupy")."""
    name = os.environ.get(BACKEND_ENV, "numpy").strip().lower()
    if name not in ("numpy", "cupy"):
        raise ValueError(f"${BACKEND_ENV}: expected 'numpy' or 'cupy', got {name!r}")
    return name


DEFAULT_BACKEND = default_backend()  # read once, when minflow is imported: where every new Flow lives


def to_backend(a, backend):
    """Move array ``a`` to ``backend`` ("numpy" or "cupy")."""
    if backend == "numpy":
        return to_numpy(a)
    if backend == "cupy":
        try:
            import cupy
        except ImportError as err:
            raise ValueError("backend='cupy' needs CuPy installed (pip install cupy-cuda12x)") from err
        return cupy.asarray(a)
    raise ValueError(f"backend: expected 'numpy' or 'cupy', got {backend!r}")


def to_numpy(a):
    """Return ``a`` as a NumPy array (copies from the GPU where needed)."""
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    return np.asarray(a)
