"""The slip study was pre-registered: from git, every file under reproduction/slips/ was first committed in a
commit that descends from (and is not) the commit that first added minflow/thesis/documents/slips.py, and
slips.py's pre-registered block (hypotheses, published numbers and tolerances, scoring rule, score
transforms; between its PRE-REGISTERED markers) is unchanged since then. Skipped without git history (no
.git, a shallow clone, or nothing committed yet). The checker is also run on small throw-away repositories,
so that it is seen to fail."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULE = "minflow/thesis/documents/slips.py"
RESULTS = "reproduction/slips"
BEGIN, END = "# --- PRE-REGISTERED: BEGIN", "# --- PRE-REGISTERED: END ---"


def git(root, *args):
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return out.returncode, out.stdout.strip()


def registered_block(text):
    """slips.py's pre-registered part: the text between its markers (None if a marker is missing)."""
    if BEGIN not in text or END not in text:
        return None
    return text[text.index(BEGIN):text.index(END)]


def order_problems(root, module=MODULE, results=RESULTS):
    """-> (pre-registration commit or None, [problem]); an empty list: the order holds."""
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
    if then_rc or registered_block(then) is None or registered_block(now) != registered_block(then):
        problems.append(f"the pre-registered block of {module} changed since {prereg[:10]}")
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

BLOCK = ("X = 1\n# --- PRE-REGISTERED: BEGIN ---\nTOL = 0.05\ndef decide(s):\n    return s\n"
         "# --- PRE-REGISTERED: END ---\n")


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
    pre = {MODULE: BLOCK}
    ok = _repo(tmp_path / "ok", [pre, {f"{RESULTS}/decision.json": "{}\n", MODULE: BLOCK + "def report():\n    pass\n"}])
    assert order_problems(ok)[1] == []
    early = _repo(tmp_path / "early", [{f"{RESULTS}/decision.json": "{}\n"}, pre])
    assert any("does not descend" in p for p in order_problems(early)[1])
    same = _repo(tmp_path / "same", [{**pre, f"{RESULTS}/decision.json": "{}\n"}])
    assert any("does not descend" in p for p in order_problems(same)[1])
    moved = _repo(tmp_path / "moved", [pre, {f"{RESULTS}/decision.json": "{}\n", MODULE: BLOCK.replace("0.05", "0.1")}])
    problems = order_problems(moved)[1]
    assert len(problems) == 1 and "pre-registered block" in problems[0]
