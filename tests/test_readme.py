"""The commands the docs print work as typed.

Every ```python block of README.md is pasted, on its own, into a fresh interactive interpreter (the way a
reader tries it: line by line, echoing bare expressions), and every command line of the README and of
lessons/README.md is checked: make targets exist, `.venv/bin/python ...` commands run (or, for long ones,
every option they use is one the script accepts). The second quick-start snippet trains a D = 20 flow
(about a minute), so it is marked `slow`: `.ci/run` runs it with `make test-slow`.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "lessons" / "README.md"]
LONG_ECHO = 500  # a pasted line whose echo is longer than this floods the reader's terminal

# Feeds a snippet to code.InteractiveConsole line by line, as a paste into `python` does, and fails on
# the first error, or on a bare expression whose echo floods the terminal (print calls may print more).
REPL = r"""
import code, io, sys, contextlib
source = sys.stdin.read()
console = code.InteractiveConsole()
errors = []
console.showsyntaxerror = lambda filename=None, **kw: errors.append("SyntaxError")
console.showtraceback = lambda: errors.append("".join(__import__("traceback").format_exc()))
statement = []
for line in source.splitlines() + [""]:
    statement.append(line)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        more = console.push(line)
    text = out.getvalue()
    sys.stdout.write(text)
    if len(text) > %d and "print(" not in "\n".join(statement):
        errors.append(f"a %%d-character echo after: {line!r}" %% len(text))
    if not more:
        statement = []
    if errors:
        sys.stderr.write(f"REPL FAILED at {line!r}: {errors[0]}\n")
        sys.exit(1)
""" % LONG_ECHO


def code_blocks(path):
    """[(language, text)] of the fenced blocks of a Markdown file."""
    return re.findall(r"^```(\w*)\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def python_blocks(path):
    return [text for lang, text in code_blocks(path) if lang == "python"]


def command_lines(path):
    """Every line of a ```bash or unlabelled code block, without its trailing comment."""
    lines = []
    for block in (text for lang, text in code_blocks(path) if lang in ("", "bash", "sh")):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                lines.append(line)
    return lines


def _paste(snippet, cwd, timeout):
    return subprocess.run([sys.executable, "-c", REPL], input=snippet, capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**os.environ, "MPLBACKEND": "Agg"})


SNIPPETS = python_blocks(ROOT / "README.md")


def test_readme_has_the_two_quick_start_snippets():
    assert len(SNIPPETS) == 2, "the README's python blocks changed: update the markers below"


@pytest.mark.parametrize("k", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_readme_snippet_pasted_into_a_repl(k, tmp_path):
    snippet = SNIPPETS[k]
    compile(snippet, f"README.md python block {k}", "exec")  # also runs as a script
    proc = _paste(snippet, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_the_repl_check_can_fail(tmp_path):
    loop_then_statement = "for i in range(2):\n    print(i)\nprint('after')\n"
    assert _paste(loop_then_statement, tmp_path, 60).returncode == 1
    flood = "'x' * 2000\n"
    assert _paste(flood, tmp_path, 60).returncode == 1
    assert _paste("undefined_name\n", tmp_path, 60).returncode == 1
    assert _paste("for i in range(2):\n    print(i)\n\nprint('after')\n", tmp_path, 60).returncode == 0


def _make_targets():
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.M))


def _script_options(script):
    proc = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, f"{script} --help: {proc.stderr[-2000:]}"
    return set(re.findall(r"(--[a-z][a-z0-9_-]*)", proc.stdout))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_in_the_docs_works_as_typed(doc):
    targets = _make_targets()
    checked = 0
    for line in command_lines(doc):
        words = line.split()
        if words[0] == "make":
            assert words[1] in targets, f"{doc.name}: `{line}`: no make target {words[1]!r}"
        elif words[0] == ".venv/bin/python":
            if words[1] == "-m":
                proc = subprocess.run([sys.executable, *words[1:]], capture_output=True, text=True, cwd=ROOT,
                                      timeout=120)
                assert proc.returncode == 0, f"{doc.name}: `{line}`: {proc.stderr[-2000:]}"
            else:
                assert (ROOT / words[1]).is_file(), f"{doc.name}: `{line}`: no file {words[1]}"
                unknown = {w for w in words[2:] if w.startswith("--")} - _script_options(words[1])
                assert not unknown, f"{doc.name}: `{line}`: options the script does not take: {unknown}"
        else:
            pytest.fail(f"{doc.name}: `{line}`: not a command of the project's one way (make or .venv/bin/python)")
        checked += 1
    assert checked > 0


def test_no_bare_python_in_the_docs():
    """On a fresh machine `python` is missing or has no numpy: commands say `.venv/bin/python` or `make`."""
    pattern = re.compile(r"`(?:python3?|PYTHONPATH=\S+ python3?) (?:-m |lessons/|tools/|benchmarks/|book/)")
    files = [*DOCS, ROOT / "docs" / "ARCHITECTURE.md", *sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))]
    offenders = [f"{f.relative_to(ROOT)}:{k}: {line.strip()}" for f in files
                 for k, line in enumerate(f.read_text().splitlines(), 1) if pattern.search(line)]
    assert not offenders, "\n".join(offenders)
