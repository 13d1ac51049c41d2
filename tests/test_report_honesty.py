"""The report claims no more than it shows (issue 25): what was fixed before which results, read from the
content of the history (not from file paths); the robustness lines at the rules-v2 bars are the verdicts; the
sentences that were wrong follow the numbers (altered numbers change the words)."""
import os
import re

import pytest

from minflow.thesis.documents import ablations, highd, provenance

from minflow.thesis.verdicts import robustness
from minflow.thesis.verdicts.claims import BARS, Calibration, Check, ClaimResult, check_claims
from minflow.thesis.documents.document import load_preset
from minflow.thesis.verdicts.multiseed import summarize
from minflow.thesis.verdicts.notes import read_notes, render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPRO = os.path.join(ROOT, "reproduction")


def _text(path):
    return open(os.path.join(ROOT, path)).read()


def _history():
    if not os.path.isdir(os.path.join(ROOT, ".git")) and not os.path.isfile(os.path.join(ROOT, ".git")):
        pytest.skip("no .git here (a tarball or an exported tree): the history that provenance.json records cannot be read")
    if not provenance.has_history(ROOT):
        pytest.skip(f"the rules commit {provenance.RULES_COMMIT} is not in this history (a shallow clone)")


# --- what was fixed before which results: content, not paths -----------------------------------------
@pytest.fixture(scope="module")
def recomputed():
    _history()
    return provenance.compute(ROOT)


def test_the_committed_provenance_is_what_the_history_gives(recomputed):
    """Every results table's rows against every table.csv committed before the rules, and v1 against v2."""
    assert provenance.read(REPRO) == recomputed, "run `python -m minflow.thesis.documents.provenance`"


def test_every_result_that_predates_the_rules_is_named_in_the_report(recomputed):
    report = _text("REPRODUCTION.md")
    for r in recomputed["seen"]:
        assert f"`{r['table']}` repeats {r['rows_seen']} of its {r['rows']} test sets" in report, r["table"]
    if recomputed["seen"]:
        for path in ("REPRODUCTION.md", "reproduction/RULES.md", "reproduction/NOTES.md",
                     "minflow/thesis/verdicts/claims.py", "minflow/thesis/documents/document.py"):
            text = " ".join(_text(path).split())
            assert not re.search(r"before any (run|result)s? (they|it) decides?|rules v2 \S* ?(were|are) pre-registered",
                                 text, re.I), path


def test_every_changed_verdict_and_its_direction_is_in_the_report(recomputed):
    report = _text("REPRODUCTION.md")
    for group, changes in provenance.changes_by_group(recomputed).items():
        assert provenance._change_text(group, changes) in report


def test_rules_md_says_what_the_history_shows(recomputed):
    rules = " ".join(_text("reproduction/RULES.md").split())
    assert "written after the v1 results had been seen" in rules
    groups = provenance.changes_by_group(recomputed)
    presets_against = all(ch[3] == "against the thesis" for g in ("thesis", "quick") for ch in groups.get(g, {}))
    assert ("every change moved against the thesis" in rules) == presets_against


def test_a_table_with_rows_from_before_the_rules_is_found(tmp_path):
    """The content check itself: a row repeated from an earlier table is found whatever its path."""
    earlier = provenance.row_keys("D,s,seconds\n10,0.5,1.0\n20,1.0,2.0\n")
    seen = {k: "old/table.csv@abc" for k in earlier}
    now = provenance.row_keys("D,s,seconds\n10,0.5,9.9\n50,1.0,2.0\n")
    assert [k in seen for k in now] == [True, False]   # seconds left out; any other column counts


# --- robustness lines ---------------------------------------------------------------------------------
def test_every_sweep_moves_a_bar_of_the_rules_and_holds_its_value():
    assert set(robustness.SWEEPS) == set(BARS)
    for cid, sweeps in robustness.SWEEPS.items():
        for bar, _, values in sweeps:
            assert bar in BARS[cid] and BARS[cid][bar] in values, (cid, bar)


@pytest.mark.parametrize("name", ["quick", "thesis"])
def test_robustness_at_the_rules_v2_bars_is_the_verdict(name):
    p = load_preset(REPRO, name)
    if p is None:
        pytest.skip(f"no committed {name} seeds")
    tables = [r["table"] for r in p["runs"]]
    for s in p["summaries"]:
        for bar, _, _ in robustness.SWEEPS[s.id]:
            assert robustness.counts(tables, s.id, {bar: BARS[s.id][bar]}) == \
                (s.count("reproduced"), s.count("partly"), s.n), (s.id, bar)
        line = robustness.robustness_line(s.id, tables)
        want = robustness.count_text((s.count("reproduced"), s.count("partly"), s.n))
        assert all(f"(rules v2) -> {want}" in line for _ in robustness.SWEEPS[s.id]), line


def test_moved_bars_decide_differently_and_unknown_bars_are_refused():
    from test_claims import make_table
    table = make_table(True)
    assert [c.as_dict() for c in check_claims(table, {"C3": dict(BARS["C3"])})] == [c.as_dict() for c in check_claims(table)]
    assert robustness.decide(table, "C10", {"tnr": -1.0}) != "reproduced"
    with pytest.raises(ValueError, match="no such bar"):
        check_claims(table, {"C3": {"nonsense": 1}})


# --- the sentences follow the numbers ----------------------------------------------------------------
def _summaries(values, cid="C7", name="D=100 (a) model change < true change", cal=None):
    per_seed = [[ClaimResult(cid, "x", "t", "r", [Check(name, "m", True, v)], [Calibration(*cal[k])] if cal else [],
                             "reproduced")] for k, v in enumerate(values)]
    return {"quick": summarize(per_seed), "thesis": summarize(per_seed)}


def test_c7_words_follow_the_fraction():
    notes = read_notes(os.path.join(REPRO, "NOTES.md"))["C7"]
    field = re.search(r"\{\{thesis\|C7\|D=100 \(a\) model change < true change\|above:[^}]*\}\}", notes).group(0)
    assert "registers less" in render(field, _summaries([0.7, 0.9, 1.0]))
    assert "at least as strongly" in render(field, _summaries([0.1, 0.2, 0.3]))


def test_c6_noise_words_follow_a_stated_test():
    notes = read_notes(os.path.join(REPRO, "NOTES.md"))["C6"]
    name = "D=50 (a) sep_p - sep_ptheta > 3 se"
    field = re.search(r"\{\{quick\|C6\|" + re.escape(name) + r"\|significant:[^}]*\}\}", notes).group(0)
    assert render(field, _summaries([0.010, 0.011, 0.009, 0.012, 0.008], "C6", name)).startswith("systematic")
    assert render(field, _summaries([0.010, -0.011, 0.009, -0.008, 0.001], "C6", name)) == "not told from zero"
    stated = render("{{quick|C6|" + name + "|test}}", _summaries([0.010, 0.011, 0.009, 0.012, 0.008], "C6", name))
    assert "t-test" in stated and "positive in 5 of 5 seeds, exact sign test p = 0.062" in stated


def test_test_set_words_follow_the_true_density_against_the_thesis():
    notes = read_notes(os.path.join(REPRO, "NOTES.md"))["intro"]
    name = "perturbed s=0.25,t=0.5: TNR(p)"
    field = re.search(r"\{\{thesis\|C10\|" + re.escape(name) + r"\|vs_thesis:[^}]*\}\}", notes).group(0)
    low = _summaries([0.1, 0.1], "C10", "(c) x", cal=[(name, 0.79, 0.91), (name, 0.80, 0.91)])
    high = _summaries([0.1, 0.1], "C10", "(c) x", cal=[(name, 0.92, 0.91), (name, 0.93, 0.91)])
    assert "not matched" in render(field, low) and "not matched" not in render(field, high)


def test_c9_marks_checks_the_true_density_cannot_decide():
    name, cal = "D=10 (c) mean falls with t", "D=10 (c) mean falls with t with log p (1 = yes)"
    s = _summaries([1.0, -1.0, 1.0], "C9", name, cal=[(cal, 1.0), (cal, 0.0), (cal, 1.0)])["thesis"][0]
    assert robustness.untestable(s) == {name: [False, True, False]}
    assert "in 1 of 3 seeds" in robustness.untestable_text(s)
    every = _summaries([1.0, 1.0], "C9", name, cal=[(cal, 1.0), (cal, 1.0)])["thesis"][0]
    assert robustness.untestable(every) == {} and robustness.untestable_text(every) == ""


def test_high_d_fit_words_follow_the_bar():
    bar = BARS["C1"]["gap_sd"]
    assert "no model meets it" in highd.fit_sentence({200: [bar * 1.1, bar * 1.2], 500: [bar * 8]})
    assert "every model meets it" in highd.fit_sentence({200: [bar * 0.5], 500: [bar * 0.9]})
    assert "only some" in highd.fit_sentence({200: [bar * 0.5], 500: [bar * 8]})


def test_ablation_differences_carry_fishers_test():
    assert ablations.fisher_p(0, 3, 1, 3) == pytest.approx(1.0)
    assert ablations.fisher_p(0, 20, 20, 20) < 0.05
    def summary(k, n):
        return summarize([[ClaimResult("C1", "x", "t", "r", [], [], "reproduced" if i < k else "partly")] for i in range(n)])
    few = ablations._differences(["core", "v"], {"core": summary(3, 3), "v": summary(0, 3)})
    many = ablations._differences(["core", "v"], {"core": summary(20, 20), "v": summary(0, 20)})
    assert "0 of these 1 differences" in few and "within seed noise" in few
    assert "1 of these 1 differences is significant" in many
