"""Looking up rows of the tidy table (a list of row dicts, one per test set; ``cells.COLUMNS``).

Shared by the claim checker, the figures and the capacity study. s and t are compared with a
tolerance, so ``cell(table, 20, "outlier", 0.75, 0.25)`` finds a row read back from CSV.
"""
import math


def close(a, b):
    """a == b up to rounding (relative and absolute tolerance 1e-9)."""
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def cell(table, D, family, s, t):
    """The row of one test set, or None when the grid lacks it."""
    for r in table:
        if r["D"] == D and r["family"] == family and close(r["s"], s) and close(r["t"], t):
            return r
    return None


def rows(table, D=None, family=None, s=None, t=None):
    """Every row matching the given fields (None: any value), in table order."""
    return [r for r in table if (D is None or r["D"] == D) and (family is None or r["family"] == family)
            and (s is None or close(r["s"], s)) and (t is None or close(r["t"], t))]


def dims(table):
    """The dimensionalities D of the table, ascending."""
    return sorted({r["D"] for r in table})


def train_kl(table, D):
    """The fit of the model of dimension D (every row of a D carries it): H*(p, p_theta) - H(p) on Q(p)."""
    return next(r["train_kl"] for r in table if r["D"] == D)


def cell_per_dim(table, family, s, t):
    """(D, row) of the test set (family, s, t) for every D of the table that has it, D ascending."""
    return [(d, r) for d in dims(table) if (r := cell(table, d, family, s, t)) is not None]
