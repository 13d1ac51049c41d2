"""The hostile class: every attack of issue 23, through `make grade-class`, scores what it deserves.

One generated class goes through the real command: an honest student (ada, with a canary in her
code), mallory (one attack per exercise, solutions elsewhere), a forger (stubs, one region that
forges results and edits the grader's copies), a linker (symlinks, a FIFO, a device in the
submission) and a sloth (every region ignores the alarm). Then a second class is graded, to show
that nothing persisted. Each attack must score 0 on its exercise and cost nothing elsewhere; no
secret, teacher file or classmate's code may reach any feedback; the venv, the teacher's
checkout, the classmates' folders, scores.csv and feedback/ stay as the grader left them.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from minflow.classroom import exercises as ex
from minflow.classroom import fences
from minflow.classroom import grade as gr
from minflow.classroom.grading import sandbox
from minflow.classroom.variants import variant_for

SECRET = "hostile-class-secret-7d41c"
CANARY = "ada-canary-5e9f0b"
REPO = ex.REPO_DIR
SITE = sysconfig.get_paths()["purelib"]
ARGS = "--timeout 4 --case-timeout 2 --budget 40"
SLEEPER = "31.4159"

pytestmark = pytest.mark.skipif(bool(sandbox.unavailable()), reason=f"needs bwrap: {sandbox.INSTALL}")


def write_submission(dest, student, replace=None, stubs=False):
    """``student``'s workspace: the solutions of their variant (or the stubs) in every region, except
    ``replace`` = {exercise: [lines of its first region]}."""
    ex.generate(dest, student=student, secret=SECRET, smoke_test=False)
    bodies = {} if stubs else ex.solution_bodies(ex.find_fences(), variant_for(student, SECRET))
    for name, lines in (replace or {}).items():
        path = gr.BY_NAME[name].path
        stub = fences.extract((dest / path).read_text(), path)
        bodies.setdefault(path, {}).setdefault(name, [r.body for r in stub if r.name == name])[0] = lines
    for rel, by_name in bodies.items():
        (dest / rel).write_text(fences.paste((dest / rel).read_text(), by_name, rel)[0])
    return dest


def thief(name, rel):
    """A region that finds the teacher's checkout (by path, sys.executable, /proc, the editable finder),
    reads the fence of ``name`` in ``rel`` and runs it: full marks wherever the teacher's files are readable."""
    return ["import glob, os, re, sys, textwrap",
            f"roots = [{str(REPO)!r}, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))]",
            "for d in glob.glob('/proc/[0-9]*'):",
            "    for what in ('cwd', 'root', 'exe'):",
            "        try:",
            "            roots.append(os.readlink(d + '/' + what))",
            "        except OSError:",
            "            pass",
            "    try:",
            "        roots += open(d + '/cmdline', 'rb').read().decode(errors='replace').split(chr(0))",
            "    except OSError:",
            "        pass",
            f"for f in glob.glob({SITE!r} + '/__editable__*') + glob.glob('/sandbox/site/*'):",
            "    try:",
            "        roots += re.findall(r\"'(/[^']+)'\", open(f).read())",
            "    except OSError:",
            "        pass",
            "for root in roots:",
            "    for up in ('', '..', '../..', '../../..'):",
            "        try:",
            f"            text = open(os.path.join(root, up, {rel!r})).read()",
            "        except OSError:",
            "            continue",
            f"        if '# BEGIN EXERCISE {name}' in text and 'nothing to steal' not in text:",
            f"            body = text.split('# BEGIN EXERCISE {name}')[1].split(chr(10), 1)[1].split('# END EXERCISE')[0]",
            "            ns = dict(globals(), **locals())",
            "            exec('def stolen():' + chr(10) + textwrap.indent(textwrap.dedent(body), '    '), ns)",
            "            return ns['stolen']()",
            "raise RuntimeError('nothing to steal')"]


def secret_reader(secret_path, classmate):
    """Reads the secret (its path, the grader's command line, environments) and a classmate's code,
    and puts whatever it found into an exception: the text a report would show."""
    return ["import glob",
            f"found = []",
            f"for path in [{str(secret_path)!r}, {str(classmate)!r}] + glob.glob('/proc/*/cmdline') + "
            "glob.glob('/proc/*/environ'):",
            "    try:",
            "        found.append(open(path, 'rb').read().decode(errors='replace'))",
            "    except OSError:",
            "        pass",
            "raise RuntimeError('stolen: ' + ' | '.join(found))"]


def vandal(paths):
    """Tries to write every one of ``paths`` (a classmate's file, the CSV, feedback, the venv, the
    teacher's checkout); returns a wrong answer."""
    return ["for path in " + repr([str(p) for p in paths]) + ":",
            "    try:",
            "        with open(path, 'w') as f:",
            "            f.write('import os; os.environ[\"PWNED\"] = \"1\"' + chr(10))",
            "    except OSError:",
            "        pass",
            "return 0.0"]


def daemon(targets):
    """A setsid daemon (sleep SLEEPER, by exec) and a Python one that rewrites ``targets`` later."""
    return ["import os, time",
            "if os.fork() == 0:",
            "    os.setsid()",
            "    if os.fork() == 0:",
            f"        os.execv('/usr/bin/sleep', ['sleep', {SLEEPER!r}])",
            "    if os.fork() == 0:",
            "        time.sleep(1.0)",
            "        while True:",
            f"            for path in {[str(t) for t in targets]!r}:",
            "                try:",
            "                    open(path, 'w').write('student,percent' + chr(10) + 'mallory,100' + chr(10))",
            "                except OSError:",
            "                    pass",
            "            time.sleep(0.2)",
            "    os._exit(0)",
            "return 0.0"]


FORK_STORM = ["import os, time", "for i in range(600):", "    try:", "        if os.fork() == 0:",
              "            time.sleep(60)", "            os._exit(0)", "    except OSError:", "        pass",
              "return params"]
IGNORE_ALARM = ["import signal", "signal.signal(signal.SIGALRM, signal.SIG_IGN)", "while True:", "    pass"]
EDIT_COPIES = ["import glob, os, signal",
               "for path in glob.glob('/sandbox/**/*.py', recursive=True) + glob.glob('/sandbox/job/*'):",
               "    try:",
               "        open(path, 'a').write(chr(10) + 'raise SystemExit' + chr(10))",
               "    except OSError:",
               "        pass",
               "os.kill(os.getppid(), signal.SIGKILL)"]
BOMB = ["import numpy as np", "return np.zeros(3 * 10**6)"]


def forge():
    """Every way a region could hand the grader a verdict: records in files, lines on every open file
    descriptor and on the parent's stdout through /proc; then it edits the copies and kills the child."""
    lines = [f'R {n} {{"k": {k}, "status": "pass", "message": ""}}' for n in ex.NAMES for k in range(4)]
    lines += [f'E {n} {{"exit": 0, "timed_out": false}}' for n in ex.NAMES]
    return ["import json, os",
            f"text = {chr(10).join(lines) + chr(10)!r}",
            "for path in ['/proc/%d/fd/1' % os.getppid(), '/sandbox/out/coupling_log_det.0.json', 'out/x.json']:",
            "    try:",
            "        open(path, 'w').write(text)",
            "    except OSError:",
            "        pass",
            "for fd in range(0, 64):",
            "    try:",
            "        os.write(fd, text.encode())",
            "    except OSError:",
            "        pass",
            *EDIT_COPIES]


def mallory_attacks(subs, out, secret_path):
    ada = subs / "ada" / "minflow" / "bijectors" / "coupling.py"
    return {
        "coupling_log_det": thief("coupling_log_det", "minflow/bijectors/coupling.py"),
        "prior_log_prob": secret_reader(secret_path, ada),
        "mlp": ["import os, sys", "found = [p for p in sys.path if os.path.isdir(os.path.join(p, 'minflow', 'classroom'))]",
                "raise RuntimeError(f'no teacher copy: {found}')"],
        "flow_log_prob": ["import os", "os._exit(0)"],
        "mean_nll": ["while True:", "    try:", "        pass", "    except BaseException:", "        pass"],
        "sample_flow": IGNORE_ALARM,
        "kl_gaussian": ["return 0.5 * (", "    q.dim"],
        "tpr_bounds": ["return (-2.2414, 2.2310)"],
        "coupling_forward": ["return x_b"],
        "auroc": BOMB,
        "coupling_inverse": ["return ((y_b - t) * xp.exp(-s)).astype('float32')"],
        "gaussian_entropy": ["import os, signal", "os.kill(os.getppid(), signal.SIGKILL)"],
        "bounded_scale": ["import os", "os.kill(-1, 9)"],
        "inverse_log_det": EDIT_COPIES,
        "additive_coupling": ["return helper_outside_the_region(x_b, t)"],
        "cross_entropy_gaussian": ["import sys", "tasks = sys.modules.get('_grading_tasks')",
                                   "return float('nan') if tasks is None else tasks.standin_kl(q, p)"],
        "kl_isotropic": vandal([ada, out / "scores.csv", out / "feedback" / "ada.json", Path(SITE) / "zz_pwned.pth",
                                REPO / "minflow" / "zz_pwned.py", secret_path]),
        "entropy_affine": daemon([out / "scores.csv", out / "feedback" / "ada.json", out / "feedback" / "mallory.txt"]),
        "adam_step": FORK_STORM,
        "ood_bounds": ["import os, signal", "for sig in (signal.SIGSTOP, signal.SIGINT, signal.SIGTERM, signal.SIGKILL):",
                       "    os.kill(os.getppid(), sig)", "    os.kill(1, sig)"],
    }


# 0 for every attack, except the float32 result (its two direct calls fail, the layer and the gradient pass)
# and the helper outside the region (the exercise's second region holds the solution)
PARTLY = {"coupling_inverse": 0.5, "additive_coupling": 1 / 3}
LINKED = {"minflow/flow.py": ("flow_log_prob", "mean_nll"), "minflow/thesis/ood.py": ("tpr_bounds", "true_negative_rate",
                                                                                       "auroc"),
          "minflow/practice/derive.py": ("entropy_affine", "kl_isotropic")}


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def make_grade_class(subs, out, secret_path, args=ARGS, env=None):
    """`make grade-class` on ``subs``, its CSV and feedback in ``out``: -> (completed process, seconds)."""
    start = time.monotonic()
    proc = subprocess.run(["make", "-s", "-C", str(REPO), "-o", ".venv/.installed-stamp", "grade-class",
                           f"BIN={Path(sys.executable).parent}", f"SECRET={secret_path}", f"SUBMISSIONS={subs}",
                           f"CSV={out / 'scores.csv'}", f"FEEDBACK={out / 'feedback'}", "JOBS=2", f"ARGS={args}"],
                          capture_output=True, text=True, env=env, timeout=600)
    return proc, time.monotonic() - start


def read_scores(out):
    return {r["student"]: r for r in csv.DictReader(open(out / "scores.csv"))}


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """The first class, graded by `make grade-class`: what the files held right after, and a second later."""
    tmp = tmp_path_factory.mktemp("hostile")
    subs, out = tmp / "submissions", tmp / "out"
    out.mkdir()
    secret_path = tmp / "secret.txt"
    secret_path.write_text(SECRET + "\n")
    ada = write_submission(subs / "ada", "ada")
    coupling = ada / "minflow/bijectors/coupling.py"
    coupling.write_text(coupling.read_text().replace("return xp.sum(s, axis=1)", f"return xp.sum(s, axis=1)  # {CANARY}"))
    mallory = write_submission(subs / "mallory", "mallory", mallory_attacks(subs, out, secret_path))
    additive = mallory / "minflow/bijectors/additive.py"
    additive.write_text(additive.read_text() + "\n\ndef helper_outside_the_region(x_b, t):\n    return x_b + t\n")
    write_submission(subs / "forger", "forger", {"coupling_forward": forge()}, stubs=True)
    write_submission(subs / "sloth", "sloth", {n: IGNORE_ALARM for n in ex.NAMES}, stubs=True)
    linker = write_submission(subs / "linker", "linker")
    for rel, target in (("minflow/flow.py", REPO / "minflow/flow.py"), ("minflow/thesis/ood.py", secret_path),
                        ("minflow/practice/derive.py", Path("/dev/zero"))):
        (linker / rel).unlink()
        (linker / rel).symlink_to(target)
    (linker / ex.MARKER).unlink()
    os.mkfifo(linker / ex.MARKER)
    (linker / "minflow" / "huge.py").write_bytes(b"#" * (3 * 2**20))
    before = {"ada": snapshot(ada), "site": sorted(os.listdir(SITE)), "secret": secret_path.read_bytes()}
    proc, seconds = make_grade_class(subs, out, secret_path)
    after = snapshot(out)
    time.sleep(2.0)
    return dict(subs=subs, out=out, proc=proc, seconds=seconds, before=before, after=after, tmp=tmp,
                secret_path=secret_path, later=snapshot(out), rows=read_scores(out) if proc.returncode == 0 else {})


def feedback(cls, student):
    return json.loads((cls["out"] / "feedback" / f"{student}.json").read_text())


def scores(report):
    return {e["name"]: e["score"] for e in report["exercises"]}


def test_the_class_is_graded_by_make_within_its_time_budget(hostile_class):
    proc = hostile_class["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(hostile_class["rows"]) == {"ada", "mallory", "forger", "sloth", "linker"}
    # five students, two at a time, 4 s per exercise, 40 s per student at most
    assert hostile_class["seconds"] < 180, hostile_class["seconds"]


def test_honest_ada_keeps_full_marks_and_her_folder(hostile_class):
    assert float(hostile_class["rows"]["ada"]["percent"]) == 100.0
    flags = hostile_class["rows"]["ada"]["flags"]
    assert gr.FLAG_EDITED not in flags or gr.FLAG_VERSION in flags  # the library changed meanwhile: its diff shows
    assert snapshot(hostile_class["subs"] / "ada") == hostile_class["before"]["ada"]


def test_each_of_mallorys_attacks_scores_0_on_its_exercise_and_nothing_else_is_lost(hostile_class):
    got = scores(feedback(hostile_class, "mallory"))
    attacked = mallory_attacks(Path("s"), Path("o"), Path("x"))
    assert {n: s for n, s in got.items() if n in attacked} == pytest.approx(
        {n: PARTLY.get(n, 0.0) for n in attacked}), got
    assert all(s == 1.0 for n, s in got.items() if n not in attacked), got


def test_the_thief_would_score_without_the_sandbox(hostile_class):
    """The teeth of the thief: unsandboxed (practice mode) it finds the teacher's solution."""
    report = gr.grade(hostile_class["subs"] / "mallory", ["coupling_log_det"], student="mallory",
                      unsandboxed=True, exercise_timeout=10, case_timeout=5)
    assert scores(report) == {"coupling_log_det": 1.0} and gr.FLAG_UNSANDBOXED in report["flags"]


def test_forged_verdicts_and_edited_copies_give_nothing(hostile_class):
    assert float(hostile_class["rows"]["forger"]["percent"]) == 0.0
    assert all(e["score"] == 0 for e in feedback(hostile_class, "forger")["exercises"])


def test_symlinks_fifos_and_devices_are_never_read(hostile_class):
    report = feedback(hostile_class, "linker")
    zero = {n for names in LINKED.values() for n in names}
    assert {n for n, s in scores(report).items() if s != 1.0} == zero, scores(report)
    edits = "\n".join(report["edits"])
    for rel in (*LINKED, ex.MARKER, "minflow/huge.py"):
        assert f"skipped {rel} (not a regular file" in edits, edits


def test_an_alarm_ignored_everywhere_costs_only_the_students_budget(hostile_class):
    report = feedback(hostile_class, "sloth")
    assert report["percent"] == 0.0
    messages = " ".join(c["message"] for e in report["exercises"] for c in e["cases"])
    assert "time budget" in messages


def test_no_secret_teacher_file_or_classmates_code_reaches_any_feedback(hostile_class):
    text = "\n".join(v.decode(errors="replace") for v in hostile_class["after"].values())
    assert SECRET not in text and CANARY not in text.replace(json.dumps(CANARY), "")
    assert CANARY not in (hostile_class["out"] / "feedback" / "mallory.json").read_text()
    assert "BEGIN EXERCISE" not in text and "raise NotImplementedError" not in text.split("Exercise")[0]
    mallory = feedback(hostile_class, "mallory")
    stolen = [c["message"] for e in mallory["exercises"] if e["name"] == "prior_log_prob" for c in e["cases"]]
    assert stolen and all(m.startswith("raised RuntimeError: stolen") for m in stolen), stolen


def test_nothing_outside_the_sandbox_was_written_and_nothing_outlived_it(hostile_class):
    assert hostile_class["later"] == hostile_class["after"], "scores.csv or feedback/ changed after grading"
    assert sorted(os.listdir(SITE)) == hostile_class["before"]["site"]
    assert not (REPO / "minflow" / "zz_pwned.py").exists()
    assert hostile_class["secret_path"].read_bytes() == hostile_class["before"]["secret"]
    left = [c for c in command_lines() if c == ["sleep", SLEEPER] or  # the daemon, and this suite's sandboxes
            c[-2:-1] == ["/sandbox/harness/zygote.py"] and '"exercise_timeout": 4.0, "case_timeout": 2.0' in c[-1]]
    assert not left, left


def command_lines():
    """The command line of every process on the machine (as lists of arguments)."""
    out = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            out.append(path.read_bytes().decode(errors="replace").split("\0")[:-1])
        except OSError:
            pass
    return out


def test_the_next_class_is_graded_as_if_nothing_happened(hostile_class):
    subs, out = hostile_class["tmp"] / "next", hostile_class["tmp"] / "next-out"
    out.mkdir()
    write_submission(subs / "grace", "grace")
    write_submission(subs / "bob", "bob", stubs=True)
    proc, _ = make_grade_class(subs, out, hostile_class["secret_path"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = read_scores(out)
    assert float(rows["grace"]["percent"]) == 100.0 and float(rows["bob"]["percent"]) == 0.0


def test_grading_for_marks_refuses_without_bwrap_and_practice_is_flagged(hostile_class):
    subs, out = hostile_class["tmp"] / "nobwrap", hostile_class["tmp"] / "nobwrap-out"
    out.mkdir()
    shutil.copytree(hostile_class["subs"] / "ada", subs / "ada", symlinks=True)
    env = dict(os.environ, MINFLOW_BWRAP="")
    proc, _ = make_grade_class(subs, out, hostile_class["secret_path"], "coupling_log_det", env)
    assert proc.returncode != 0 and "apt-get install bubblewrap" in proc.stderr, proc.stderr
    assert not (out / "scores.csv").exists()
    proc, _ = make_grade_class(subs, out, hostile_class["secret_path"], "coupling_log_det --unsandboxed", env)
    assert proc.returncode == 0, proc.stderr
    row = read_scores(out)["ada"]
    assert row["coupling_log_det"] == "1.0" and gr.FLAG_UNSANDBOXED in row["flags"]
