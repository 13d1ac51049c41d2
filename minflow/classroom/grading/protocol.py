"""What the grader accepts from the grading child: lines of plain JSON, parsed with limits.

The child (``harness/zygote.py``) writes ``S name`` when an exercise starts, ``R name {case}`` for
each case, ``E name {status}`` when it ends. A case is {k, status, message, outputs}; an output is
None, a list or tuple of outputs, an array ({dtype, shape, data: base64 of the raw bytes}) or an
object known by its type's name only. Anything else, too big, too deep or of a dtype that is not
numbers, is a malformed case: the grader never trusts a status beyond "ok" meaning "judge these
numbers", never unpickles, never decompresses, and cuts every text it will show.
"""
import base64
import binascii
import json
import re

import numpy as np

STATUSES = ("ok", "error", "not implemented", "timeout")
ARRAY_BYTES = 8 * 2**20     # one array's raw bytes at most
CASE_ITEMS = 20000          # values (arrays, list items) in one case at most
DEPTH = 8
MESSAGE_CHARS = 400
DTYPES = {np.dtype(t).str for t in ("?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")}
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\u024f\u0370-\u03ff]")


class Malformed(ValueError):
    """A line of the child that is not what the protocol allows."""


class Foreign:
    """An output that is not numbers (a string, an object): shown by its type."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"


def clean_text(text, limit=MESSAGE_CHARS):
    """``text`` as a short printable line (control characters, escapes and long tails cut)."""
    text = _UNPRINTABLE.sub("?", str(text).replace("\n", " "))
    return text if len(text) <= limit else text[:limit] + " [...]"


def parse_line(line, names):
    """-> (kind "S"/"R"/"E", exercise name, payload dict or None); Malformed if it is not one."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise Malformed("not ASCII") from None
    kind, _, rest = text.partition(" ")
    name, _, payload = rest.partition(" ")
    if kind not in ("S", "R", "E") or name not in names:
        raise Malformed(f"unknown line {clean_text(text, 60)!r}")
    if kind == "S":
        return kind, name, None
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise Malformed("not JSON") from None
    if not isinstance(data, dict):
        raise Malformed("not a JSON object")
    return kind, name, data


def case_record(data):
    """The child's case dict -> (k, record {status, message, outputs}); Malformed if it breaks the rules."""
    k, status, message = data.get("k"), data.get("status"), data.get("message", "")
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < 1000:
        raise Malformed("no case number")
    if status not in STATUSES or not isinstance(message, str):
        raise Malformed("unknown status")
    record = {"status": status, "message": clean_text(message)}
    if status == "ok":
        outputs = data.get("outputs")
        if not isinstance(outputs, dict) or len(outputs) > 16:
            raise Malformed("no outputs")
        budget = [CASE_ITEMS]
        record["outputs"] = {str(key)[:40]: decode(v, budget) for key, v in outputs.items()}
    return k, record


def status_record(data):
    """The child's {exit, timed_out, seconds} of an exercise, checked."""
    exit_code, timed_out = data.get("exit"), data.get("timed_out")
    if exit_code is not None and (not isinstance(exit_code, int) or isinstance(exit_code, bool)):
        raise Malformed("bad exit code")
    return {"exit": exit_code, "timed_out": timed_out is True}


def decode(desc, budget, depth=0):
    """One output description -> None, list, tuple, np.ndarray or Foreign; Malformed beyond the limits."""
    budget[0] -= 1
    if budget[0] < 0 or depth > DEPTH or not isinstance(desc, dict):
        raise Malformed("outputs too large or too deep")
    kind = desc.get("kind")
    if kind == "none":
        return None
    if kind in ("tuple", "list"):
        items = desc.get("items")
        if not isinstance(items, list):
            raise Malformed("no items")
        values = [decode(d, budget, depth + 1) for d in items]
        return tuple(values) if kind == "tuple" else values
    if kind == "array":
        return _array(desc)
    if kind == "object":
        return Foreign(clean_text(desc.get("type", "object"), 60))
    raise Malformed("unknown kind")


def _array(desc):
    dtype, shape, data = desc.get("dtype"), desc.get("shape"), desc.get("data")
    if dtype not in DTYPES or not isinstance(data, str) or len(data) > ARRAY_BYTES * 4 // 3 + 4:
        raise Malformed("not an array of numbers")
    if not isinstance(shape, list) or len(shape) > DEPTH or not all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= ARRAY_BYTES for n in shape):
        raise Malformed("bad shape")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Malformed("bad array data") from None
    dt = np.dtype(dtype)
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
        raise Malformed("array data and shape disagree")
    return np.frombuffer(raw, dtype=dt).reshape(tuple(shape)).copy()
