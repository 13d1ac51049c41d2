"""The experiment runner end to end on a tiny grid: every column, finite numbers, the sampled
cross-entropy of p against its analytic value, the figures, resume after a kill, bad input."""
import math
import os

import numpy as np
import pytest
from scipy import stats

from minflow.thesis.cli import main
from minflow.thesis.pipeline import preset, read_table, run
from minflow.thesis.pipeline.cells import TABLE_COLUMNS
from minflow.thesis.pipeline import run_files, store
from minflow.thesis.documents.figures import APPENDIX, FIGURES, appendix
from minflow.thesis.documents.report import finish_run

TINY = dict(dims=(4, 6), S=(0.5, 1.0), T=(0.0,), n_test=2000)  # two (s, t) pairs x 3 families x 2 D = 12 sets


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    config = preset("tiny", **TINY)
    path = run(config, out, workers=1, progress=False)
    return config, out, read_table(path)


def test_table_has_every_column_and_every_cell(tiny_run):
    config, out, table = tiny_run
    assert len(table) == 2 * 3 * 2
    assert {(r["D"], r["family"], r["s"], r["t"]) for r in table} == {
        (d, f, s, 0.0) for d in (4, 6) for f in ("generalisation", "perturbed", "outlier") for s in (0.5, 1.0)}
    for row in table:
        assert list(row) == list(TABLE_COLUMNS)
        for k, v in row.items():
            if k != "family":
                assert math.isfinite(v), (k, row)
        assert 0 <= row["tnr_p"] <= 1 and 0 <= row["auroc_ptheta"] <= 1
        assert row["n_test"] == 2000


def test_sampled_cross_entropy_of_p_matches_the_analytic_value(tiny_run):
    # H*(q, p) is a mean of N i.i.d. terms: within 4 standard errors of H(q, p) (Proposition 1, eq. 10)
    _, _, table = tiny_run
    for r in table:
        assert abs(r["Hs_qp"] - r["H_qp"]) < 4 * r["Hs_qp_se"], r
        assert r["KLs_qp"] == pytest.approx(r["Hs_qp"] - r["H_q"])
        assert r["Ds_qptheta"] == pytest.approx(r["Hs_qptheta"] - r["H_q"])
        assert r["gap"] == pytest.approx(abs(r["Hs_qp"] - r["Hs_qptheta"]))


def test_entropy_column_matches_scipy(tiny_run):
    _, _, table = tiny_run
    from minflow.thesis.gaussians import ThesisDistributions
    d = ThesisDistributions(4, seed=0)
    for r in (r for r in table if r["D"] == 4):
        q = d.family(r["family"], r["s"], r["t"])
        assert r["H_q"] == pytest.approx(stats.multivariate_normal(q.mean, q.cov).entropy(), rel=1e-9)


def test_run_json_records_settings_seeds_versions_and_timing(tiny_run):
    config, out, _ = tiny_run
    rec = run_files.read_json(os.path.join(out, "run.json"))
    assert rec["settings"] == config.to_dict()
    assert rec["seeds"]["seed"] == 0 and {"numpy", "scipy", "minflow"} <= set(rec["versions"])
    assert set(rec["timing"]["train_s"]) == {"4", "6"}
    from minflow.thesis.pipeline.timing import STAGES
    assert set(rec["timing"]["stage_seconds"]) == set(STAGES) and rec["timing"]["threads_per_worker"] >= 1
    assert len(run_files.read_json(os.path.join(out, "models", "D4.json"))["history"]["train_nll"]) == config.training.epochs


def test_every_figure_is_written_with_a_caption(tiny_run, tmp_path):
    _, out, table = tiny_run
    kept = run_files.load_kept(os.path.join(out, "kept.npz"))
    paths = [fn(table, kept, tmp_path) for fn in FIGURES] + appendix("C", table, kept, tmp_path)
    assert len(paths) == 13 + 2
    for i, p in enumerate(paths):
        assert os.path.getsize(p) > 1000
        caption = open(p[:-4] + ".txt").read()
        assert "thesis" in caption
        if i < 13:
            assert f"Figure {i + 1} " in caption
    assert set(APPENDIX) == {"A", "B", "C"}


def _strip(table):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in table]


def test_resume_after_a_kill_gives_the_uninterrupted_table(tiny_run, tmp_path):
    config, _, table = tiny_run
    assert run(config, tmp_path, progress=False, stop_after=5) is None        # "killed" after 5 of 12 sets
    done = sorted(f for f in os.listdir(tmp_path / "cells" / "D6") if f.endswith(".json"))
    stamps = {f: os.path.getmtime(tmp_path / "cells" / "D6" / f) for f in done}
    assert len(done) == 5
    resumed = read_table(run(config, tmp_path, progress=False))
    assert _strip(resumed) == _strip(table)
    for f, stamp in stamps.items():  # finished cells were not recomputed
        assert os.path.getmtime(tmp_path / "cells" / "D6" / f) == stamp


def test_resume_with_other_settings_is_refused_and_loses_nothing(tiny_run):
    config, out, _ = tiny_run
    before = open(os.path.join(out, "table.csv")).read()
    with pytest.raises(ValueError, match="other settings.*n_test"):
        run(preset("tiny", **{**TINY, "n_test": 3000}), out, progress=False)
    assert open(os.path.join(out, "table.csv")).read() == before
    assert run_files.read_json(os.path.join(out, "config.json")) == config.to_dict()


def test_a_run_recorded_before_the_ablation_knobs_resumes_without_recomputing(tiny_run, tmp_path):
    """Settings added later (coupling, permutation, actnorm, lu) at their defaults leave old cells valid."""
    import json
    import shutil

    config, out, table = tiny_run
    shutil.copytree(out, tmp_path / "old", ignore=shutil.ignore_patterns("figures"))
    old = tmp_path / "old"
    cfg = run_files.read_json(old / "config.json")
    for key in ("coupling", "permutation", "actnorm", "lu"):
        del cfg["model"][key]
    digest = store.config_digest(cfg)
    assert digest == store.config_digest(config.to_dict())
    (old / "config.json").write_text(json.dumps(cfg, indent=1))
    before = (old / "config.json").read_text()
    stamps = {f: os.path.getmtime(old / "cells" / "D6" / f) for f in os.listdir(old / "cells" / "D6")}
    assert _strip(read_table(run(config, old, progress=False))) == _strip(table)
    assert (old / "config.json").read_text() == before        # the committed record is not rewritten
    assert {f: os.path.getmtime(old / "cells" / "D6" / f) for f in stamps} == stamps
    other = config.to_dict()
    other["model"]["actnorm"] = True                            # a knob away from its default is a new setting
    assert store.config_digest(other) != digest


@pytest.mark.parametrize("kwargs, match", [
    (dict(dims=()), "dims: the grid is empty"),
    (dict(S=()), "S: the grid is empty"),
    (dict(dims=(1, 4)), "dims: expected an integer >= 2"),
    (dict(n_test=1), "n_test: expected an integer >= 2"),
    (dict(families=("nope",)), "families: unknown family"),
])
def test_bad_settings_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        preset("tiny", **kwargs)


def test_unknown_preset_and_unwritable_directory(tmp_path, capsys):
    with pytest.raises(ValueError, match="preset: unknown preset 'huge'"):
        preset("huge")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="out_dir: cannot write"):
        run(preset("tiny", **TINY), blocker / "sub", progress=False)
    assert main(["reproduce", "--preset", "huge", "--out", str(tmp_path / "x")]) == 2
    assert "unknown preset" in capsys.readouterr().err


def test_finish_run_writes_claims(tiny_run):
    _, out, _ = tiny_run
    run_ = finish_run(out, figures=False)
    assert [c.id for c in run_["claims"]] == [f"C{i}" for i in range(1, 11)]
    claims = run_files.read_json(os.path.join(out, "claims.json"))
    assert claims[1]["id"] == "C2" and claims[1]["verdict"] == "reproduced"   # H*(q,p) vs H(q,p) always holds


def test_kept_values_are_a_subsample_of_the_cell(tiny_run):
    config, out, _ = tiny_run
    kept = run_files.load_kept(os.path.join(out, "kept.npz"))
    assert len(kept) == 12 + 2                  # every set and Q(p) of each D
    v = kept[run_files.kept_key(4, "outlier", 0.5, 0.0)]
    assert v["logp"].shape == v["logp_theta"].shape == (config.kde_keep,)
    assert np.all(np.isfinite(v["logp"]))


def test_two_worker_processes_give_the_same_table(tiny_run, tmp_path):
    config, _, table = tiny_run
    assert _strip(read_table(run(config, tmp_path, workers=2, progress=False))) == _strip(table)


def test_resume_after_the_gaussians_changed_is_refused(tiny_run, tmp_path, monkeypatch):
    config, _, _ = tiny_run
    run(config, tmp_path, progress=False, stop_after=2)
    from minflow.thesis.pipeline import cells
    from minflow.thesis.gaussians import ThesisDistributions
    monkeypatch.setattr(cells, "distributions", lambda d, cfg: ThesisDistributions(d, seed=cfg.seed, alpha=0.5))
    with pytest.raises(ValueError, match="other test distributions"):
        run(config, tmp_path, progress=False)


def test_python_m_minflow_is_the_thesis_command_line(capsys):
    import minflow.__main__ as wrapper
    assert wrapper.main is main
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "reproduce" in capsys.readouterr().out


def test_read_notes_pastes_only_claim_and_capacity_sections(tmp_path):
    from minflow.thesis.verdicts.notes import read_notes
    path = tmp_path / "NOTES.md"
    path.write_text("# Title\n> a remark\nThe intro.\n\n## C4\nReading of C4.\n\n## Capacity\nCapacity reading.\n\n"
                    "## Calibration of the perturbation and outlier families\nA long log.\n")
    notes = read_notes(path)
    assert notes == {"C4": "Reading of C4.", "Capacity": "Capacity reading.", "intro": "The intro."}
