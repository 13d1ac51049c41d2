"""Where the runner's tasks run: worker processes tied to the parent, their threads, or a Dask cluster.

Threads: with W workers on C cores each worker uses ``threads_per_worker(W)`` = max(1, C // W)
threads of the speed room (``minflow.set_threads``) and as many BLAS threads, so W workers
never run more than C threads together; the parent uses the same number for its own work.

Worker processes end when their parent ends, however it ends (even ``kill -9``).

A ``ProcessPoolExecutor`` worker whose parent is killed would otherwise run on, finishing and
writing cells that nobody collects. Every worker of ``pool`` therefore, as it starts:

1. asks the Linux kernel to send it SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``);
2. exits at once if the parent is already gone (it died before step 1 took effect);
3. runs a daemon thread that polls ``os.getppid()`` every POLL_SECONDS and exits the process
   when the parent changes: the portable fallback (macOS, other POSIX systems).

A Dask cluster (``dask_executor``) is not ours: its workers outlive the runner. They never see the
run folder: a task returns what it computed (a trained model's checkpoint bytes and record, a cell's
row and kept values) to the runner, which writes it (``runner``), and a cell task gets its model as
bytes. So the workers need no shared disk, only their own temporary folder. When the runner (the
client) dies, the scheduler releases its tasks: queued cells never start, a running one finishes and
its result is dropped; nothing is written after the runner is gone, and a resume recomputes it.
"""
import ctypes
import multiprocessing
import numbers
import os
import signal
import socket
import sys
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from ... import available_cores, set_threads, threads

BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
CONNECT_SECONDS = 5   # a Dask scheduler answers in well under a second; nothing answering is an error by then
POLL_SECONDS = 0.5


cores = available_cores  # the cores this process may run on: the speed room's one definition, by the package face


def useful_workers(workers, name="workers", cap=True):
    """``workers`` (an int >= 1), capped at the cores with a warning: more processes than cores only compete
    for them, and each holds its own model and test sets in memory (1000 asked for ~30 GiB)."""
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {workers!r}")
    if cap and workers > cores():
        warnings.warn(f"{name}: {workers} processes on {cores()} cores would only compete for them (and each holds "
                      f"a model and its test sets in memory); using {cores()}", RuntimeWarning, stacklevel=3)
        return cores()
    return int(workers)


def threads_per_worker(workers):
    """max(1, C // workers) on C cores, and never more than ``minflow.threads()`` (a cap set by the user)."""
    return max(1, min(threads(), cores() // workers))


@contextmanager
def thread_budget(n):
    """Within: the speed room at ``n`` threads, and BLAS at ``n`` in the processes started here
    (the environment they inherit); both restored after."""
    before, saved = threads(), {k: os.environ.get(k) for k in BLAS_ENV}
    set_threads(n)
    os.environ.update({k: str(n) for k in BLAS_ENV})
    try:
        yield n
    finally:
        set_threads(before)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def pool(workers, n_threads=1):
    """A spawn-context process pool of ``workers`` processes, each tied to this process's life and
    running the speed room at ``n_threads`` threads.

    The processes start here, with SIGINT ignored while they are spawned: an ignored signal stays ignored
    through exec, and Python then installs no KeyboardInterrupt handler, so a Ctrl-C that arrives while a
    worker is still importing (before ``start_worker`` runs) cannot print a worker's traceback."""
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=start_worker, initargs=(os.getpid(), n_threads))
    main = threading.current_thread() is threading.main_thread()  # only the main thread may set a handler
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        for _ in range(workers):
            executor.submit(int)  # each submit with no idle worker spawns one
    finally:
        if main and previous is not None:  # None: a handler not set from Python, which this cannot restore
            signal.signal(signal.SIGINT, previous)
    return executor


def start_worker(parent_pid, n_threads):
    """A worker's initializer: tied to its parent (``tie_to_parent``), ``n_threads`` threads. Ctrl-C is the
    parent's to handle: a worker ignores SIGINT and finishes its task (the parent says how to resume)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tie_to_parent(parent_pid)
    set_threads(n_threads)


@contextmanager
def dask_executor(address):
    """Within: a ``concurrent.futures`` executor on the Dask cluster whose scheduler is at ``address``
    (``with dask_executor("tcp://host:8786") as ex: run(config, out, executor=ex)``).

    The cells are independent and keyed, so they run there unchanged; their results come back to this
    process, which writes them, so the workers need no access to ``out_dir`` (no shared file system).
    The client is closed on leaving; the cluster runs on."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError("scheduler: Dask is not installed; pip install -e .[dask]") from None
    _probe(address)  # Dask's Client waits for ever on a port that accepts and says nothing
    try:
        client = Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise ValueError(f"scheduler: no Dask scheduler answers at {address!r} within {CONNECT_SECONDS} s "
                         f"({type(err).__name__}: {str(err)[:200]}); start one (`dask scheduler`) or check the "
                         "address") from None
    with client:
        yield client.get_executor(pure=False)


def _probe(address):
    """A tcp:// scheduler speaks first (its handshake): nothing within CONNECT_SECONDS is a ValueError."""
    if not isinstance(address, str):
        raise TypeError(f"scheduler: expected an address such as 'tcp://host:8786', got {address!r}")
    if "://" in address and not address.startswith("tcp://"):
        return  # tls://, ucx://...: left to Dask's own timeout
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    if not port.isdigit():
        raise ValueError(f"scheduler: expected an address such as 'tcp://host:8786', got {address!r}")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=CONNECT_SECONDS) as conn:
            conn.settimeout(CONNECT_SECONDS)
            if not conn.recv(1):
                raise ConnectionError("closed the connection at once")
    except OSError as err:  # refused, unreachable, or silent (socket.timeout is an OSError)
        why = "nothing was said" if isinstance(err, socket.timeout) else (err.strerror or str(err))
        raise ValueError(f"scheduler: no Dask scheduler answers at {address!r} within {CONNECT_SECONDS} s "
                         f"({why}); start one (`dask scheduler`) or check the address") from None


def tie_to_parent(parent_pid):
    """End this process when the process ``parent_pid`` (its parent) dies."""
    _ask_kernel(signal.SIGTERM)
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), daemon=True, name="minflow-parent-watch").start()


def _ask_kernel(sig):
    """prctl(PR_SET_PDEATHSIG, sig) on Linux; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid):
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    os._exit(1)
