"""The figures of one benchmark run (an entry of results.json): lookups, ratios and how quiet it was.

Shared by report.py (RESULTS.md) and summary.py (the README's speed paragraph).
"""
import math

QUIET_OTHER_CORES = 0.1   # a run is "quiet" when other processes used less than this (cores, averaged)
QUIET_LOAD = 0.5          # ... and the 1-minute load average was below this at its start


def geomean(values):
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


class Run:
    def __init__(self, run):
        self.run, self.info, self.cases = run, run["info"], run["cases"]

    def get(self, lib, task, dim, width, dtype, batch=None, engine=None, validation="array"):
        """The case of these settings; a `fit` case's ``validation``: "array" (the table's cases, 1,024 points
        passed), or what ``fit`` was called with ("0.0", "default": the cases "as users call it")."""
        for c in self.cases:
            if (c["lib"], c["task"], c["dim"], c["width"], c["dtype"]) == (lib, task, dim, width, dtype) \
                    and (batch is None or c["batch"] == batch) and (engine is None or c.get("engine") == engine) \
                    and c.get("validation", "array") == validation:
                return c
        return None

    def rate(self, *key, **kw):
        c = self.get(*key, **kw)
        return c["rate"] if c else None

    def f32_ratio(self, lib, task, dim, width, **kw):
        return ratio(self.rate(lib, task, dim, width, "float32", **kw), self.rate(lib, task, dim, width, "float64", **kw))

    def shapes(self, task):
        seen = []
        for c in self.cases:
            key = (c["dim"], c["width"], c["batch"]) if task != "log_prob" else (c["dim"], c["width"])
            if c["task"] == task and c.get("validation", "array") == "array" and key not in seen:
                seen.append(key)
        return seen

    def as_called(self):
        """[(dim, width, batch, validation)] of the `fit` cases timed as users call it (not "array")."""
        seen = []
        for c in self.cases:
            key = (c["dim"], c["width"], c["batch"], c.get("validation", "array"))
            if c["task"] == "fit" and key[3] != "array" and key not in seen:
                seen.append(key)
        return seen

    def dtypes(self, task):
        return [dt for dt in ("float32", "float64") if any(c["task"] == task and c["dtype"] == dt for c in self.cases)]

    def versions(self):
        out = {}
        for c in self.cases:
            out.update({k: v for k, v in c.get("versions", {}).items() if k != "torch_parallel"})
        return out


def ratio(a, b):
    return a / b if a and b else None


def noise(run):
    other = [c["other_cores"] for c in run.cases if "other_cores" in c]
    loads = [c["load_before_process"][0] for c in run.cases if "load_before_process" in c]
    return dict(other_max=max(other, default=math.nan), other_mean=sum(other) / len(other) if other else math.nan,
                load_start=run.info["load_start"][0], load_max=max(loads, default=math.nan))


def is_quiet(run_dict):
    """A `full` run, quiet at its start and while its cases ran (the thresholds above)."""
    nz = noise(Run(run_dict))
    return run_dict["mode"] == "full" and nz["other_mean"] < QUIET_OTHER_CORES and nz["load_start"] < QUIET_LOAD
