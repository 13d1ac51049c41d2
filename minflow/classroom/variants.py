"""Per-student variants: the same exercise with a different specification for each student.

A variant is a choice per key of ``VARIANTS`` (which columns a coupling copies, the bound on s,
the prior's scale, Adam's decay rates, the tail split of the OOD bounds), derived from the
student's id and the teacher's secret by HMAC-SHA256, so the grader recomputes it and students
cannot choose it. The library's own choice (``STANDARD``) is never drawn: code pasted from the
public library fails every student's variant. Without a secret everyone gets ``STANDARD``.

    variant_for("alice", secret)  -> {"copy_part": "even", "prior_scale": 1.5, ...}
    describe("prior_scale", 1.5)  -> "sigma = 1.5: the prior is N(0, 2.25 I)"
"""
import hashlib
import hmac

from ..bijectors.coupling import S_MAX

STANDARD = {"copy_part": "first-floor", "s_bound": ("tanh", S_MAX), "prior_scale": 1.0,
            "betas": (0.9, 0.999), "lower_fraction": 0.5}
VARIANTS = {
    "copy_part": ("first-ceil", "last-floor", "last-ceil", "even", "odd"),
    "s_bound": (("tanh", 1.5), ("tanh", 2.5), ("tanh", 3.0), ("softsign", 2.0), ("softsign", 3.0)),
    "prior_scale": (0.5, 0.75, 1.5, 2.0, 2.5),
    "betas": ((0.8, 0.99), (0.85, 0.995), (0.95, 0.9999), (0.7, 0.98), (0.9, 0.99)),
    "lower_fraction": (0.2, 0.3, 0.4, 0.6, 0.7, 0.8),
}
# the constant each key sets in the solutions of ``practice/`` (their VARIANT blocks)
CONSTANTS = {"copy_part": "COPY_PART", "s_bound": "S_BOUND", "prior_scale": "PRIOR_SCALE",
             "betas": "BETAS", "lower_fraction": "LOWER_FRACTION"}
_PARTS = {"first-floor": "x_a = the first floor(D/2) columns, x_b = the other ceil(D/2)",
          "first-ceil": "x_a = the first ceil(D/2) columns, x_b = the last floor(D/2)",
          "last-floor": "x_a = the last floor(D/2) columns, x_b = the first ceil(D/2)",
          "last-ceil": "x_a = the last ceil(D/2) columns, x_b = the first floor(D/2)",
          "even": "x_a = the even columns 0, 2, 4, ..., x_b = the odd columns 1, 3, ...",
          "odd": "x_a = the odd columns 1, 3, 5, ..., x_b = the even columns 0, 2, ..."}


def check_student(student_id):
    """A student id: a non-empty string of letters, digits, '.', '_', '-' (it names a folder)."""
    if not isinstance(student_id, str):
        raise TypeError(f"student_id: expected a string, got {type(student_id).__name__}")
    if not student_id or not all(c.isalnum() or c in "._-" for c in student_id) or student_id[0] == ".":
        raise ValueError(f"student_id: expected letters, digits, '.', '_' or '-', got {student_id!r}")
    return student_id


def variant_for(student_id, secret=None):
    """The variant of ``student_id``: key -> choice; ``STANDARD`` if ``secret`` is None or empty."""
    check_student(student_id)
    if secret is None or secret == "":
        return dict(STANDARD)
    if not isinstance(secret, str):
        raise TypeError(f"secret: expected a string, got {type(secret).__name__}")
    out = {}
    for key, choices in VARIANTS.items():
        digest = hmac.new(secret.encode(), f"{key}:{student_id}".encode(), hashlib.sha256).digest()
        out[key] = choices[int.from_bytes(digest[:8], "big") % len(choices)]
    return out


def describe(key, value):
    """The variant ``value`` of ``key`` in words, as the workspace states it."""
    if key == "copy_part":
        return f"{_PARTS[value]} (columns counted from 0)."
    if key == "s_bound":
        kind, c = value
        formula = f"s = {c:g} * tanh(s_raw / {c:g})" if kind == "tanh" else f"s = {c:g} * s_raw / ({c:g} + |s_raw|)"
        return f"{formula}, so that |s| < {c:g}."
    if key == "prior_scale":
        return f"sigma = {value:g}, so the prior is N(0, {value**2:g} I)."
    if key == "betas":
        return f"b1 = {value[0]:g}, b2 = {value[1]:g} (eps = 1e-8)."
    if key == "lower_fraction":
        return (f"a fraction {value:g} of the rejected mass 1 - tpr lies below L and {1 - value:g} of it "
                f"above U.")
    raise ValueError(f"key: expected one of {tuple(VARIANTS)}, got {key!r}")


def constants(variant):
    """Python source of the variant's constants, as the practice solutions read them:
    {"PRIOR_SCALE": "1.5", ...} (used to write a student's solved key)."""
    return {CONSTANTS[k]: repr(v) for k, v in variant.items()}
