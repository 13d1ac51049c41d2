"""The slip study was pre-registered: from git, every file under reproduction/slips/ was first committed in a
commit that descends from (and is not) the commit that first added minflow/thesis/documents/slips.py, and
slips.py's pre-registered block (hypotheses, published numbers and tolerances, scoring rule, score
transforms; between its PRE-REGISTERED markers) is unchanged since then. Skipped without git history (no
.git, a shallow clone, or nothing committed yet). The checker is also run on small throw-away repositories,
so that it is seen to fail."""
import pytest

from preregistration import order_problems as _order_problems, this_repository_or_skip, throwaway_repo

MODULE = "minflow/thesis/documents/slips.py"
RESULTS = "reproduction/slips"
MARKERS = ("# --- PRE-REGISTERED: BEGIN", "# --- PRE-REGISTERED: END ---")


def order_problems(root, module=MODULE, results=RESULTS):
    """-> (pre-registration commit or None, [problem]); an empty list: the order holds."""
    return _order_problems(root, module, results, MARKERS, "pre-registered block")


def test_the_results_follow_the_preregistration():
    prereg, problems = order_problems(this_repository_or_skip())
    if prereg is None:
        pytest.skip(f"{MODULE} is not committed yet")
    assert problems == []


# the checker itself, on throw-away repositories

BLOCK = ("X = 1\n# --- PRE-REGISTERED: BEGIN ---\nTOL = 0.05\ndef decide(s):\n    return s\n"
         "# --- PRE-REGISTERED: END ---\n")


@pytest.mark.slow  # git commits in throw-away repositories: ~2 s
def test_the_checker_passes_the_right_order_and_fails_the_wrong_ones(tmp_path):
    pre = {MODULE: BLOCK}
    ok = throwaway_repo(tmp_path / "ok", [pre, {f"{RESULTS}/decision.json": "{}\n", MODULE: BLOCK + "def report():\n    pass\n"}])
    assert order_problems(ok)[1] == []
    early = throwaway_repo(tmp_path / "early", [{f"{RESULTS}/decision.json": "{}\n"}, pre])
    assert any("does not descend" in p for p in order_problems(early)[1])
    same = throwaway_repo(tmp_path / "same", [{**pre, f"{RESULTS}/decision.json": "{}\n"}])
    assert any("does not descend" in p for p in order_problems(same)[1])
    moved = throwaway_repo(tmp_path / "moved", [pre, {f"{RESULTS}/decision.json": "{}\n", MODULE: BLOCK.replace("0.05", "0.1")}])
    problems = order_problems(moved)[1]
    assert len(problems) == 1 and "pre-registered block" in problems[0]
