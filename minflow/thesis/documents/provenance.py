"""What was fixed before which results: rules v2 against the tables committed before them, from git.

Rules v2 (claims.py in ``RULES_COMMIT``) were written after the v1 results had been seen. This module
reads the history and records, in reproduction/provenance.json (committed, so the report needs no git):

* ``seen``: every results table now under reproduction/ whose rows (every column but ``seconds``) were
  already in a table.csv committed before the rules commit, with how many rows and which claims' checks
  those rows alone decide exactly as the whole table does;
* ``v1_vs_v2``: every (table, claim) whose verdict differs between rules v1 (claims.py of the commit
  before ``RULES_COMMIT``) and rules v2, with its direction (towards or against the thesis);
* ``v1_seen``: the v1 verdicts of the single-seed tables that were committed before the rules.

    python -m minflow.thesis.documents.provenance      # rewrite reproduction/provenance.json (needs git)
"""
import csv
import io as _io
import os
import subprocess
import sys
import tempfile
import types

from ..pipeline import run_files
from ..verdicts.claims import check_claims

RULES_COMMIT = "e53d849"   # rules v2: claims.py and reproduction/RULES.md
RANK = {"reproduced": 0, "partly": 1, "not reproduced": 2}   # towards the thesis = a smaller rank
PATH = os.path.join("reproduction", "provenance.json")


def git(*args, cwd="."):
    """stdout of a git command in ``cwd`` (a failed command: RuntimeError naming it)."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def has_history(repo=".", commit=RULES_COMMIT):
    """True when ``repo`` is a git checkout that holds ``commit`` (not a tarball or a shallow clone)."""
    try:
        git("cat-file", "-e", commit + "^{commit}", cwd=repo)
        return True
    except (RuntimeError, OSError):
        return False


def row_keys(text):
    """The rows of a table.csv's text as hashable contents (every column but ``seconds``)."""
    return [frozenset((k, v) for k, v in row.items() if k != "seconds") for row in csv.DictReader(_io.StringIO(text))]


def earlier_tables(repo, commit=RULES_COMMIT):
    """{row content: "path@commit"} of every table.csv committed before ``commit`` (its ancestors)."""
    seen = {}
    for c in git("rev-list", "--reverse", commit + "^", "--", "reproduction", cwd=repo).split():
        for path in git("ls-tree", "-r", "--name-only", c, "--", "reproduction", cwd=repo).split():
            if path.endswith("table.csv"):
                for key in row_keys(git("show", f"{c}:{path}", cwd=repo)):
                    seen.setdefault(key, f"{path}@{c[:7]}")
    return seen


def current_tables(repo):
    """Every committed results table under reproduction/ (a run still writing is not a result yet), sorted."""
    return sorted(p for p in git("ls-files", "--", "reproduction", cwd=repo).split() if p.endswith("/table.csv"))


def _same_checks(full, part):
    """{claim: [names of its checks that ``part`` (a subset of rows) decides exactly as ``full`` does]}."""
    whole = {c.id: c for c in check_claims(full)}
    sub = {c.id: {k.name: k for k in c.checks} for c in check_claims(part)} if part else {}
    return {cid: [k.name for k in c.checks if sub.get(cid, {}).get(k.name) == k] for cid, c in whole.items()}


def seen_record(repo, path, earlier):
    """One table's overlap with the earlier tables, or None when it has none."""
    text = open(os.path.join(repo, path)).read()
    keys = row_keys(text)
    hits = [earlier[k] for k in keys if k in earlier]
    if not hits:
        return None
    full = run_files.read_table(os.path.join(repo, path))
    part = [r for r, k in zip(full, keys) if k in earlier]
    same = _same_checks(full, part)
    totals = {c.id: len(c.checks) for c in check_claims(full)}
    return {"table": path, "rows": len(keys), "rows_seen": len(hits), "earlier": sorted(set(hits)),
            "claims_all_inputs_seen": [c for c in totals if totals[c] and len(same[c]) == totals[c]],
            "checks_seen": {c: names for c, names in same.items() if names and len(names) < totals[c]}}


def rules_v1(repo, commit=RULES_COMMIT):
    """The module claims.py of the commit before ``commit`` (rules v1; then in minflow/thesis/experiments/), loaded."""
    name = "minflow.thesis.pipeline._claims_v1"  # v1 lived beside lookup.py: its `from .lookup import` must resolve
    if name not in sys.modules:
        module = types.ModuleType(name)
        module.__package__ = "minflow.thesis.pipeline"
        src = git("show", f"{commit}^:minflow/thesis/experiments/claims.py", cwd=repo)
        exec(compile(src, f"claims.py@{commit}^", "exec"), module.__dict__)
        sys.modules[name] = module
    return sys.modules[name]


def verdict_changes(table, v1):
    """[(claim, v1 verdict, v2 verdict, direction)] where the two rules differ on ``table``."""
    old = {c.id: c.verdict for c in v1.check_claims(table)}
    out = []
    for c in check_claims(table):
        if old[c.id] != c.verdict:
            toward = RANK.get(c.verdict, 3) < RANK.get(old[c.id], 3)
            out.append([c.id, old[c.id], c.verdict, "towards the thesis" if toward else "against the thesis"])
    return out


def v1_seen(repo, v1, commit=RULES_COMMIT):
    """{path@commit: {claim: v1 verdict}} of the presets' single-seed tables as the rules commit's parent held them."""
    out = {}
    for preset in ("quick", "thesis"):
        path = f"reproduction/{preset}/table.csv"
        last = git("log", "-1", "--format=%h", commit + "^", "--", path, cwd=repo).strip()
        text = git("show", f"{last}:{path}", cwd=repo)
        with tempfile.TemporaryDirectory() as tmp:
            run_files.write_text(os.path.join(tmp, "table.csv"), text)
            out[f"{path}@{last}"] = {c.id: c.verdict for c in v1.check_claims(run_files.read_table(os.path.join(tmp, "table.csv")))}
    return out


def compute(repo="."):
    """The provenance record (see the module docstring) from the history of ``repo``."""
    earlier, v1 = earlier_tables(repo), rules_v1(repo)
    tables = current_tables(repo)
    seen = [r for p in tables if (r := seen_record(repo, p, earlier)) is not None]
    changes = {p: ch for p in tables if (ch := verdict_changes(run_files.read_table(os.path.join(repo, p)), v1))}
    return {"rules_commit": RULES_COMMIT, "v1": f"{RULES_COMMIT}^", "seen": seen, "v1_vs_v2": changes,
            "v1_seen": v1_seen(repo, v1)}


def _group(path):
    """reproduction/thesis/seed0/table.csv -> "thesis"."""
    return path.split("/")[1]


def changes_by_group(record):
    """{group: {(claim, v1, v2, direction): tables}} of the verdicts rules v2 changed."""
    out = {}
    first = ("thesis", "quick")   # the presets of the headline first, then the studies beyond the thesis
    for path, changes in sorted(record["v1_vs_v2"].items(), key=lambda kv: ((first + (_group(kv[0]),)).index(_group(kv[0])), kv[0])):
        for change in changes:
            group = out.setdefault(_group(path), {})
            group[tuple(change)] = group.get(tuple(change), 0) + 1
    return out


def _seen_text(r):
    parts = ([f"every input of {', '.join(r['claims_all_inputs_seen'])}"] if r["claims_all_inputs_seen"] else []) + \
        [f"{len(names)} check{'s' if len(names) != 1 else ''} of {cid}" for cid, names in r["checks_seen"].items()]
    held = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return (f"`{r['table']}` repeats {r['rows_seen']} of its {r['rows']} test sets bit for bit (every column, the model's "
            f"too) from `{'`, `'.join(r['earlier'])}`, which hold {held}")


def _change_text(group, changes):
    parts = [f"{cid} {v1} -> {v2} in {n} table{'s' if n != 1 else ''} ({direction})"
             for (cid, v1, v2, direction), n in sorted(changes.items(), key=lambda kv: (int(kv[0][0][1:]), kv[0]))]
    return f"{group}: " + "; ".join(parts)


def markdown(record):
    """The paragraph of REPRODUCTION.md that says what was fixed before which results, from the record."""
    v1 = "; ".join(f"`{where}`: " + ", ".join(f"{c} {v}" for c, v in verdicts.items())
                   for where, verdicts in record["v1_seen"].items())
    groups = changes_by_group(record)
    against = {g: sum(n for ch, n in c.items() if ch[3] == "against the thesis") for g, c in groups.items()}
    total = {g: sum(c.values()) for g, c in groups.items()}
    tally = ", ".join(f"{g} {against[g]} of {total[g]}" for g in groups)
    return [f"**What was fixed before which results.** Rules v2 were committed in `{record['rules_commit']}` *after* the "
            f"results of rules v1 (claims.py of `{record['v1']}`) had been seen, and RULES.md quotes them; rules v1 had "
            f"decided the single-seed tables then committed as: {v1}. So rules v2 are a rule written after looking, not a "
            "pre-registration, and some results they decide are older than they are: " + "; ".join(_seen_text(r) for r in record["seen"]) + ". Every other result under "
            f"`reproduction/` was first committed after `{record['rules_commit']}`.", "",
            "Rules v2 changed these verdicts of the committed runs against rules v1 (computed from git into "
            "`reproduction/provenance.json` by `python -m minflow.thesis.documents.provenance`): "
            + " | ".join(_change_text(g, c) for g, c in groups.items())
            + f". Changes against the thesis, per group: {tally}.", ""]


def read(root="reproduction"):
    """The committed record, or None where there is none."""
    path = os.path.join(root, "provenance.json")
    return run_files.read_json(path, dict) if os.path.exists(path) else None


if __name__ == "__main__":
    run_files.write_json(PATH, compute("."))
    print(PATH)
