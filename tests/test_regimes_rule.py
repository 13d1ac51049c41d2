"""The pre-registered decision rule of the C10 settling experiment (minflow/thesis/documents/regimes.py)."""
import pytest

from minflow.thesis.documents.regimes import GAP_BAR, SWEEP, TNR_BAR, decide, meets, tnr_key


def _pt(seed, gap, tnr1, tnr2, data="fresh", model="core", epoch=10, sd=7.0):
    return {"seed": seed, "data": data, "model": model, "epoch": epoch, "gap": gap, "sd_logp": sd,
            tnr_key(1.0, 0.0): tnr1, tnr_key(0.25, 0.5): tnr2}


def test_the_sweep_is_the_one_the_docstring_states():
    assert SWEEP.dim == 50 and SWEEP.seeds == (0, 1, 2) and SWEEP.n_eval == 100_000
    assert [m.name for m in SWEEP.models] == ["core", "core-reverse", "wide-unbounded", "wide-unbounded-reverse"]
    assert [(d.name, d.fixed) for d in SWEEP.data] == [("fresh", None), ("fixed-5k", 5000), ("fixed-20k", 20000),
                                                       ("fixed-100k", 100000)]
    assert (GAP_BAR, TNR_BAR) == (0.25, 0.10)


def test_both_halves_of_the_rule_are_needed():
    assert meets(_pt(0, 1.0, 0.05, 0.0))
    assert not meets(_pt(0, 1.0, 0.05, 0.2))          # one perturbed set still flagged
    assert not meets(_pt(0, 0.26 * 7.0, 0.0, 0.0))    # fit worse than the C1 standard
    assert meets(_pt(0, 0.25 * 7.0, 0.10, 0.10))      # the bars are inclusive


def test_two_of_three_seeds_of_one_configuration_decide():
    one = [_pt(0, 1.0, 0.0, 0.0), _pt(1, 3.0, 0.0, 0.0), _pt(2, 1.0, 0.5, 0.5)]
    assert not decide(one)["reproducible"]
    two = one[:2] + [_pt(2, 1.0, 0.05, 0.01)]
    out = decide(two)
    assert out["reproducible"] and out["configurations"] == [("fresh", "core", 10, 2)]


def test_seeds_of_different_configurations_do_not_add_up():
    pts = [_pt(0, 1.0, 0.0, 0.0, epoch=10), _pt(1, 1.0, 0.0, 0.0, epoch=30), _pt(2, 1.0, 0.0, 0.0, model="core-reverse")]
    assert not decide(pts)["reproducible"]


def test_otherwise_the_smallest_gap_with_low_tnr_is_reported():
    pts = [_pt(0, 20.0, 0.05, 0.0, epoch=1), _pt(1, 10.0, 0.02, 0.01, data="fixed-5k", epoch=100),
           _pt(2, 0.5, 0.4, 0.9)]
    out = decide(pts)
    assert not out["reproducible"] and out["smallest_gap"]["gap"] == 10.0 and out["n_points"] == 3
    assert decide([_pt(0, 0.5, 0.4, 0.9)])["smallest_gap"] is None
    with pytest.raises(ValueError, match="points"):
        decide([])
