"""Cases, comparisons and the messages a student reads.

    ck = Checker(workspace)
    with ck.case("random s (N=5, d_b=3)"):
        compare(coupling.affine_log_det(s), expected, "affine_log_det(s)", inputs={"s": s},
                mistakes=[(-expected, "check the sign of the log-determinant ...")])

A case passes if its block runs without an exception. A stub's ``NotImplementedError``, a wrong
value (``Mismatch``), an exception in the student's code and a case running past its time limit
are each recorded with a message; none of them stops the other cases.
"""
import signal
import traceback
from contextlib import contextmanager
from pathlib import Path

import numpy as np

CASE_TIMEOUT = 30.0


class Mismatch(Exception):
    """A wrong result: ``message`` says which input, expected vs got; ``hint`` the likely mistake."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.message, self.hint = message, hint


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException, so that the student's ``except Exception`` cannot swallow it."""


def _on_alarm(signum, frame):
    raise CaseTimeout()


class Checker:
    """Runs the cases of one exercise and records them as dicts: label, status, message, hint."""

    def __init__(self, workspace, case_timeout=CASE_TIMEOUT):
        self.workspace = str(Path(workspace).resolve())
        self.case_timeout = case_timeout
        self.cases = []

    @contextmanager
    def case(self, label, error_hint=None):
        """One scored case; ``error_hint`` is shown if the student's code raises an exception."""
        record = {"label": label, "status": "pass", "message": "", "hint": None}
        use_alarm = hasattr(signal, "setitimer")
        if use_alarm:
            previous = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.case_timeout)
        try:
            yield
        except NotImplementedError as err:
            record.update(status="not implemented", message=str(err) or "NotImplementedError")
        except Mismatch as err:
            record.update(status="fail", message=err.message, hint=err.hint)
        except CaseTimeout:
            record.update(status="fail", message=f"took longer than {self.case_timeout:g} s",
                          hint="an endless loop, or a loop over rows where one array expression would do?")
        except (Exception, SystemExit) as err:  # the student's code may raise anything: report it, go on
            record.update(status="error", message=f"raised {type(err).__name__}: {err}{self._where(err)}",
                          hint=error_hint)
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        self.cases.append(record)

    def _where(self, err):
        """' (file.py, line N, in function)' for the innermost frame inside the workspace."""
        frames = [f for f in traceback.extract_tb(err.__traceback__)
                  if str(Path(f.filename).resolve()).startswith(self.workspace)]
        if not frames:
            return ""
        f = frames[-1]
        rel = Path(f.filename).resolve().relative_to(self.workspace)
        return f" (in {rel}, line {f.lineno}, {f.name}: {(f.line or '').strip()})"


def _fmt(value):
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{float(arr):.6g}" if np.issubdtype(arr.dtype, np.number) else repr(value)
    return np.array2string(arr, precision=4, threshold=8, edgeitems=3, max_line_width=100)


def _as_array(got, call):
    if got is None:
        raise Mismatch(f"{call} returned None", "did you forget the `return` statement?")
    if isinstance(got, tuple) and len(got) != 1:
        raise Mismatch(f"{call} returned a tuple of {len(got)} values, expected one array")
    try:
        return np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mismatch(f"{call} returned {type(got).__name__}, expected numbers") from None


def _close(a, b, rtol, atol):
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def _which_mistake(got, mistakes, rtol, atol):
    for candidate, hint in mistakes:
        try:
            cand = np.asarray(candidate() if callable(candidate) else candidate, dtype=np.float64)
        except Exception:
            continue
        if _close(got, cand, rtol, atol):
            return hint
    return None


def _input_rows(inputs, row, n_rows):
    """'; input x[row] = [...], s[row] = [...]' for inputs whose rows are the output's rows;
    small inputs in full, others by shape."""
    parts = []
    for name, value in (inputs or {}).items():
        arr = np.asarray(value)
        if arr.dtype == object:
            continue
        if arr.ndim >= 1 and row is not None and arr.shape[0] == n_rows:
            parts.append(f"{name}[{row}] = {_fmt(arr[row])}")
        elif arr.size <= 6:
            parts.append(f"{name} = {_fmt(arr)}")
        else:
            parts.append(f"{name}: shape {arr.shape}")
    return ("; input " + ", ".join(parts)) if parts else ""


def compare(got, expected, call, inputs=None, mistakes=(), rtol=1e-7, atol=1e-10, hint=None):
    """Raise ``Mismatch`` unless ``got`` equals ``expected`` (shape and values).

    call: how the student's function was called ("affine_log_det(s)"); inputs: name -> array,
    shown for the worst row; mistakes: (wrong answer or callable, hint) pairs: the hint of the
    first one equal to ``got`` is shown, else ``hint``.
    """
    got = _as_array(got, call)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        guess = _which_mistake(got, mistakes, rtol, atol)
        raise Mismatch(f"{call} returned shape {got.shape}, expected shape {expected.shape}"
                       f"{_input_rows(inputs, None, None)}", guess or hint)
    if _close(got, expected, rtol, atol):
        return
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    err = np.where(bad, np.nan_to_num(np.abs(got - expected), nan=np.inf, posinf=np.inf), -1.0)
    idx = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    where = "[" + ", ".join(str(i) for i in idx) + "]" if idx else ""
    count = f" ({int(np.sum(bad))} of {bad.size} values wrong)" if bad.size > 1 else ""
    rows = _input_rows(inputs, idx[0] if idx else None, expected.shape[0] if expected.ndim else None)
    message = f"{call}{where}: expected {_fmt(expected[idx])}, got {_fmt(got[idx])}{count}{rows}"
    guess = _which_mistake(got, mistakes, rtol, atol) or hint
    if guess is None and not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        guess = "got inf or NaN where the answer is finite: an overflow, log(0) or a division by zero?"
    raise Mismatch(message, guess)


def require(condition, message, hint=None):
    if not condition:
        raise Mismatch(message, hint)


@contextmanager
def patched(module, **replacements):
    """Temporarily replace attributes of the student's ``module`` by reference implementations,
    so that a check grades one exercise and a stub or bug in another cannot take it down."""
    old = {name: getattr(module, name) for name in replacements}
    for name, value in replacements.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(module, name, value)
