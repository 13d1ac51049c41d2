"""The pre-registered rule of the test-set construction sweep (minflow/thesis/documents/testsets.py), on
synthetic records: C10's rule unchanged (regimes' bars), decided per construction over seeds."""
import numpy as np
import pytest

from minflow.thesis.documents import regimes, testsets
from minflow.thesis.documents.testsets import decide
from minflow.thesis import ood
from minflow.thesis.gaussians import ThesisDistributions


def point(seed, basis="random", kappa=100.0, gap=0.1, sd=1.0, tnr=(0.05, 0.0)):
    row = {"seed": seed, "basis": basis, "condition_number": kappa, "gap": gap, "sd_logp": sd}
    row.update({regimes.tnr_key(s, t): v for (s, t), v in zip(regimes.PERTURBED, tnr)})
    return row


def test_the_rule_is_c10s():
    assert (testsets.GAP_BAR, testsets.TNR_BAR, testsets.MIN_SEEDS) == (0.25, 0.10, 2)
    assert testsets.PERTURBED == regimes.PERTURBED == ((1.0, 0.0), (0.25, 0.5))
    assert testsets.TARGET_TNR_P == {(1.0, 0.0): 0.38, (0.25, 0.5): 0.91}


def test_two_of_three_seeds_lose_the_perturbation():
    pts = [point(0), point(1), point(2, tnr=(0.4, 0.9))]
    d = decide(pts)
    assert d["loses"] and d["constructions"] == [["random", 100.0, 2]]
    assert d["per_construction"] == [["random", 100.0, 2, 3, 3]] and d["missing_c1"] == []


def test_one_seed_is_not_enough_and_both_sets_must_be_lost():
    pts = [point(0), point(1, tnr=(0.05, 0.2)), point(2, tnr=(0.3, 0.0))]
    d = decide(pts)
    assert not d["loses"] and d["constructions"] == []
    assert d["lowest_tnr"]["s1_t0"]["seed"] == 0 and d["lowest_tnr"]["s0.25_t0.5"]["seed"] in (0, 2)


def test_a_flow_missing_c1_cannot_count_and_is_listed():
    # gap 0.3 > 0.25 sd: the TNRs are the thesis's but the fit is not
    pts = [point(k, basis="correlated", kappa=1e4, gap=0.3) for k in range(3)] + [point(0, gap=0.25)]
    d = decide(pts)
    assert not d["loses"]
    assert [m[:3] for m in d["missing_c1"]] == [["correlated", 1e4, 0], ["correlated", 1e4, 1], ["correlated", 1e4, 2]]
    assert d["missing_c1"][0][3] == pytest.approx(0.3)
    assert d["lowest_tnr"]["s1_t0"]["basis"] == "random"  # only C1-meeting flows are candidates
    assert ["random", 100.0, 1, 1, 1] in d["per_construction"]


def test_constructions_are_decided_separately():
    pts = [point(0, kappa=10.0), point(1, kappa=100.0), point(2, kappa=1000.0)]
    assert not decide(pts)["loses"]
    pts += [point(1, kappa=10.0)]
    assert decide(pts)["constructions"] == [["random", 10.0, 2]]
    with pytest.raises(ValueError):
        decide([])


def test_strength_one_is_the_thesis_q_delta_and_the_fit_hits_its_target():
    p, u = testsets.construction("random", 100.0, 0, dim=6)
    d = ThesisDistributions(6, 0, condition_number=100.0)
    q, ref = testsets.perturbed(p, u, 0.25, 0.5, 1.0), d.q_delta(0.25, 0.5)
    assert np.allclose(q.mean, ref.mean) and np.allclose(q.cov, ref.cov)
    c, _ = testsets.construction("correlated", 100.0, 0, dim=6)
    assert np.linalg.cond(c.cov) == pytest.approx(100.0) and np.allclose(np.diag(c.cov), 1.0)
    rng = np.random.default_rng(0)
    bounds = ood.tpr_bounds(p.log_prob(p.sample(20_000, rng)))
    fit = testsets.fit_strength(p, u, 1.0, 0.0, 0.38, bounds, rng.standard_normal((20_000, 6)))
    assert fit["fit_ok"] and abs(fit["tnr_cal"] - 0.38) <= testsets.FIT_TOL and fit["c"] > 0
