"""Worker processes that end when their parent ends, however it ends (even ``kill -9``).

A ``ProcessPoolExecutor`` worker whose parent is killed would otherwise run on, finishing and
writing cells that nobody collects. Every worker of ``pool`` therefore, as it starts:

1. asks the Linux kernel to send it SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``);
2. exits at once if the parent is already gone (it died before step 1 took effect);
3. runs a daemon thread that polls ``os.getppid()`` every POLL_SECONDS and exits the process
   when the parent changes: the portable fallback (macOS, other POSIX systems).
"""
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
POLL_SECONDS = 0.5


def pool(workers):
    """A spawn-context process pool of ``workers`` processes, each tied to this process's life."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=tie_to_parent, initargs=(os.getpid(),))


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
