"""Grade reports as a student reads them (text) and as a gradebook reads them (CSV)."""
import csv

from .catalog import NAMES


def format_grade_report(report, verbose=False):
    """One line per exercise, then each failed case with its message and hint; the flags last."""
    lines = [f"Grading {report['workspace']} (student {report['student']}, seed {report['seed']})", "",
             f"  #  {'exercise':24s} lesson  score"]
    for e in report["exercises"]:
        label = {"pass": "ok", "not implemented": "not implemented", "fail": "FAIL"}[e["status"]]
        zero = "  (scores 0: no non-trivial case passed)" if e["score"] == 0 and e["passed"] else ""
        lines.append(f" {NAMES.index(e['name']) + 1:2d}  {e['name']:24s} {e['lesson']:6s}  "
                     f"{e['passed']}/{e['total']}   {label}{zero}")
        if e["status"] == "not implemented":
            lines.append(f"       {e['where']}: {e['cases'][0]['message']}")
            continue
        for case in e["cases"]:
            if case["status"] == "pass" and not verbose:
                continue
            lines.append(f"     {'ok' if case['status'] == 'pass' else 'x '} {case['label']}")
            if case["message"]:
                lines.append(f"         {case['message']}")
            if case["hint"]:
                lines.append(f"         hint: {case['hint']}")
    lines += ["", f"Score: {report['points']:.2f} / {report['max_points']} exercises = {report['percent']:.1f}%"]
    if report["flags"]:
        lines += [f"Flags: {'; '.join(report['flags'])}"] + [f"  {edit}" for edit in report["edits"][:5]]
    return "\n".join(lines)


def write_csv(path, reports):
    """One row per student: student, percent, each exercise's score, flags; an error row for a crash."""
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student", "percent", *NAMES, "flags", "seed"])
        for r in reports:
            if "error" in r:
                out.writerow([r["student"], "", *[""] * len(NAMES), f"grading error: {r['error']}", ""])
                continue
            scores = {e["name"]: round(e["score"], 3) for e in r["exercises"]}
            out.writerow([r["student"], round(r["percent"], 1), *[scores.get(n, "") for n in NAMES],
                          "; ".join(r["flags"]), r["seed"]])
