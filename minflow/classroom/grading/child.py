"""One run of the grading child, watched from the grader: its lines parsed, its time limits kept.

``Child.run`` starts the command (the sandbox, or the plain child), reads its stdout in linear
time with a cap on every line and on the whole, hands each line to ``protocol.py`` and records
cases and statuses. The watchdog stops the child when the running exercise is past its limit
plus a grace (whatever the student did to the alarms or to the child), or when the student's
budget is spent; the whole session is killed when it ends, leftovers included.
"""
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

from . import protocol

GRACE, START_LIMIT = 5.0, 60.0   # seconds past an exercise's own limit; for the child to start
OUTPUT_LIMIT = 256 * 2**20       # bytes read from one child
LINE_LIMIT = protocol.ARRAY_BYTES * 3
CHILD_ENV = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "HOME": "/tmp",
             "MKL_NUM_THREADS": "1", "MINFLOW_THREADS": "1", "MPLBACKEND": "Agg", "LANG": "C.UTF-8"}


class Child:
    """One run of the child: its lines parsed into ``results``, watched against the time limits."""

    def __init__(self, cmd, names, results, exercise_timeout, end, work, preexec, uid=None):
        self.cmd, self.names, self.results, self.end, self.work = cmd, set(names), results, end, work
        self.limit, self.preexec, self.uid = exercise_timeout + GRACE, preexec, uid
        self.started, self.current, self.read = [], None, 0

    def run(self):
        """-> the exercises this child started (each with a status or a "lost" message)."""
        self.work.mkdir(parents=True, exist_ok=True)
        with open(self.work / "child.log", "ab") as log:
            proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                    env=dict(CHILD_ENV), cwd=self.work, start_new_session=True,
                                    preexec_fn=self.preexec)
            try:
                self._read(proc.stdout.fileno())
            finally:
                _kill(proc, self.uid)
        for name in self.started:
            if "status" not in self.results[name]:
                self.results[name].setdefault("lost", "the grading process ended while this exercise ran "
                                                      "(did your code kill its parent?)")
        return self.started

    def _deadline(self):
        running = self.current[1] + self.limit if self.current else self.since + START_LIMIT
        return min(running, self.end)

    def _read(self, fd):
        lines, self.since = Lines(self._line), time.monotonic()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                wait = self._deadline() - time.monotonic()
                if wait <= 0:
                    return self._stop()
                if not sel.select(min(wait, 1.0)):
                    continue
                chunk = os.read(fd, 1 << 20)
                self.read += len(chunk)
                if not chunk or self.read > OUTPUT_LIMIT:
                    return
                lines.feed(chunk)

    def _stop(self):
        """The watchdog: the running exercise ran past its limit, or the student's budget is spent."""
        if self.current:
            over = time.monotonic() >= self.end
            self.results[self.current[0]]["lost"] = (
                "stopped: the submission used up its time budget" if over else
                "stopped: the exercise ran past its time limit (an endless loop?) before this case finished")

    def _line(self, line):
        try:
            kind, name, data = protocol.parse_line(line, self.names)
            if kind == "S" and name not in self.started:
                self.started.append(name)
                self.current = (name, time.monotonic())
            elif kind == "R" and self.current and name == self.current[0]:
                k, record = protocol.case_record(data)
                self.results[name]["cases"][k] = record
            elif kind == "E" and self.current and name == self.current[0]:
                self.results[name]["status"] = protocol.status_record(data)
                self.current, self.since = None, time.monotonic()
        except protocol.Malformed:
            pass


class Lines:
    """Split a stream into lines for ``emit``, in linear time; a line over LINE_LIMIT is dropped."""

    def __init__(self, emit):
        self.emit, self.parts, self.size, self.skipping = emit, [], 0, False

    def feed(self, chunk):
        while chunk:
            end = chunk.find(b"\n")
            self._keep(chunk if end < 0 else chunk[:end])
            if end < 0:
                return
            if not self.skipping:
                self.emit(b"".join(self.parts))
            self.parts, self.size, self.skipping, chunk = [], 0, False, chunk[end + 1:]

    def _keep(self, piece):
        if not self.skipping:
            self.parts.append(piece)
            self.size += len(piece)
            if self.size > LINE_LIMIT:
                self.parts, self.size, self.skipping = [], 0, True


def _kill(proc, uid=None):
    """The child and everything in its sandbox, then reap it. The child (the namespace's PID 1) is
    killed by its pid on this side, bwrap's session with it, and when the sandbox has a user of its
    own, every process of that user: a signal from here reaches them all, whatever they did."""
    for pid in _children(proc.pid):
        _signal(pid)
    try:
        proc.wait(timeout=2.0)  # bwrap reaps the child it lost, then ends
    except subprocess.TimeoutExpired:
        pass
    _signal(-proc.pid)
    if uid is not None:
        for pid in _processes_of(uid):
            _signal(pid)
    proc.stdout.close()
    proc.wait()


def _signal(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _children(pid):
    """The pids of ``pid``'s children, from /proc (empty when it has ended)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            out += [int(p) for p in task.read_text().split()]
        except (OSError, ValueError):
            pass
    return out


def _processes_of(uid):
    """The pids of the processes whose real user is ``uid``."""
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(line.split()[1]) == uid:
            out.append(int(status.parent.name))
    return out
