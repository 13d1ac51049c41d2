"""The slip study's pre-registered rule (minflow/thesis/documents/slips.py) on synthetic signatures, and
each hypothesis's transform on a tiny flow: it computes what its name says."""
import math

import numpy as np
import pytest

from minflow import RealNVP, standard_normal_log_prob
from minflow.tree import tree_map
from minflow.thesis.documents import slips as S


def _signature(**changes):
    """A signature that matches every target (the middle of each accepted interval, or a step inside it)."""
    sig = {}
    for t in S.TARGETS:
        low, high = t.low, t.high
        if math.isinf(low):
            sig[t.key] = high - 1.0
        elif math.isinf(high):
            sig[t.key] = low + 1.0
        else:
            sig[t.key] = (low + high) / 2
    sig.update(changes)
    return sig


def test_every_target_and_hypothesis_is_named_once():
    assert len({t.key for t in S.TARGETS}) == len(S.TARGETS)
    assert len({h.key for h in S.HYPOTHESES}) == len(S.HYPOTHESES)
    assert {h.score for h in S.HYPOTHESES} | {h.ref_score for h in S.HYPOTHESES} <= set(S.SCORES)
    assert set(S.STRICT) <= set(S.TARGET)
    assert S.TARGET["tnr_ptheta_d10"].published == "0.02" and S.TARGET["tnr_p_d25"].published == "0.91"


def test_matches_interval_and_strict_signs():
    assert S.matches("tnr_ptheta_d10", 0.02) and S.matches("tnr_ptheta_d10", 0.07)
    assert not S.matches("tnr_ptheta_d10", 0.0701)
    assert S.matches("tnr_p_d10", 0.38) and not S.matches("tnr_p_d10", 0.50)
    assert not S.matches("kl_hard_diff", 0.0) and S.matches("kl_hard_diff", -1e-9)   # strict "< 0"
    assert not S.matches("over_out", 0.0) and S.matches("over_out", 3.0)            # strict "> 0"
    assert S.matches("kl_t0_min", S.KL_FLOOR) and not S.matches("kl_t0_min", S.KL_FLOOR - 0.01)
    assert not S.matches("tnr_ptheta_d10", float("nan"))


def test_decide_fits_excludes_and_names_the_numbers():
    good, bad = _signature(), _signature(tnr_ptheta_d10=0.39, kl_t0_min=-5.0)
    sigs = {"H0": {0: bad, 1: bad, 2: bad}, "H1": {0: good, 1: good, 2: bad}, "H2": {0: good, 1: bad, 2: bad}}
    d = S.decide(sigs)
    assert d["H1"]["fits"] and d["H1"]["excluded_by"] == []          # 2 of 3 seeds suffice
    assert not d["H2"]["fits"] and d["H2"]["excluded_by"] == ["tnr_ptheta_d10", "kl_t0_min"]
    assert not d["H0"]["fits"] and d["H0"]["matched"]["tnr_ptheta_d10"] == 0
    assert set(d["test_sets"]) == {t.key for t in S.TARGETS if t.density == "truth"}


def test_truth_numbers_count_only_for_hypotheses_of_both_densities():
    sig = _signature(tnr_p_d25=0.78)   # our test sets miss the thesis's 0.91
    d = S.decide({"H1": {0: sig}, "H5": {0: sig}})
    assert d["H1"]["fits"]                                              # model-only: not scored on it
    assert d["H5"]["excluded_by"] == ["tnr_p_d25"]                      # both densities: scored
    assert "tnr_p_d25" not in S.scored_targets("H2") and "tnr_p_d25" in S.scored_targets("H4")


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    flow = RealNVP(4, 2, (8,), rng=rng)
    flow.params = tree_map(lambda a: a + 0.3 * rng.standard_normal(np.shape(a)), flow.params)  # not the identity
    x = rng.standard_normal((50, 4)) * 1.5 + 0.3
    return flow, x


def test_score_kinds_on_a_tiny_flow(tiny):
    flow, x = tiny
    z, ld = flow.forward(x)
    base = standard_normal_log_prob(z)
    assert not np.allclose(ld, 0.0)
    shift, scale = np.array([0.5, -1.0, 2.0, 0.0]), np.array([1.0, 2.0, 0.5, 3.0])
    sc = S.flow_scores(flow, x, shift, scale)
    np.testing.assert_allclose(sc["correct"], flow.log_prob(x), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(sc["no_logdet"], base, rtol=1e-12)                   # H2: the log-det dropped
    np.testing.assert_allclose(sc["neg_logdet"], base - ld, rtol=1e-12)             # H3: its sign flipped
    xi, ldi = flow.inverse(x)                                                       # H6: inverse as forward
    np.testing.assert_allclose(sc["inverse"], standard_normal_log_prob(xi) + ldi, rtol=1e-12)
    assert not np.allclose(sc["inverse"], sc["correct"])
    f32 = flow.astype("float32").log_prob(x.astype(np.float32))                     # H7: float32
    np.testing.assert_allclose(sc["float32"], f32, rtol=1e-5)
    assert not np.array_equal(sc["float32"], sc["correct"])
    c = np.sum(np.log(scale))                                                        # H8: flow of (x - m) / sd
    np.testing.assert_allclose(sc["std_raw"], flow.log_prob(shift + scale * x) + c, rtol=1e-12)
    np.testing.assert_allclose(sc["correct_std"], sc["correct"] + c, rtol=1e-12)


def test_bounds_tnr_sep_and_the_reading():
    ref = np.arange(1000.0)
    lu = S.bounds(ref, 0.975)
    assert S.tnr(ref, lu) == pytest.approx(0.025, abs=0.003)
    out = np.array([-5.0, 500.0, 2000.0, np.nan])
    assert S.tnr(out, lu) == 0.5                                 # NaN never flagged
    assert S.tnr(out, lu, "inside") == 0.5                       # H5: 1 - TNR
    assert S.sep(ref, ref) == pytest.approx(0.0, abs=1e-12)
    assert S.sep(ref, ref + 5000) == 1.0


def _data(study, rng):
    """Scored sets with a model that equals the truth, except that p_theta of the perturbed sets is p's on q."""
    def cell(mu, n=400):
        lp = rng.standard_normal(n) + mu
        return {"logp": lp, **{k: lp.copy() for k in S.SCORES}, "H_q": 1.0}
    data = {}
    for d in study.dims:
        data[d] = {"ref": cell(0.0), "train": cell(0.0)}
        for (dd, fam, s, t) in S.cells_needed(study):
            if dd == d:
                data[d][(fam, s, t)] = cell(-3.0 if fam == "perturbed" else -10.0 if fam == "outlier" else 0.0)
    return data


def test_signature_h1_scores_the_unperturbed_set_for_the_model_only():
    study = S.SlipStudy(dims=(4, 6), dim_c10=6)
    data = _data(study, np.random.default_rng(1))
    h0, h1, h1b = (S.signature(k, data, study) for k in ("H0", "H1", "H1b"))
    assert h0["tnr_ptheta_d10"] > 0.5 and h1["tnr_ptheta_d10"] < 0.1    # q(1, 0) looks like Q(p)
    assert h1["tnr_p_d10"] == h0["tnr_p_d10"] > 0.5                     # the truth untouched (model only)
    assert h1b["tnr_p_d10"] < 0.1                                        # both densities moved
    assert set(h0) == set(S.TARGET)
