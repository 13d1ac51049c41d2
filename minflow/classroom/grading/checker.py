"""Cases, comparisons and the messages a student reads.

A check of an exercise is a *plan*: ``plan_<name>(rng, variant) -> [Case, ...]``. Each case names
a task the child runs (``harness/tasks.py``) on inputs made here from ``rng``, and a ``judge``
that gets the task's outputs, in this process, and raises ``Mismatch`` for a wrong one:

    Case("random s", "call", {"s": s}, fn="minflow.bijectors.coupling:affine_log_det", args=["s"],
         judge=lambda out: compare(out["value"], expected, "affine_log_det(s)", {"s": s},
                                   mistakes=[(-expected, "check the sign of the log-determinant ...")]))

An exercise scores the fraction of its cases that pass, and 0 unless one of its non-``trivial``
cases passes (so that a constant or an echo of the input cannot collect the easy cases).
"""
import numpy as np


class Case:
    """One scored case: label, child task, inputs (name -> array), JSON params, judge(outputs)."""

    def __init__(self, label, task, inputs=None, judge=None, trivial=False, error_hint=None, **params):
        self.label, self.task, self.inputs, self.judge = label, task, dict(inputs or {}), judge
        self.trivial, self.error_hint, self.params = trivial, error_hint, params


class Mismatch(Exception):
    """A wrong result: ``message`` says which input, expected vs got; ``hint`` the likely mistake."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.message, self.hint = message, hint


def judge_case(case, record, lost):
    """The scored result of one case: dict label, status, message, hint. Only a judge that accepts the
    numbers makes a pass: the child's status says at most "here are numbers" (``grading/protocol.py``)."""
    result = {"label": case.label, "status": "pass", "message": "", "hint": None}
    if record is None:
        result.update(status="error", message=lost)
    elif record.get("status") not in ("ok", "error", "not implemented", "timeout"):
        result.update(status="error", message="the grading child's result for this case was malformed")
    elif record["status"] == "ok":
        try:
            case.judge(record["outputs"])
        except Mismatch as err:
            result.update(status="fail", message=err.message, hint=err.hint)
        except Exception as err:  # noqa: BLE001 - any odd result is a wrong one, never a crash of the grader
            result.update(status="fail", message=f"the result has the wrong structure ({type(err).__name__}: "
                                                 f"{str(err)[:200]})")
    elif record["status"] == "timeout":
        result.update(status="fail", message=record["message"],
                      hint="an endless loop, or a loop over rows where one array expression would do?")
    else:
        result.update(status=record["status"], message="raised " * (record["status"] == "error") + record["message"],
                      hint=case.error_hint if record["status"] == "error" else None)
    return result


def score(cases, results):
    """Fraction of passed cases; 0 if no non-trivial case passed."""
    passed = [r["status"] == "pass" for r in results]
    if not any(p and not c.trivial for c, p in zip(cases, passed)):
        return 0.0
    return sum(passed) / len(passed)


def _fmt(value):
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{float(arr):.6g}" if np.issubdtype(arr.dtype, np.number) else repr(value)
    return np.array2string(arr, precision=4, threshold=8, edgeitems=3, max_line_width=100)


DTYPE_HINT = ("return float64: a float32 anywhere in the computation (np.float32, astype) loses the precision "
              "the checks need")


def as_array(got, call, dtype=np.float64):
    """``got`` as an array of ``dtype``; a float result of lower precision fails (Mismatch)."""
    if got is None:
        raise Mismatch(f"{call} returned None", "did you forget the `return` statement?")
    if isinstance(got, (tuple, list)):
        if len(got) != 1:
            raise Mismatch(f"{call} returned a {type(got).__name__} of {len(got)} values, expected one array")
        got = got[0]
    if isinstance(got, (int, float, np.generic)) and not isinstance(got, bool):
        got = np.asarray(got)
    if not isinstance(got, np.ndarray):
        raise Mismatch(f"{call} returned {got!r}, expected numbers")
    if got.dtype.kind == "f" and got.dtype.itemsize < 8 and np.dtype(dtype).kind == "f":
        raise Mismatch(f"{call} returned {got.dtype}, expected float64", DTYPE_HINT)
    if got.dtype.kind == "c":
        raise Mismatch(f"{call} returned complex numbers ({got.dtype}), expected real ones")
    return got.astype(dtype)


def _close(a, b, rtol, atol):
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


def _which_mistake(got, mistakes, rtol, atol):
    for candidate, hint in mistakes:
        try:
            cand = np.asarray(candidate() if callable(candidate) else candidate, dtype=np.float64)
        except Exception:  # noqa: BLE001 - a mistake that cannot be formed for these inputs
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
        if arr.ndim >= 1 and row is not None and arr.shape[0] == n_rows:
            parts.append(f"{name}[{row}] = {_fmt(arr[row])}")
        elif arr.size <= 6:
            parts.append(f"{name} = {_fmt(arr)}")
        else:
            parts.append(f"{name}: shape {arr.shape}")
    return ("; input " + ", ".join(parts)) if parts else ""


def compare(got, expected, call, inputs=None, mistakes=(), rtol=1e-7, atol=1e-10, hint=None):
    """Raise ``Mismatch`` unless ``got`` equals ``expected`` (dtype, shape and values).

    call: how the student's function was called ("affine_log_det(s)"); inputs: name -> array,
    shown for the worst row; mistakes: (wrong answer or callable, hint) pairs: the hint of the
    first one equal to ``got`` is shown, else ``hint``. A bool ``expected`` wants bools.
    """
    expected = np.asarray(expected)
    dtype = bool if expected.dtype == bool else np.float64
    got, expected = as_array(got, call, dtype), expected.astype(dtype)
    if got.shape != expected.shape:
        guess = _which_mistake(got, mistakes, rtol, atol)
        raise Mismatch(f"{call} returned shape {got.shape}, expected shape {expected.shape}"
                       f"{_input_rows(inputs, None, None)}", guess or hint)
    if _close(got, expected, rtol, atol):
        return
    got64, exp64 = got.astype(np.float64), expected.astype(np.float64)
    bad = ~np.isclose(got64, exp64, rtol=rtol, atol=atol, equal_nan=True)
    err = np.where(bad, np.nan_to_num(np.abs(got64 - exp64), nan=np.inf, posinf=np.inf), -1.0)
    idx = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    where = "[" + ", ".join(str(i) for i in idx) + "]" if idx else ""
    count = f" ({int(np.sum(bad))} of {bad.size} values wrong)" if bad.size > 1 else ""
    rows = _input_rows(inputs, idx[0] if idx else None, expected.shape[0] if expected.ndim else None)
    message = f"{call}{where}: expected {_fmt(expected[idx])}, got {_fmt(got[idx])}{count}{rows}"
    guess = _which_mistake(got64, mistakes, rtol, atol) or hint
    if guess is None and not np.all(np.isfinite(got64)) and np.all(np.isfinite(exp64)):
        guess = "got inf or NaN where the answer is finite: an overflow, log(0) or a division by zero?"
    raise Mismatch(message, guess)


def require(condition, message, hint=None):
    if not condition:
        raise Mismatch(message, hint)


def pair(got, call):
    """A (value, value) result, e.g. (L, U) or (estimate, stderr), as two float64 scalars."""
    require(isinstance(got, (tuple, list)) and len(got) == 2,
            f"{call} returned {type(got).__name__ if not isinstance(got, np.ndarray) else 'an array'}, "
            "expected a pair of two numbers")
    return tuple(float(as_array(g, call).reshape(-1)[0]) if np.size(g) == 1 else
                 _not_scalar(call) for g in got)


def _not_scalar(call):
    raise Mismatch(f"{call}: each of the two values must be one number")
