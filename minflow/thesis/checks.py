"""Input checks of the thesis room: reject, never coerce, and name the argument.

``np.asarray(x, dtype=float)`` would drop the imaginary part of a complex score, read the
string "1.5" as a number and truncate nothing but say nothing either; these checks refuse
such input with a ``TypeError`` naming the argument (a ``ValueError`` for a wrong shape or
value), so a result computed from it is never silently wrong.
"""
import numbers

import numpy as np


def real_array(values, name, ndim=None):
    """``values`` as a float64 array of real numbers (ints and floats; no bools, complex, strings).

    ndim: the required number of dimensions (None: any). NaN and inf are left to the caller.
    """
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name}: expected an array of real numbers, got {type(values).__name__} {values!r:.40}")
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as err:  # ragged nested lists
        raise ValueError(f"{name}: could not be read as an array ({err})") from None
    if arr.dtype.kind not in "iuf":
        what = {"b": "booleans", "c": "complex numbers", "O": "Python objects"}.get(arr.dtype.kind, "text or bytes")
        raise TypeError(f"{name}: expected real numbers, got {what} (dtype {arr.dtype})")
    if ndim is not None and arr.ndim != ndim:
        shape = {0: "a scalar", 1: "a 1-D array (N,)", 2: "a 2-D array (D, D)"}.get(ndim, f"{ndim} dimensions")
        raise ValueError(f"{name}: expected {shape}, got shape {arr.shape}")
    with np.errstate(over="ignore"):
        out = arr.astype(np.float64)
    if arr.dtype.kind == "f" and np.any(np.isfinite(arr) & ~np.isfinite(out)):
        raise ValueError(f"{name}: values overflow float64")
    return out


def real_number(value, name, minimum=-np.inf, maximum=np.inf, open_interval=False):
    """``value`` as a finite float in [minimum, maximum] ((minimum, maximum) when ``open_interval``).

    A bool, a string, a complex number or None is a ``TypeError``; NaN, inf or a value out of
    range a ``ValueError``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r:.40}")
    value = float(value)
    inside = minimum < value < maximum if open_interval else minimum <= value <= maximum
    if not np.isfinite(value) or not inside:
        low, high = ("(", ")") if open_interval else ("[", "]")
        raise ValueError(f"{name}: expected a finite number in {low}{minimum:.6g}, {maximum:.6g}{high}, got {value}")
    return value
