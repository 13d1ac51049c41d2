"""The runner's speed work (issue 12): AUROC against a sorted Q(p) equals the definition, Q(p) is
prepared once per D without changing a row, the stage seconds in run.json, threads per worker."""
import os

import numpy as np
import pytest

import minflow
from minflow.thesis import ood
from minflow.thesis.pipeline import cells as C
from minflow.thesis.pipeline import run_files, preset, run, workers
from minflow.thesis.documents.report import finish_run
from minflow.thesis.pipeline.timing import STAGES, StageClock

TINY = dict(dims=(4,), S=(0.5, 1.0), T=(0.0,), n_test=1000)  # 2 (s, t) x 3 families = 6 sets


def test_auroc_sorted_equals_the_rank_formula_and_the_pairwise_count_with_ties():
    rng = np.random.default_rng(0)
    for n_in, n_out, levels in ((50, 70, 5), (300, 200, 40), (1000, 1, 3), (1, 500, 2)):
        a = rng.integers(0, levels, n_in).astype(float)    # many ties, within and across the sets
        b = rng.integers(0, levels, n_out).astype(float) + 0.5 * rng.integers(0, 2, n_out)
        pairs = (a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])
        assert ood.auroc_sorted(np.sort(a), b) == pytest.approx(pairs.mean(), abs=1e-15)
        assert ood.auroc_sorted(np.sort(a), b) == pytest.approx(ood.auroc(a, b), abs=1e-12)
    a, b = rng.standard_normal(4000), rng.standard_normal(3000) + 0.3
    assert ood.auroc_sorted(np.sort(a), b) == pytest.approx(ood.auroc(a, b), abs=1e-12)
    assert ood.auroc_sorted(np.sort(a), a + 100) == 0.0 and ood.auroc_sorted(np.sort(a), a - 100) == 1.0


def test_auroc_sorted_rejects_unsorted_and_bad_scores():
    with pytest.raises(ValueError, match="sorted_in: not sorted"):
        ood.auroc_sorted([2.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="scores_out"):
        ood.auroc_sorted([1.0, 2.0], [np.nan])
    with pytest.raises(ValueError, match="sorted_in"):
        ood.auroc_sorted([], [1.0])


def test_a_prepared_reference_gives_the_row_of_a_plain_one_and_every_cell_stage_is_timed():
    config = preset("tiny", **TINY)
    flow = C.build_model(4, config, C.rng_for(0, "train", 4))
    dists = C.distributions(4, config)
    ref = C.evaluate_reference(flow, dists, config, C.rng_for(0, "reference", 4))
    prepared = C.prepare_reference(ref, config.tpr)
    assert C.prepare_reference(prepared, config.tpr) is prepared
    assert prepared.bounds_p == ood.tpr_bounds(ref.logp, config.tpr)
    clock = StageClock()
    rows = [C.evaluate_cell(flow, dists, "outlier", 0.5, 0.0, config, C.rng_for(0, "c"), reference=r, clock=clock)[0]
            for r in (ref, prepared)]
    assert list(rows[0]) == list(C.COLUMNS)
    assert {k: v for k, v in rows[0].items() if k != "seconds"} == {k: v for k, v in rows[1].items() if k != "seconds"}
    for stage in ("sample", "logp", "logp_theta", "estimates", "auroc_tnr", "kde_keep"):
        assert clock.seconds[stage] > 0, stage


def test_stage_clock_rejects_an_unknown_stage():
    with pytest.raises(ValueError, match="stage: expected one of"):
        with StageClock()("sampling"):
            pass


def test_run_json_has_every_stage_and_the_threads(tmp_path):
    config = preset("tiny", **TINY)
    run(config, tmp_path, workers=2, progress=False)
    finish_run(tmp_path, figures=False)
    timing = run_files.read_json(os.path.join(tmp_path, "run.json"))["timing"]
    stages = timing["stage_seconds"]
    assert set(stages) == set(STAGES)
    assert all(v >= 0 for v in stages.values())
    for stage in ("train", "sample", "logp", "logp_theta", "auroc_tnr", "write", "outputs", "report"):
        assert stages[stage] > 0, stage
    busy = sum(v for k, v in stages.items() if k not in ("figures", "report"))
    assert busy <= timing["last_invocation_wall_s"] * timing["workers_last_invocation"] * 1.05 + 0.5
    assert timing["threads_per_worker"] == workers.threads_per_worker(2) and timing["executor"] == "processes"
    assert timing["finish_wall_s"] >= stages["report"]


def test_workers_share_the_cores_and_the_parent_gets_its_threads_back():
    assert workers.threads_per_worker(1) == max(1, min(minflow.threads(), workers.cores()))
    assert workers.threads_per_worker(10 ** 6) == 1
    before = minflow.threads()
    with workers.pool(2, 2) as pool:
        assert pool.submit(minflow.threads).result() == min(2, workers.cores())  # set_threads caps at the cores
    with workers.thread_budget(1):
        assert minflow.threads() == 1 and os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert minflow.threads() == before


def test_scheduler_without_dask_is_a_clear_error(monkeypatch, tmp_path, capsys):
    import sys

    from minflow.thesis.cli import main
    monkeypatch.setitem(sys.modules, "dask.distributed", None)   # as if not installed
    with pytest.raises(ValueError, match=r"scheduler: Dask is not installed; pip install -e \.\[dask\]"):
        with workers.dask_executor("tcp://127.0.0.1:1"):
            pass
    assert main(["reproduce", "--preset", "tiny", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "pip install -e .[dask]" in capsys.readouterr().err


def test_run_rejects_an_executor_without_submit(tmp_path):
    with pytest.raises(TypeError, match="executor: expected a concurrent.futures-style executor"):
        run(preset("tiny", **TINY), tmp_path, executor=object())
