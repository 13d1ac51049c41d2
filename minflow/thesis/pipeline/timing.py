"""Where a run's time goes: seconds per stage, summed over every process that did the work.

    clock = StageClock()
    with clock("sample"):
        x = q.sample(n, rng)
    clock.seconds            # {"train": 0.0, "sample": 0.12, ...}: every stage of STAGES, >= 0

A worker process times its task with its own clock and returns ``clock.seconds`` with the
result; the runner adds them up (``merge``) and writes them to run.json ("timing":
"stage_seconds"). The sum is busy time over all processes, so it is at most about
wall x workers (less while a worker waits for a model to be trained).
"""
import time
from contextlib import contextmanager

STAGES = (
    "train",        # fit of one model per D (models/D{D}.json has it per D)
    "sample",       # Gaussian.sample: the points of Q_N(q) and Q(p)
    "logp",         # the true log p (a triangular solve per chunk)
    "logp_theta",   # the model's log p_theta (flow.log_prob)
    "estimates",    # H*, D*, Delta_HC, means and variances, the analytic H and KL
    "auroc_tnr",    # sorting Q(p), the bounds L < U, TNR and AUROC
    "kde_keep",     # the random subsample kept for the KDE figures
    "write",        # cell records, models, Q(p)'s kept values (atomic files)
    "outputs",      # table.csv and kept.npz, collected and checked
    "figures",      # figures 1-13, appendices, learning curves (finish_run)
    "report",       # claims.json/.md and REPRODUCTION.md (finish_run)
)


class StageClock:
    """Accumulated wall seconds per stage (``STAGES``); ``clock("name")`` is a timing context."""

    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def __call__(self, stage):
        if stage not in self.seconds:
            raise ValueError(f"stage: expected one of {STAGES}, got {stage!r}")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start

    def timed(self, stage, fn):
        """``fn`` whose every call is added to ``stage``."""
        def call(*args, **kwargs):
            with self(stage):
                return fn(*args, **kwargs)
        return call

    def merge(self, seconds):
        """Add another clock's ``seconds`` (a dict stage -> s, from a worker)."""
        for stage, s in (seconds or {}).items():
            if stage in self.seconds:
                self.seconds[stage] += float(s)
        return self


class TimedSampler:
    """``dist`` whose ``sample`` is timed as the stage "sample" (for ``evaluate_log_probs``)."""

    def __init__(self, dist, clock):
        self.dist, self.clock = dist, clock

    def sample(self, n, rng):
        with self.clock("sample"):
            return self.dist.sample(n, rng)


def breakdown_lines(timing):
    """Lines "  stage   seconds   share" from run.json's "timing" (shares of the summed busy time)."""
    stages = timing.get("stage_seconds") or {}
    total = sum(stages.values()) or 1.0
    lines = [f"time per stage (summed over {timing.get('workers_last_invocation', '?')} worker(s) x "
             f"{timing.get('threads_per_worker') or '?'} thread(s); wall {timing.get('last_invocation_wall_s', 0):.1f} s"
             f" + {timing.get('finish_wall_s', 0):.1f} s figures and report):"]
    for stage in STAGES:
        if stage in stages:
            lines.append(f"  {stage:<11} {stages[stage]:9.1f} s  {100 * stages[stage] / total:5.1f} %")
    return lines


def breakdown_markdown(timing):
    """One line for REPRODUCTION.md: "sample 12 s, logp 8 s, ..." (empty when run.json has no stages)."""
    stages = timing.get("stage_seconds") or {}
    return ", ".join(f"{k} {stages[k]:.0f} s" for k in STAGES if k in stages)
