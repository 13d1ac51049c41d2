"""The thesis room's top floor: what is written from runs and verdicts — figures, REPRODUCTION.md, studies.

    report, document       one run's claims and figures; REPRODUCTION.md from every committed run
    figures, figure_tools  the thesis's figures from a table and its kept log-densities
    provenance             what was fixed before which results, from git
    capacity, ablations, highd   studies that rerun the pipeline with other settings
    regimes, regimes_run, regimes_report   the pre-registered C10 sweep: rule, runs, map
    testsets, slips (+ _run)   the pre-registered studies: test-set construction, evaluation slips

It builds on the pipeline and the verdicts; neither imports it. ``__all__`` is its public face, what the
lessons may use (docs/ARCHITECTURE.md): the thesis's figures, and the C10 sweep's rule, runner and map.
"""
from .figures import (VARIANTS, fig_1, fig_2, fig_3, fig_4, fig_5, fig_6, fig_7, fig_8, fig_9, fig_10, fig_11, fig_12,
                      fig_13, learning_curves)
from .regimes import (GAP_BAR, MIN_SEEDS, PERTURBED, TNR_BAR, DataSpec, ModelSpec, RegimeSweep, decide, meets,
                      tnr_key)
from .regimes_report import DECISION_COMMIT, THESIS_TNR, THESIS_TNR_P, regime_map
from .regimes_run import points_csv, run_task, sweep_settings

__all__ = [
    # the thesis's figures (figures.py): fig_k(table, kept, out_dir) -> the PNG's path
    "fig_1", "fig_2", "fig_3", "fig_4", "fig_5", "fig_6", "fig_7", "fig_8", "fig_9", "fig_10", "fig_11", "fig_12",
    "fig_13", "learning_curves", "VARIANTS",
    # the pre-registered C10 sweep (regimes.py, regimes_run.py, regimes_report.py)
    "GAP_BAR", "TNR_BAR", "MIN_SEEDS", "PERTURBED", "DataSpec", "ModelSpec", "RegimeSweep", "decide", "meets",
    "tnr_key", "run_task", "sweep_settings", "points_csv", "regime_map", "DECISION_COMMIT", "THESIS_TNR",
    "THESIS_TNR_P",
]
