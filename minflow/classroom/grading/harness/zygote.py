"""The grading child: runs a student's exercises in a clean copy of the library, one process each.

    python -I [-S] zygote.py CONFIG_JSON

Started by the grader (``grading/sandbox.py``), normally inside a bubblewrap sandbox where this
folder is read-only. CONFIG_JSON: clean (the clean copy's root), job (the cases), names, the
timeouts, uid (drop to it first: a user of its own, so that the process limit applies), site (the
read-only folder of NumPy, SciPy and autograd, or None to keep the interpreter's own), pidns (True
inside the sandbox: this process may kill every other process it sees).

It imports NumPy, SciPy, autograd and the clean copy once (only the library's own code runs
here: a student's code sits inside functions), then forks one process per exercise. A fork
keeps only the write end of a pipe of its own (stdout and stderr go to /dev/null) and writes one
line of raw outputs per case (``tasks.record_line``); this process relays the lines to stdout
under the exercise's name, ``S name`` before and ``E name {status}`` after. It cannot be
read or written through /proc (not dumpable). When a fork ends or runs out of time, every other
process it left is killed before the next exercise starts. Nothing here judges: the grader
parses the lines with limits and compares the numbers in its own process.
"""
import ctypes
import importlib.util
import json
import math
import os
import select
import signal
import sys
import time

MEMORY_LIMIT = 3 * 2**30
LINE_LIMIT = 16 * 2**20       # bytes of one case's line; a longer one is dropped
EXERCISE_LIMIT = 48 * 2**20   # bytes relayed per exercise


def _drop_privileges(uid):
    """Become ``uid`` (and group ``uid``) for good, before anything else runs."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _prctl(option, value):
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _harden():
    """PR_SET_DUMPABLE 0: no other process of this user may open /proc/<this>/fd, mem or ptrace it.
    PR_SET_PDEATHSIG SIGKILL again (a change of user clears bwrap's): this dies when bwrap dies,
    and with it, as PID 1, the whole sandbox."""
    _prctl(4, 0)
    _prctl(1, int(signal.SIGKILL))


def _isolate(clean_root, here, site):
    """sys.path: the clean copy first, no other folder that holds a minflow package; no editable finder."""
    keep = [p for p in sys.path if not os.path.isfile(os.path.join(p or ".", "minflow", "__init__.py"))]
    sys.path[:] = [clean_root] + ([site] if site else []) + [p for p in keep if p != here]
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()
                        and "editable" not in getattr(f, "__name__", "").lower()]
    for name in [m for m in sys.modules if m == "minflow" or m.startswith("minflow.")]:
        del sys.modules[name]


def _load_tasks(here):
    spec = importlib.util.spec_from_file_location("_grading_tasks", os.path.join(here, "tasks.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CaseTimeout(BaseException):
    """Raised by the alarm inside a case; a BaseException, so ``except Exception`` does not catch it."""


def _alarm(signum, frame):
    raise CaseTimeout()


def _fork_setup(write_fd, config):
    """In the fork, before the student's code: only the pipe stays open; limits on memory and CPU."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, write_fd)
    os.closerange(write_fd + 1, 4096)
    if not config["pidns"]:
        os.setpgid(0, 0)
    import resource
    cpu = math.ceil(config["exercise_timeout"]) + 1
    for limit, value in ((resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT)), (resource.RLIMIT_CPU, (cpu, cpu + 1))):
        try:
            resource.setrlimit(limit, value)
        except (ValueError, OSError):
            pass


def _run_exercise(tasks, name, write_fd, config):
    """In the fork: every case of ``name``, each case's line written as soon as it is known."""
    _fork_setup(write_fd, config)
    with open(os.path.join(config["job"], f"{name}.json")) as f:
        job = json.load(f)
    signal.signal(signal.SIGALRM, _alarm)
    timeout = config["case_timeout"]
    for k, case in enumerate(job["cases"]):
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            inputs = tasks.load_inputs(os.path.join(config["job"], f"{name}.{k}.npz"))
            record = tasks.run_case(case["task"], inputs, case["params"])
        except CaseTimeout:
            record = {"status": "timeout", "message": f"took longer than {timeout:g} s"}
        except BaseException as err:  # noqa: BLE001 - the student's code may raise anything
            record = _safe_error(tasks, err)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            line = tasks.record_line(k, record)
        except BaseException as err:  # noqa: BLE001 - an output that cannot be encoded is the case's error
            line = tasks.record_line(k, _safe_error(tasks, err))
        os.write(write_fd, line) if len(line) < 65536 else _write_all(write_fd, line)
    os._exit(0)


def _safe_error(tasks, err):
    try:
        return tasks.error_record(err)
    except BaseException:  # noqa: BLE001 - an exception whose text cannot be formed
        return {"status": "error", "message": type(err).__name__}


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Relay:
    """Lines from a fork's pipe to stdout, ``R name <line>``, with limits on their size (linear time:
    a chunk is searched once, a line too long is dropped as it comes)."""

    def __init__(self, name, out):
        self.name, self.out, self.parts, self.size, self.sent, self.skipping = name.encode(), out, [], 0, 0, False

    def feed(self, chunk):
        while chunk:
            end = chunk.find(b"\n")
            if end < 0:
                self._keep(chunk)
                return
            self._keep(chunk[:end])
            if not self.skipping and self.sent + self.size < EXERCISE_LIMIT:
                self.out.write(b"".join([b"R ", self.name, b" ", *self.parts, b"\n"]))
                self.sent += self.size
            self.parts, self.size, self.skipping, chunk = [], 0, False, chunk[end + 1:]

    def _keep(self, piece):
        if not self.skipping:
            self.parts.append(piece)
            self.size += len(piece)
            if self.size > LINE_LIMIT:
                self.parts, self.size, self.skipping = [], 0, True


def _supervise(pid, read_fd, relay, config):
    """Relay the fork's lines until it ends or runs out of time. -> (exit code or None, timed out)."""
    deadline, code, timed_out = time.monotonic() + config["exercise_timeout"], None, False
    while code is None:
        if select.select([read_fd], [], [], 0.02)[0]:
            chunk = os.read(read_fd, 1 << 16)
            relay.feed(chunk) if chunk else None
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            code, timed_out = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), True
    _kill_leftovers(pid, config)
    _drain(read_fd, relay)
    return code, timed_out


def _kill_leftovers(pid, config):
    """Every process the exercise left (sleepers, a setsid daemon): in the sandbox all but this one."""
    try:
        os.kill(-1, signal.SIGKILL) if config["pidns"] else os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    while config["pidns"]:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break


def _drain(read_fd, relay, wait=0.5):
    """What is left in the pipe; a writer left outside the sandbox's reach gets ``wait`` seconds."""
    end = time.monotonic() + wait
    while time.monotonic() < end and select.select([read_fd], [], [], 0.02)[0]:
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            break
        relay.feed(chunk)
    os.close(read_fd)


def main(argv):
    config = json.loads(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as PID 1: no handler, so no signal of the student's reaches it
    if config.get("uid") is not None:
        _drop_privileges(config["uid"])
    _harden()
    here = os.path.dirname(os.path.abspath(__file__))
    _isolate(config["clean"], here, config.get("site"))
    tasks = _load_tasks(here)
    tasks.preload(config["clean"])
    out = os.fdopen(1, "wb", buffering=0)
    for name in config["names"]:
        out.write(f"S {name}\n".encode())
        read_fd, write_fd = os.pipe()
        start = time.monotonic()
        sys.stdout.flush(), sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _run_exercise(tasks, name, write_fd, config)
        os.close(write_fd)
        code, timed_out = _supervise(pid, read_fd, Relay(name, out), config)
        status = {"exit": code, "timed_out": timed_out, "seconds": round(time.monotonic() - start, 3)}
        out.write(f"E {name} {json.dumps(status)}\n".encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
