"""The order check shared by the pre-registered studies' tests (test_slips_order.py, test_testsets_order.py):
from git, every file under a study's results folder was first committed in a commit that descends from (and is
not) the commit that first added the study's module, and the module's rule block is unchanged since then."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def git(root, *args):
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    return out.returncode, out.stdout.strip()


def block(text, begin, end):
    """The text from marker ``begin`` up to marker ``end`` (None if a marker is missing)."""
    if begin not in text or end not in text:
        return None
    return text[text.index(begin):text.index(end)]


def order_problems(root, module, results, markers, what):
    """-> (pre-registration commit or None, [problem]): results after the pre-registration, the block of
    ``module`` between ``markers`` unchanged since it (``what`` names the block in the message)."""
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
    if then_rc or block(then, *markers) is None or block(now, *markers) != block(then, *markers):
        problems.append(f"the {what} of {module} changed since {prereg[:10]}")
    return prereg, problems


def this_repository_or_skip():
    """ROOT, or skip: no git, no .git, or a shallow clone (the pre-registration commit may be missing)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("no git history")
    rc, shallow = git(ROOT, "rev-parse", "--is-shallow-repository")
    if rc or shallow == "true":
        pytest.skip("a shallow clone: the pre-registration commit may be missing")
    return ROOT


def throwaway_repo(tmp_path, steps):
    """A git repository under ``tmp_path`` with one commit per step ({path: text} each)."""
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
