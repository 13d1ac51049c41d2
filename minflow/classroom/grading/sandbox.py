"""Run a student's exercises where the student's code cannot reach the grader: a bubblewrap sandbox.

``bwrap`` (Debian's ``bubblewrap``, what Flatpak uses) starts the grading child
(``harness/zygote.py``) with no network, its own PID, IPC and UTS namespaces and a root folder
that holds only: a read-only Python (its own site-packages hidden), a read-only folder with
NumPy, SciPy, autograd and threadpoolctl (never the teacher's site-packages, its editable-install finder or
``.pth`` files), the read-only harness, the student's clean copy and the cases, all read-only,
and a private ``/tmp``. The child is the namespace's PID 1 (``--as-pid-1``: no bwrap command line
with the grader's paths to read in /proc, and the student's code cannot kill or stop it). When the
grader runs as root the child drops to a user of its own, so that the process limit applies. Limits: CPU time, memory, file size, open files and processes, a
wall-clock watchdog per exercise here in the grader and a time budget per student; when the
child ends, the whole sandbox ends with it (nothing outlives it, ``setsid`` included).

The child hands back lines of raw numbers only (``protocol.py``); the grader judges them. If the
child dies, a fresh one (from the same read-only harness) runs the exercises not yet started.
Without ``bwrap`` (``unsandboxed=True``: practice only) the same child runs as a plain process.
"""
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import protocol
from .child import Child

HARNESS = Path(__file__).resolve().parent / "harness"
EXERCISE_TIMEOUT, CASE_TIMEOUT, STUDENT_BUDGET = 20.0, 10.0, 120.0
INSTALL = "apt-get install bubblewrap"
LIMITS = {"RLIMIT_CORE": 0, "RLIMIT_FSIZE": 64 * 2**20, "RLIMIT_NOFILE": 256, "RLIMIT_AS": 4 * 2**30}
PROCESSES = 64                   # RLIMIT_NPROC of the sandbox's own user (when the grader is root)
LIBRARIES = ("numpy", "scipy", "autograd", "threadpoolctl")  # the library's dependencies, matplotlib aside
INSIDE = "/sandbox"


class SandboxMissing(RuntimeError):
    """Grading for marks asked for the sandbox and ``bwrap`` cannot run here."""


def bwrap_path():
    """The bwrap to use: $MINFLOW_BWRAP if set ('' means none), else the one on PATH."""
    if "MINFLOW_BWRAP" in os.environ:
        return os.environ["MINFLOW_BWRAP"] or None
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=4)
def _probe(bwrap):
    """'' if ``bwrap`` starts a sandbox with every namespace here, else why not."""
    try:
        proc = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    return "" if proc.returncode == 0 else proc.stderr.strip()[-300:] or f"exit code {proc.returncode}"


def unavailable():
    """'' if the sandbox can run, else the reason (naming how to install it)."""
    bwrap = bwrap_path()
    if not bwrap:
        return f"bubblewrap (bwrap) is not installed: `{INSTALL}` (Debian, Ubuntu), or your distribution's bubblewrap"
    why = _probe(bwrap)
    return f"bwrap ({bwrap}) cannot start a sandbox here: {why}" if why else ""


def require():
    """Raise SandboxMissing, with how to install it, unless the sandbox can run."""
    why = unavailable()
    if why:
        raise SandboxMissing(f"grading for marks needs the sandbox, and {why}. Practice grading without "
                             "it: --unsandboxed (the scores are marked as such; students' code can then "
                             "read your files and forge its results)")


def _site_entries():
    """(host path, name) of the packages (or single modules) the library needs, and their bundled libraries."""
    import importlib.util
    out = []
    for name in LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec.submodule_search_locations:
            folder = Path(spec.submodule_search_locations[0])
            out += [(folder, name)] + [(p, p.name) for p in [folder.parent / f"{name}.libs"] if p.is_dir()]
        else:
            out.append((Path(spec.origin), Path(spec.origin).name))
    return out


def _python():
    """(the interpreter's real executable, its installation's prefix)."""
    exe = Path(os.path.realpath(sys.executable))
    prefix = Path(os.path.realpath(sys.base_prefix))
    return exe, prefix


def _system_binds():
    """/usr read-only; /lib, /lib64, /bin as the links (or folders) they are on this machine."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/lib", "/lib64", "/bin", "/lib32", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _python_binds(exe, prefix):
    """The Python installation at its own path (parents 0755, its site-packages hidden)."""
    args = []
    for parent in reversed(prefix.parents[:-1]):
        if not str(parent).startswith("/usr"):
            args += ["--perms", "0755", "--dir", str(parent)]
    if not str(prefix).startswith("/usr"):
        args += ["--ro-bind", str(prefix), str(prefix)]
    site = prefix / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    if site.is_dir():
        args += ["--tmpfs", str(site)]
    if prefix not in exe.parents and not str(exe).startswith("/usr"):
        args += ["--ro-bind", str(exe), str(exe)]
    return args


def sandbox_user(sandboxed):
    """The user the sandboxed child becomes when the grader is root: one of its own per grading process
    (so RLIMIT_NPROC counts only this sandbox's processes); None otherwise."""
    return 100000 + os.getpid() if sandboxed and os.geteuid() == 0 else None


def bwrap_command(bwrap, clean, job, config, uid=None):
    """The bwrap command line that runs the child on ``clean`` and ``job`` (host folders), as ``uid``."""
    exe, prefix = _python()
    spaces = (["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if uid is not None else ["--unshare-all"])
    args = [bwrap, *spaces, "--as-pid-1", "--die-with-parent", "--new-session", *_system_binds(),
            *_python_binds(exe, prefix),
            "--dir", f"{INSIDE}/site"]
    for host, name in _site_entries():
        args += ["--ro-bind", str(host), f"{INSIDE}/site/{name}"]
    args += _hidden(prefix)
    args += ["--ro-bind", str(HARNESS), f"{INSIDE}/harness", "--ro-bind", str(clean), f"{INSIDE}/clean",
             "--ro-bind", str(job), f"{INSIDE}/job", "--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--tmpfs", "/tmp", "--chdir", "/tmp"]
    inside = dict(config, clean=f"{INSIDE}/clean", job=f"{INSIDE}/job", site=f"{INSIDE}/site", pidns=True, uid=uid)
    return args + [str(exe), "-I", "-S", "-B", f"{INSIDE}/harness/zygote.py", json.dumps(inside)]


def _hidden(prefix):
    """An empty tmpfs over the teacher's checkout and virtual environment, should they lie inside a
    folder the sandbox sees (/usr, the Python installation)."""
    seen = [Path("/usr"), prefix]
    teacher = [Path(__file__).resolve().parents[3], Path(os.path.realpath(sys.prefix))]
    return [arg for path in teacher if any(path == s or s in path.parents for s in seen)
            for arg in ("--tmpfs", str(path))]


def plain_command(clean, job, config):
    """The child as a plain process, no sandbox: practice grading only."""
    inside = dict(config, clean=str(clean), job=str(job), site=None, pidns=False, uid=None)
    return [sys.executable, "-I", "-B", str(HARNESS / "zygote.py"), json.dumps(inside)]


def _limits(processes):
    """preexec_fn: the resource limits of the child (and of everything it starts)."""
    def apply():
        for name, value in LIMITS.items():
            resource.setrlimit(getattr(resource, name), (value, value))
        if processes:
            resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    return apply


def run_exercises(clean, job, names, work, exercise_timeout=EXERCISE_TIMEOUT, case_timeout=CASE_TIMEOUT,
                  budget=STUDENT_BUDGET, sandboxed=True):
    """Run the exercises ``names``; a fresh child for those not started if one dies.

    -> {name: {"cases": {k: record}, "status": {...}} or {..., "lost": message}}."""
    results = {name: {"cases": {}} for name in names}
    remaining, end = list(names), time.monotonic() + budget
    bwrap, uid = bwrap_path() if sandboxed else None, sandbox_user(sandboxed)
    while remaining:
        config = dict(names=remaining, exercise_timeout=exercise_timeout, case_timeout=case_timeout)
        cmd = bwrap_command(bwrap, clean, job, config, uid) if sandboxed else plain_command(clean, job, config)
        started = Child(cmd, remaining, results, exercise_timeout, end, Path(work),
                        _limits(PROCESSES if uid is not None else 0), uid).run()
        if not started and time.monotonic() < end:  # no student code runs before a start: the machine's fault
            raise RuntimeError(_start_failure(work))
        if not started:
            for name in remaining:
                results[name]["lost"] = "not run: the submission used up its time budget"
            break
        remaining = [n for n in remaining if n not in started]
    return results


def _start_failure(work):
    path = Path(work) / "child.log"
    tail = path.read_bytes()[-400:].decode(errors="replace") if path.is_file() else ""
    return f"the grading child failed to start, a problem of the grading machine: {protocol.clean_text(tail, 300)}"
