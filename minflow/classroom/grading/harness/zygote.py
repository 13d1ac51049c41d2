"""The grading child: runs a student's exercises in a clean copy of the library, one process each.

    python -I zygote.py CLEAN_ROOT JOB_DIR OUT_DIR EXERCISE_TIMEOUT CASE_TIMEOUT NAME [NAME ...]

Copied by the grader (``grading/sandbox.py``) into a temporary folder with ``tasks.py`` and started
with ``-I``: no environment, no user site, no script folder on ``sys.path``. It imports NumPy,
SciPy and autograd once, drops every other minflow from the import path (an editable install of
the teacher's copy included), imports the clean copy at CLEAN_ROOT, then forks one process per
exercise, with its own time limit and memory limit (the grader kills the process group, leftovers
included, when this process ends). The fork runs the exercise's cases (the
tasks named in JOB_DIR/<name>.json, inputs JOB_DIR/<name>.<k>.npz) and writes each case's
outputs as soon as it has them (OUT_DIR/<name>.<k>.json and .npz); this process writes
OUT_DIR/<name>.status.json when the fork has ended or been killed. Nothing here knows an
expected value: the grader compares the outputs in its own process.
"""
import importlib.util
import json
import os
import signal
import sys
import time

MEMORY_LIMIT = 3 * 2**30


def _isolate(clean_root, here):
    """sys.path: the clean copy first, no other folder that holds a minflow package; no editable finder."""
    keep = [p for p in sys.path if not os.path.isfile(os.path.join(p or ".", "minflow", "__init__.py"))]
    sys.path[:] = [clean_root] + [p for p in keep if p != here]
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


def _run_exercise(tasks, name, job_dir, out_dir, case_timeout):
    """In the fork: every case of ``name``, each result written as soon as it is known."""
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    with open(os.path.join(job_dir, f"{name}.json")) as f:
        job = json.load(f)
    signal.signal(signal.SIGALRM, _alarm)
    for k, case in enumerate(job["cases"]):
        signal.setitimer(signal.ITIMER_REAL, case_timeout)
        try:
            inputs = tasks.load_inputs(os.path.join(job_dir, f"{name}.{k}.npz"))
            record = tasks.run_case(case["task"], inputs, case["params"])
        except CaseTimeout:
            record = {"status": "timeout", "message": f"took longer than {case_timeout:g} s"}
        except BaseException as err:  # noqa: BLE001 - the student's code may raise anything
            record = tasks.error_record(err)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            tasks.save_outputs(os.path.join(out_dir, f"{name}.{k}"), record)
        except BaseException as err:  # noqa: BLE001 - an output that cannot be saved is the case's error
            tasks.save_outputs(os.path.join(out_dir, f"{name}.{k}"), tasks.error_record(err))
    os._exit(0)


def _wait(pid, limit):
    """(exit code or None, signal or None, timed out) of the fork ``pid``, killed after ``limit`` s."""
    start = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if time.monotonic() - start > limit:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            os.waitpid(pid, 0)
            return None, True
        time.sleep(0.002)


def main(argv):
    clean_root, job_dir, out_dir = argv[1:4]
    exercise_timeout, case_timeout, names = float(argv[4]), float(argv[5]), argv[6:]
    here = os.path.dirname(os.path.abspath(__file__))
    _isolate(clean_root, here)
    tasks = _load_tasks(here)
    tasks.preload(clean_root)
    for name in names:
        open(os.path.join(out_dir, f"{name}.started"), "w").close()
        start = time.monotonic()
        sys.stdout.flush(), sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _run_exercise(tasks, name, job_dir, out_dir, case_timeout)
        code, timed_out = _wait(pid, exercise_timeout)
        status = {"exit": code, "timed_out": timed_out, "seconds": round(time.monotonic() - start, 3)}
        with open(os.path.join(out_dir, f"{name}.status.tmp"), "w") as f:
            json.dump(status, f)
        os.replace(os.path.join(out_dir, f"{name}.status.tmp"), os.path.join(out_dir, f"{name}.status.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
