"""Build the lessons as executed notebooks (`make notebooks`) and as a static HTML book (`make book`).

    python book/build.py notebooks [--lessons 01 05] [--args "--tiny"] [--out book/_build]
    python book/build.py book      [--lessons 01 05] [--args "--tiny"] [--out book/_build]

notebooks: each lessons/NN_*.py (jupytext percent format) is read by jupytext, executed by nbclient
    in a fresh IPython kernel with lessons/ as its working folder, and written, with its outputs, to
    <out>/notebooks/NN_*.ipynb. Nothing is written next to committed files: <out> (book/_build by
    default) is git-ignored, and the lessons write their figures and results.json to lessons/out/
    (git-ignored; MINFLOW_LESSONS_OUT changes it) as `make lessons` does, sharing its model cache.
    --args is passed to every lesson as if on its command line (MINFLOW_LESSON_ARGS), e.g. "--tiny".
book: the notebooks (executed first unless --reuse), exported by nbconvert's HTML exporter (the "lab"
    template: prose, code, printed output and figures inline) to <out>/html/, with a contents page
    (index.html, the thesis's sections per lesson), REPRODUCTION.md and lessons/README.md as pages,
    a glossary (glossary.html, book/glossary.py: each lesson's first use of a term in its prose links
    there), the exercises (exercises.html: one section per lesson, read from the classroom's catalog,
    with how to start and check them; every lesson page's navigation links its own section, so a student
    is one click from a lesson to its exercises), and navigation between lessons. Equations ($...$, $$...$$) are typeset by MathJax 2.7, copied from
    the PyPI package jupyter-server-mathjax into <out>/html/_static/mathjax, so the book needs no
    network. Open <out>/html/index.html (or serve it: python -m http.server -d book/_build/html).

The book carries what it links (book/links.py): a page's local links are written relative to the folder
of its source (REPRODUCTION.md: the repository root; lessons/README.md and the lessons, run in lessons/:
lessons/); each becomes a link to the page its target became (REPRODUCTION.md -> REPRODUCTION.html,
lessons/NN_*.py -> NN_*.html) or to a copy of the file at <out>/html/files/<its path in the repository>.
Headings get GitHub's ids beside nbconvert's, so REPRODUCTION.md#our-reading lands. The build machine's
folders (the repository, <out>, MINFLOW_LESSONS_OUT) are replaced in the pages by the paths a reader's
checkout has (lessons/out/05_baseline); book/check.py then checks every page's links and anchors (a
broken one is reported) and stops the build if a page still shows one of those folders.

Every page carries a small script (book/page_assets.py) that records, once MathJax has finished, how
many images loaded and how many equations failed (the attribute data-book-check on <html>);
tests/test_book.py reads it in headless Chromium, on every page.
"""
import argparse
import html
import os
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check  # noqa: E402  (book/check.py)
import glossary  # noqa: E402  (book/glossary.py)
import links  # noqa: E402  (book/links.py)
from page_assets import CHECK_SCRIPT, MATHJAX_CONFIG, STYLE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
DEFAULT_OUT = ROOT / "book" / "_build"
THESIS_URL = "https://repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91"
DEMO_URL = "https://github.com/aganse/flow_models"
THESIS_TITLE = ("N. de Bruin, <em>A Step Towards Understanding Normalizing Flows and their Likelihood Behavior</em>, "
                "MSc thesis, TU Delft, 2024")

# The contents page: each lesson and the thesis's sections it follows (lessons/README.md has the same).
SECTIONS = {
    "01": ("2.1", "the change-of-variables formula, eq. 1-2"),
    "02": ("2.1.1-2.1.2", "the affine coupling layer, eq. 3-6"),
    "03": ("2.1.3-2.1.5, 4", "prior, generation, maximum likelihood, eq. 2, 14-17"),
    "04": ("2.2, 3.2.1-3.2.2, 4", "entropy, cross-entropy, KL, Proposition 1, eq. 7-18"),
    "05": ("4 (Figure 1)", "the baseline: does the model fit $p$? finding C1"),
    "06": ("5 (Figures 2-6)", "scaled and shifted test sets, findings C3-C5"),
    "07": ("6 (Figures 7-10)", "perturbed distributions, findings C6-C7"),
    "08": ("7 (Figures 11-12)", "outliers, findings C8-C9"),
    "09": ("3.2.4, 8 (Figure 13)", "OOD detection with TPR-fixed bounds, finding C10"),
    "10": ("2.1 + the 2-D demo", "distribution mapping in 2-D, both ways"),
    "11": ("2.1.6 / appendix D", "NICE, ActNorm, the LU layer"),
    "12": ("6.2.1", "inside the model: $s$ and $t$ layer by layer"),
    "13": ("4, 8.2 (C1, C10)", "the regime map: which flows lose the perturbation, and do they fit p?"),
}

def lesson_files(selected=None):
    files = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
    if selected:
        files = [f for f in files if f.name[:2] in {s.zfill(2) for s in selected}]
        if not files:
            raise SystemExit(f"error: --lessons {selected}: no such lesson in lessons/")
    return files


def execute(path, args, timeout=1800):
    """lessons/NN_*.py -> executed notebook (nbformat), run with lessons/ as the working folder."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    os.environ["MINFLOW_LESSON_ARGS"] = args or ""  # the kernel inherits this process's environment
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(LESSONS)}})
    client.execute()
    return nb


def build_notebooks(files, out, args):
    import nbformat

    folder = out / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        start = time.perf_counter()
        nb = execute(path, args)
        nbformat.write(nb, folder / f"{path.stem}.ipynb")
        print(f"  {path.stem}.ipynb: executed in {time.perf_counter() - start:.1f} s -> {folder}", flush=True)
    return folder


def _title(nb, fallback):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, flags=re.M)
            if m:
                return m.group(1).strip()
    return fallback


def _nav(pages, k):
    links = ['<a href="index.html">Contents</a>', f'<a href="{glossary.PAGE}">Glossary</a>']
    if k is None:
        links.append(f'<a href="{EXERCISES_PAGE}">Exercises</a>')
    else:  # the lesson's own section of the exercises page: one click from the lesson to its exercises
        links.append(f'<a class="book-exercises" href="{exercises_link(pages[k])}">Exercises for this lesson</a>')
    if k is not None and k > 0:
        links.append(f'<a href="{pages[k - 1]}.html">&larr; previous</a>')
    if k is not None and k + 1 < len(pages):
        links.append(f'<a href="{pages[k + 1]}.html">next &rarr;</a>')
    links += ['<a href="REPRODUCTION.html">REPRODUCTION.md</a>', f'<a href="{THESIS_URL}">the thesis</a>']
    return '<nav class="book-nav">' + " ".join(links) + "</nav>\n"


def _finish_page(body, nav, site, base, name):
    """nbconvert's page -> the book's: local links carried (book/links.py), offline, MathJax configured,
    the check script and the navigation added, the build machine's folders replaced by the repository's."""
    body = site.linker.rewrite(body, base, name)
    # the lab template loads require.js and mermaid from a CDN; the lessons need neither, and the book
    # must work without a network
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    body = re.sub(r'<script type="module">(?:(?!</script>).)*https?://(?:(?!</script>).)*</script>', "", body, flags=re.S)
    body = re.sub(r"(<script[^>]*src=\"[^\"]*MathJax\.js[^\"]*\"[^>]*>\s*</script>)", lambda m: MATHJAX_CONFIG + m.group(1),
                  body, count=1)
    body = body.replace("</head>", STYLE + CHECK_SCRIPT + "</head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + nav, body, count=1)
    body = links.github_anchors(body.replace("</body>", nav + "</body>", 1))
    return links.scrub_paths(body, site.folders)


def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = "_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def _markdown_page(exporter, markdown, title):
    """A markdown file as a page of the book (same template, so equations render the same way)."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)])
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    return body


def _copy_mathjax(html_dir):
    import jupyter_server_mathjax

    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    dst = html_dir / "_static" / "mathjax"
    if not (dst / "MathJax.js").exists():
        shutil.copytree(src, dst, dirs_exist_ok=True)


EXERCISES_PAGE = "exercises.html"


def exercises_link(stem):
    """The link from lesson ``stem`` ("02_affine_coupling") to its section of the exercises page."""
    return f"{EXERCISES_PAGE}#lesson-{stem[:2]}"


def exercises_markdown(stems, titles):
    """The exercises page (Markdown): for each lesson of the book, an anchor (lesson-NN) and the exercises
    of the classroom's catalog that belong to it, with the commands that start and check them: the same
    catalog and commands that the lesson prints at its end (lessons/_lesson.py), never a second list."""
    sys.path.insert(0, str(LESSONS))
    import _lesson  # lessons/_lesson.py: START_EXERCISES, self_check_command, lesson_exercises

    with_exercises = sorted({e.lesson for e in _lesson._catalog().EXERCISES})
    lines = ["# Exercises", "",
             "The exercises of the classroom (`minflow/classroom/catalog.py`; the teachers' table is "
             "[docs/TEACHERS.md](docs/TEACHERS.md)), lesson by lesson. Each lesson prints the same list at its end, "
             "and its page links its section here (the navigation bar: *Exercises for this lesson*). "
             "[Contents](index.html)", "",
             f"Start: `{_lesson.START_EXERCISES}`. Check one lesson's: `{_lesson.self_check_command('NN')}`, "
             "with NN the lesson's number.", ""]
    for stem in stems:
        number = stem[:2]
        lines += [f'<a id="lesson-{number}"></a>', "", f"## Lesson {number}: [{html.escape(titles[stem])}]({stem}.html)", ""]
        mine = _lesson.lesson_exercises(number)
        if not mine:
            lines += [f"No exercise belongs to this lesson (the lessons with exercises: {', '.join(with_exercises)}).", ""]
            continue
        lines += ["| exercise | what you write | thesis section | where |", "| --- | --- | --- | --- |"]
        lines += [f"| `{e.name}` | {e.title} | {e.section} | `{e.where}` |" for e in mine]
        lines += ["", f"Start: `{_lesson.START_EXERCISES}`; self-check: `{_lesson.self_check_command(number)}`.", ""]
    return "\n".join(lines)


MARKDOWN_PAGES = (("REPRODUCTION", ROOT / "REPRODUCTION.md", "Reproducing the thesis"),
                  ("lessons", LESSONS / "README.md", "Lessons: the thesis, section by section"))


def _site(out, html_dir, stems):
    """What every page shares: the Linker (sources that are pages; the lessons' output folder, which may
    lie outside the repository) and the build machine's folders to replace in the text."""
    lessons_out = Path(os.environ.get("MINFLOW_LESSONS_OUT") or LESSONS / "out").resolve()
    folders = {ROOT: ""}  # the repository's own paths become relative to its root: lessons/out/05_baseline
    if not lessons_out.is_relative_to(ROOT):
        folders[lessons_out] = "lessons/out"
    if not out.is_relative_to(ROOT):
        folders[out] = "book/_build"
    pages = {LESSONS / f"{stem}.py": f"{stem}.html" for stem in stems}
    pages.update({source: f"{name}.html" for name, source, _ in MARKDOWN_PAGES if source.exists()})
    linker = links.Linker(ROOT, html_dir, pages, {k: v for k, v in folders.items() if k != ROOT})
    linker.names.update({glossary.PAGE, EXERCISES_PAGE})  # pages of the book written by build.py, not from a source file
    return argparse.Namespace(linker=linker, folders=folders)


def _clear(html_dir):
    """Drop the pages and carried files of an earlier build (a lesson left out now must not linger)."""
    for page in html_dir.glob("*.html"):
        page.unlink()
    shutil.rmtree(html_dir / "files", ignore_errors=True)


def build_book(files, out, args, reuse=False):
    import nbformat

    nb_dir = out / "notebooks"
    if not reuse:
        build_notebooks(files, out, args)
    html_dir = out / "html"
    html_dir.mkdir(parents=True, exist_ok=True)
    _clear(html_dir)
    _copy_mathjax(html_dir)
    exporter = _exporter()
    stems = [f.stem for f in files]
    site = _site(out, html_dir, stems)
    titles = {}
    for k, stem in enumerate(stems):
        nb = nbformat.read(nb_dir / f"{stem}.ipynb", as_version=4)
        titles[stem] = _title(nb, stem)
        nb.metadata["title"] = titles[stem].replace("$", "")  # the window title shows no TeX; the pages typeset it
        glossary.link_terms(nb)  # the first use of each glossary term in the prose -> glossary.html#term
        body, _ = exporter.from_notebook_node(nb)
        (html_dir / f"{stem}.html").write_text(_finish_page(body, _nav(stems, k), site, LESSONS, f"{stem}.html"))
    for name, source, title in MARKDOWN_PAGES:
        if source.exists():
            body = _markdown_page(exporter, source.read_text(), title)
            page = _finish_page(body, _nav(stems, None), site, source.parent, f"{name}.html")
            (html_dir / f"{name}.html").write_text(page)
    body = _markdown_page(exporter, glossary.glossary_markdown(), "Glossary")
    (html_dir / glossary.PAGE).write_text(_finish_page(body, _nav(stems, None), site, ROOT, glossary.PAGE))
    body = _markdown_page(exporter, exercises_markdown(stems, titles), "Exercises")
    (html_dir / EXERCISES_PAGE).write_text(_finish_page(body, _nav(stems, None), site, ROOT, EXERCISES_PAGE))
    contents = _contents(exporter, stems, titles, args)
    (html_dir / "index.html").write_text(_finish_page(contents, _nav(stems, None), site, ROOT, "index.html"))
    print(f"book: {len(stems)} lessons -> {html_dir / 'index.html'}; "
          f"{len(site.linker.copied)} linked files carried in {html_dir / 'files'}")
    _verify(html_dir, site, out)
    return html_dir


def _verify(html_dir, site, out):
    """The static checks of book/check.py: broken links are reported (tests/test_book.py fails on them);
    an absolute folder of this machine left in a page stops the build."""
    lessons_out = [k for k, v in site.folders.items() if v == "lessons/out"]
    report = check.check_book(html_dir, forbidden=[out, *lessons_out])
    if report["problems"]:
        print(check.summary(report), file=sys.stderr)
    leaks = [f"{page}: {p}" for page, ps in report["problems"].items() for p in ps if "(this machine's folder)" in p]
    if leaks:
        raise SystemExit("error: pages show this machine's folders:\n  " + "\n  ".join(leaks))
    print(check.summary(report).splitlines()[0])


def _contents(exporter, stems, titles, args):
    rows = []
    for stem in stems:
        sec, what = SECTIONS.get(stem[:2], ("", ""))
        rows.append(f"| [{html.escape(titles[stem])}]({stem}.html) | {sec} | {what} | [exercises]({exercises_link(stem)}) |")
    settings = f"`{args}`" if args else "the lessons' default settings"
    md = "\n".join([
        "# minflow: normalizing flows and their likelihood, lesson by lesson",
        "",
        f"Thirteen executed lessons that follow the thesis {THESIS_TITLE} "
        f"([TU Delft repository]({THESIS_URL})), section by section, with the 2-D distribution-mapping demo "
        f"([aganse/flow_models]({DEMO_URL})). Each page is one of the jupytext scripts in `lessons/`, run from "
        f"top to bottom with {settings}: the prose, the equations, the code, what it printed and the figures.",
        "",
        "Lessons 5-9 reproduce the thesis's experiments at small scale and end with **This run vs the thesis**: "
        "what the thesis found, what this run found, and why they may differ. The full reproduction, at the "
        "thesis's scale, is in [REPRODUCTION.md](REPRODUCTION.md); how to run the lessons yourself is in "
        "[the lessons' README](lessons/README.md). The terms ($H^*$, $D^*$, $\\Delta_{HC}$, sep, OVL, TNR at a fixed TPR, the "
        f"typical set, KL, cross-entropy) are defined in the [glossary]({glossary.PAGE}), which each lesson links "
        "from its first use of a term.",
        "",
        "$$\\log p_\\theta(x) = \\log p_Z(f(x)) + \\log\\left|\\det J_f(x)\\right| \\qquad \\text{(eq. 2)}$$",
        "",
        "| lesson | thesis section | what it covers | practice |",
        "| --- | --- | --- | --- |",
        *rows,
        "",
        f"Built {time.strftime('%Y-%m-%d %H:%M')} by `make book` (`book/build.py`).",
    ])
    return _markdown_page(exporter, md, "minflow: the lessons")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python book/build.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("notebooks", "book"))
    parser.add_argument("--lessons", nargs="+", metavar="NN", help="only these lessons (default: all thirteen)")
    parser.add_argument("--args", default=os.environ.get("MINFLOW_LESSON_ARGS", ""),
                        help='options for every lesson, e.g. "--tiny" (default: none, the lessons\' defaults)')
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--reuse", action="store_true", help="book: use the notebooks already executed in <out>")
    a = parser.parse_args(argv)
    try:
        import jupytext  # noqa: F401
        import nbclient  # noqa: F401
        import nbconvert  # noqa: F401
    except ImportError as e:
        print(f"error: {e.name} is not installed; install the extra: .venv/bin/python -m pip install -e '.[notebooks]'",
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    files = lesson_files(a.lessons)
    out = a.out.resolve()
    if a.what == "notebooks":
        build_notebooks(files, out, a.args)
    else:
        build_book(files, out, a.args, reuse=a.reuse)
    print(f"{a.what}: {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
