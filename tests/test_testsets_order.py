"""The test-set construction sweep was pre-registered: from git, every file under reproduction/testsets/
was first committed in a commit that descends from (and is not) the commit that first added
minflow/thesis/documents/testsets.py, and the rule (testsets.py between its rule markers; regimes.py's
GAP_BAR, TNR_BAR, MIN_SEEDS, PERTURBED, meets, tnr_key, which it reuses) is unchanged since then.
Skipped without git history (no .git, a shallow clone, or nothing committed yet). The checker is
also run on small throw-away repositories, so that it is seen to fail."""
import ast
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULE = "minflow/thesis/documents/testsets.py"
REGIMES = "minflow/thesis/documents/regimes.py"
RESULTS = "reproduction/testsets"
BEGIN, END = "# ---- the rule (pre-registered", "# ---- end of the rule ----"
REGIMES_RULE = ("GAP_BAR", "TNR_BAR", "MIN_SEEDS", "PERTURBED", "meets", "tnr_key")


def git(root, *args):
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return out.returncode, out.stdout.strip()


def rule_block(text):
    """testsets.py's rule: the lines between its markers (None if a marker is missing)."""
    if BEGIN not in text or END not in text:
        return None
    return text[text.index(BEGIN):text.index(END)]


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
    rc, added = git(root, "log", "--diff-filter=A", "--format=%H", "--", module)
    if rc or not added:
        return None, []
    prereg, problems = added.splitlines()[-1], []
    rc, firsts = git(root, "log", "--diff-filter=A", "--format=%H", "--", results)
    for commit in dict.fromkeys(firsts.splitlines()):
        if commit == prereg or git(root, "merge-base", "--is-ancestor", prereg, commit)[0] != 0:
            problems.append(f"{commit[:10]} adds files under {results} but does not descend from the "
                            f"pre-registration {prereg[:10]}")
    then_rc, then = git(root, "show", f"{prereg}:{module}")
    now = (Path(root) / module).read_text()
    if then_rc or rule_block(then) is None or rule_block(now) != rule_block(then):
        problems.append(f"the rule block of {module} changed since {prereg[:10]}")
    rc, reg_then = git(root, "show", f"{prereg}:{regimes}")
    if rc or named_sources(reg_then) != named_sources((Path(root) / regimes).read_text()):
        problems.append(f"the rule that {module} reuses from {regimes} changed since {prereg[:10]}")
    return prereg, problems


def test_the_results_follow_the_preregistration():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("no git history")
    rc, shallow = git(ROOT, "rev-parse", "--is-shallow-repository")
    if rc or shallow == "true":
        pytest.skip("a shallow clone: the pre-registration commit may be missing")
    prereg, problems = order_problems(ROOT)
    if prereg is None:
        pytest.skip(f"{MODULE} is not committed yet")
    assert problems == []


# the checker itself, on throw-away repositories

RULE = "X = 1\n# ---- the rule (pre-registered; ...) ----\nGAP_BAR = 0.25\ndef decide(p):\n    return p\n# ---- end of the rule ----\n"
REG = "GAP_BAR = 0.25\nTNR_BAR = 0.10\ndef meets(p):\n    return p\n"


def _repo(tmp_path, steps):
    if shutil.which("git") is None:
        pytest.skip("no git")
    root = tmp_path / "repo"
    root.mkdir(parents=True)
    git(root, "init", "-q")
    for files in steps:
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        git(root, "add", "-A")
        git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "step")
    return root


@pytest.mark.slow  # git commits in throw-away repositories: ~2 s
def test_the_checker_passes_the_right_order_and_fails_the_wrong_ones(tmp_path):
    pre = {MODULE: RULE, REGIMES: REG}
    ok = _repo(tmp_path / "ok", [pre, {f"{RESULTS}/points.csv": "a\n", MODULE: RULE + "def report():\n    pass\n"}])
    assert order_problems(ok)[1] == []
    early = _repo(tmp_path / "early", [{f"{RESULTS}/points.csv": "a\n", REGIMES: REG}, {MODULE: RULE}])
    assert any("does not descend" in p for p in order_problems(early)[1])
    same = _repo(tmp_path / "same", [{**pre, f"{RESULTS}/points.csv": "a\n"}])
    assert any("does not descend" in p for p in order_problems(same)[1])
    moved = _repo(tmp_path / "moved", [pre, {f"{RESULTS}/points.csv": "a\n", MODULE: RULE.replace("0.25", "0.5"),
                                             REGIMES: REG.replace("0.10", "0.2")}])
    problems = order_problems(moved)[1]
    assert len(problems) == 2 and "rule block" in problems[0] and REGIMES in problems[1]
