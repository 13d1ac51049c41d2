"""Both cores for the elementwise work, and never more threads than cores.

NumPy's matrix products run on every core (OpenBLAS threads), but its elementwise functions
(tanh, exp, the activations) on one. A flow spends a large share of its time in those, so the
speed room splits the rows of a batch into *blocks*, runs the blocks on a small pool of Python
threads (NumPy releases the GIL inside its kernels), and limits BLAS to one thread while they
run: ``threads`` Python threads x 1 BLAS thread = ``threads`` cores, never oversubscribed.

The blocks depend only on the number of rows, never on the number of threads, and results are
combined in block order, so every thread count gives bit-identical numbers.

    minflow.speed.parallel.set_threads(1)     # or the environment variable MINFLOW_THREADS=1
"""
import numbers
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

THREADS_ENV = "MINFLOW_THREADS"
_state = {"threads": None, "pool": None, "controller": None}
_lock = threading.Lock()


def available_cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads():
    """The number of threads the speed room uses: set_threads, else $MINFLOW_THREADS, else the cores."""
    if _state["threads"] is None:
        value = os.environ.get(THREADS_ENV, "").strip()
        if value and not (value.isdigit() and int(value) >= 1):
            raise ValueError(f"${THREADS_ENV}: expected a whole number >= 1, got {value!r}")
        _state["threads"] = _capped(int(value), f"${THREADS_ENV}") if value else available_cores()
    return _state["threads"]


def _capped(n, name):
    """n, or the cores this process may use if n is more: threads beyond the cores only wait (a warning says so)."""
    cores = available_cores()
    if n > cores:
        warnings.warn(f"{name}: {n} threads on {cores} cores would only slow the work down; using {cores}",
                      RuntimeWarning, stacklevel=3)
        return cores
    return n


def set_threads(n):
    """Use ``n`` threads (an integer >= 1, at most the cores: more are capped with a warning) from now on."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n: expected an integer >= 1, got {n!r}")
    n = _capped(int(n), "n")
    with _lock:
        if _state["pool"] is not None:
            _state["pool"].shutdown()
        _state["threads"], _state["pool"] = n, None


def blocks(n_rows, rows_per_block):
    """[(start, stop), ...] covering range(n_rows) in blocks of ``rows_per_block`` (the last may be short)."""
    return [(i, min(i + rows_per_block, n_rows)) for i in range(0, n_rows, rows_per_block)]


def blas_one_thread():
    """A context in which BLAS uses one thread: the speed room's threads are its only parallelism.

    Without it, a BLAS that spins its own threads on a machine already busy with other work slows
    down many-fold (the README's quick start: 4 minutes instead of 25 s at a load of 6)."""
    with _lock:
        if _state["controller"] is None:
            _state["controller"] = ThreadpoolController()
    return _state["controller"].limit(limits=1, user_api="blas")


def map_blocks(fn, spans):
    """[fn(start, stop) for each span], run on the pool with BLAS at one thread; results in span order."""
    n = threads()
    with blas_one_thread():
        if n == 1 or len(spans) == 1:
            return [fn(a, b) for a, b in spans]
        with _lock:
            if _state["pool"] is None:
                _state["pool"] = ThreadPoolExecutor(n, thread_name_prefix="minflow")
            pool = _state["pool"]
        return list(pool.map(lambda span: fn(*span), spans))
