"""The test-set construction sweep was pre-registered: from git, every file under reproduction/testsets/
was first committed in a commit that descends from (and is not) the commit that first added
minflow/thesis/documents/testsets.py, and the rule (testsets.py between its rule markers; regimes.py's
GAP_BAR, TNR_BAR, MIN_SEEDS, PERTURBED, meets, tnr_key, which it reuses) is unchanged since then.
Skipped without git history (no .git, a shallow clone, or nothing committed yet). The checker is
also run on small throw-away repositories, so that it is seen to fail."""
import ast
from pathlib import Path

import pytest

from preregistration import git, order_problems as _order_problems, this_repository_or_skip, throwaway_repo

MODULE = "minflow/thesis/documents/testsets.py"
REGIMES = "minflow/thesis/documents/regimes.py"
RESULTS = "reproduction/testsets"
MARKERS = ("# ---- the rule (pre-registered", "# ---- end of the rule ----")
REGIMES_RULE = ("GAP_BAR", "TNR_BAR", "MIN_SEEDS", "PERTURBED", "meets", "tnr_key")


def named_sources(text, names=REGIMES_RULE):
    """{name: source} of the top-level assignments and functions of ``names`` in a module's text."""
    found = {}
    for node in ast.parse(text).body:
        targets = ([t.id for t in node.targets if isinstance(t, ast.Name)] if isinstance(node, ast.Assign)
                   else [node.name] if isinstance(node, ast.FunctionDef) else [])
        for name in set(targets) & set(names):
            found[name] = ast.get_source_segment(text, node)
    return found


def order_problems(root, module=MODULE, regimes=REGIMES, results=RESULTS):
    """-> (prereg commit or None, [problem]); an empty list: the order holds."""
    prereg, problems = _order_problems(root, module, results, MARKERS, "rule block")
    if prereg is None:
        return None, []
    rc, reg_then = git(root, "show", f"{prereg}:{regimes}")
    if rc or named_sources(reg_then) != named_sources((Path(root) / regimes).read_text()):
        problems.append(f"the rule that {module} reuses from {regimes} changed since {prereg[:10]}")
    return prereg, problems


def test_the_results_follow_the_preregistration():
    prereg, problems = order_problems(this_repository_or_skip())
    if prereg is None:
        pytest.skip(f"{MODULE} is not committed yet")
    assert problems == []


# the checker itself, on throw-away repositories

RULE = "X = 1\n# ---- the rule (pre-registered; ...) ----\nGAP_BAR = 0.25\ndef decide(p):\n    return p\n# ---- end of the rule ----\n"
REG = "GAP_BAR = 0.25\nTNR_BAR = 0.10\ndef meets(p):\n    return p\n"


@pytest.mark.slow  # git commits in throw-away repositories: ~2 s
def test_the_checker_passes_the_right_order_and_fails_the_wrong_ones(tmp_path):
    pre = {MODULE: RULE, REGIMES: REG}
    ok = throwaway_repo(tmp_path / "ok", [pre, {f"{RESULTS}/points.csv": "a\n", MODULE: RULE + "def report():\n    pass\n"}])
    assert order_problems(ok)[1] == []
    early = throwaway_repo(tmp_path / "early", [{f"{RESULTS}/points.csv": "a\n", REGIMES: REG}, {MODULE: RULE}])
    assert any("does not descend" in p for p in order_problems(early)[1])
    same = throwaway_repo(tmp_path / "same", [{**pre, f"{RESULTS}/points.csv": "a\n"}])
    assert any("does not descend" in p for p in order_problems(same)[1])
    moved = throwaway_repo(tmp_path / "moved", [pre, {f"{RESULTS}/points.csv": "a\n", MODULE: RULE.replace("0.25", "0.5"),
                                             REGIMES: REG.replace("0.10", "0.2")}])
    problems = order_problems(moved)[1]
    assert len(problems) == 2 and "rule block" in problems[0] and REGIMES in problems[1]
