"""The HTML book, every page of it: local links and anchors, the build machine's paths (book/check.py, over
the HTML files), and, in headless Chromium (Debian's package), every image loaded and every equation
typeset by MathJax without an error.

With MINFLOW_REQUIRE_BROWSER=1 (CI) a missing Chromium fails instead of skipping.
Which book: the folder named by MINFLOW_BOOK_HTML (CI, after `make book`:
`MINFLOW_BOOK_HTML=book/_build/html .venv/bin/python -m pytest tests/test_book.py`), which must then hold
every lesson; otherwise a small book built here (--tiny, lessons 01 and 13, the contents, REPRODUCTION and
the lessons' README), which needs the extra `.[notebooks]`. The totals (pages, images, links, anchors,
equations checked) are printed (pytest -s) and written to <html>/_check.json.
The first tests feed the checkers broken pages: a check that cannot fail proves nothing.
"""
import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))
import build  # noqa: E402  (book/build.py)
import check  # noqa: E402  (book/check.py)
import glossary  # noqa: E402  (book/glossary.py)
import links  # noqa: E402  (book/links.py)

CHROMIUM = shutil.which("chromium") or (Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else None)
REQUIRE_BROWSER = os.environ.get("MINFLOW_REQUIRE_BROWSER") == "1"  # CI (.ci/run): no skipping without Chromium
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not REQUIRE_BROWSER,
                                    reason="Chromium is not installed (apt-get install chromium)")
BUILT = os.environ.get("MINFLOW_BOOK_HTML")
SMALL_BOOK_LESSONS = ("01", "13")
LESSON_STEMS = sorted(p.stem for p in (ROOT / "lessons").glob("[0-9][0-9]_*.py"))


def test_chromium_is_there_when_required():
    assert CHROMIUM or not REQUIRE_BROWSER, "MINFLOW_REQUIRE_BROWSER=1 but Chromium is not installed"


# --- the checkers can fail ---------------------------------------------------------------------------

def test_static_check_finds_broken_images_links_anchors_and_paths(tmp_path):
    """A page with a missing image, a link out of the book, a missing anchor and machine paths fails;
    a page whose links all land (an encoded nbconvert id included) passes."""
    site = tmp_path / "html"
    site.mkdir()
    (tmp_path / "outside.csv").write_text("a,b\n")
    (site / "ok.png").write_bytes(b"png")
    (site / "good.html").write_text('<h2 id="Lesson-1-%E2%80%94-x">Lesson</h2><img src="ok.png">'
                                    '<a href="bad.html#here">x</a> <a href="#Lesson-1-%E2%80%94-x">y</a> '
                                    '<a href="https://example.org/home/x">z</a> run with --out /tmp/l6')
    (site / "bad.html").write_text(f'<p id="here"></p><img src="missing.png"><a href="../outside.csv">csv</a>'
                                   f'<a href="good.html#nowhere">a</a> output -> {tmp_path}/repo/lessons/out/01 '
                                   f'and /home/ci/work/x')
    report = check.check_book(site, forbidden=[tmp_path / "repo"], allowed="--out /tmp/l6")
    assert list(report["problems"]) == ["bad.html"], report["problems"]
    problems = "\n".join(report["problems"]["bad.html"])
    for expected in ("missing.png", "outside.csv", "#nowhere", f"{tmp_path}/repo", "/home/ci/work/x"):
        assert expected in problems, problems
    assert report["pages"] == 2 and report["images"] == 2 and report["anchors"] == 3


def test_linker_carries_files_and_scrubs_paths(tmp_path):
    """Links relative to the source's folder -> pages of the book or copies under files/; a missing file is
    listed as broken; GitHub's heading ids are added; the repository's absolute path is made relative."""
    repo, site = tmp_path / "repo", tmp_path / "html"
    (repo / "reproduction" / "regimes").mkdir(parents=True)
    (repo / "reproduction" / "regimes" / "map.png").write_bytes(b"png")
    (repo / "REPRODUCTION.md").write_text("# R")
    linker = links.Linker(repo, site, {repo / "REPRODUCTION.md": "REPRODUCTION.html"})
    body = ('<img src="../reproduction/regimes/map.png"><a href="../REPRODUCTION.md#our-reading">r</a>'
            '<a href="gone.csv">g</a><a href="index.html">i</a><a href="https://x.org/a.md">e</a>')
    out = linker.rewrite(body, repo / "lessons", "13.html")
    assert 'src="files/reproduction/regimes/map.png"' in out and (site / "files/reproduction/regimes/map.png").is_file()
    assert 'href="REPRODUCTION.html#our-reading"' in out and 'href="index.html"' in out
    assert linker.broken == [("13.html", "gone.csv")]
    assert 'id="our-reading"' in links.github_anchors('<h2 id="Our-reading">Our reading<a class="anchor-link">¶</a></h2>')
    assert links.scrub_paths(f"output -> {repo}/lessons/out/01", {repo: ""}) == "output -> lessons/out/01"


@needs_chromium
def test_browser_check_finds_broken_images_and_math(book, tmp_path):
    """A page with a missing image and two bad equations, in the browser, reports all three."""
    html_dir, _ = book
    page = (html_dir / "index.html").read_text().replace(
        "</body>", '<p>$\\frac{1$ and $\\undefinedmacro x$</p><img src="missing.png"></body>', 1)
    (tmp_path / "bad.html").write_text(page)
    (tmp_path / "_static").symlink_to(html_dir / "_static")
    with _serve(tmp_path) as base:
        result = _browser_check(base, "bad.html")
    assert any("missing.png" in src for src in result["broken_images"]), result
    assert result["math_errors"] >= 2, result


# --- the book ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """(html folder, lesson stems it must hold): MINFLOW_BOOK_HTML's, or a small book built here."""
    if BUILT:
        html_dir = Path(BUILT).resolve()
        assert (html_dir / "index.html").is_file(), f"MINFLOW_BOOK_HTML={BUILT}: no index.html (run make book)"
        (html_dir / "_check.json").unlink(missing_ok=True)  # this run's totals only
        return html_dir, LESSON_STEMS
    for extra in ("jupytext", "nbconvert", "jupyter_server_mathjax"):
        pytest.importorskip(extra)
    out = tmp_path_factory.mktemp("book")
    env = {**os.environ, "MINFLOW_LESSONS_OUT": str(out / "lessons-out"), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "book", "--lessons", *SMALL_BOOK_LESSONS,
                           "--args=--tiny", "--out", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out / "html", [s for s in LESSON_STEMS if s[:2] in SMALL_BOOK_LESSONS]


def _record(html_dir, **totals):
    """Print the totals and add them to <html>/_check.json (what a closing note quotes)."""
    path = Path(html_dir) / "_check.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.update(totals)
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"\nbook check ({html_dir}): " + ", ".join(f"{k} {v}" for k, v in totals.items()))


def test_pages_present(book):
    html_dir, stems = book
    pages = {p.stem for p in check.pages_of(html_dir)}
    missing = {"index", "REPRODUCTION", "lessons", "glossary", "exercises", *stems} - pages
    assert not missing, f"pages missing from {html_dir}: {sorted(missing)}"
    index = (html_dir / "index.html").read_text()
    assert "repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91" in index
    assert (html_dir / "_static" / "mathjax" / "MathJax.js").is_file()
    for page in check.pages_of(html_dir):
        text = page.read_text()
        assert "cdnjs" not in text and "cdn.jsdelivr" not in text, f"{page.name} needs the network"


def test_links_anchors_and_paths(book):
    """Every local link of every page lands (file and #anchor); no page shows this machine's paths."""
    html_dir, _ = book
    report = check.check_book(html_dir)
    _record(html_dir, pages=report["pages"], image_files=report["images"], links=report["links"],
            anchors=report["anchors"], scripts=report["scripts"], static_problems=sum(map(len, report["problems"].values())))
    assert not report["problems"], check.summary(report)


def test_glossary_anchors_resolve(book):
    """The glossary has an anchor per term; the contents and every page's navigation link it; every link to
    glossary.html#term from a lesson lands on an anchor of it, and the lessons link one
    term at least (which terms no lesson links in its prose is recorded in _check.json)."""
    html_dir, stems = book
    page = html_dir / glossary.PAGE
    ids = check.ids_of(page.read_text())
    anchors = [t[0] for t in glossary.TERMS]
    assert set(anchors) <= ids, f"glossary anchors missing: {sorted(set(anchors) - ids)}"
    for p in check.pages_of(html_dir):
        assert f'href="{glossary.PAGE}"' in p.read_text(), f"{p.name} does not link the glossary"
    used = set()
    for stem in stems:
        text = (html_dir / f"{stem}.html").read_text()
        for frag in re.findall(rf'href="{re.escape(glossary.PAGE)}#([^"]+)"', text):
            assert frag in ids, f"{stem}.html links {glossary.PAGE}#{frag}, which is not there"
            used.add(frag)
        # only prose is linked: no glossary link inside a code cell's input or a printed output
        for block in re.findall(r'<div class="[^"]*jp-(?:InputArea-editor|OutputArea-output)[^"]*".*?</div>', text, re.S):
            assert glossary.PAGE not in block, f"{stem}.html links the glossary from code or output"
    assert used, "no lesson links the glossary"
    # a term that every lesson writes only inside equations ($D^*$) is not linked: listed, not failed
    _record(html_dir, glossary_terms=len(anchors), glossary_terms_linked=len(used),
            glossary_terms_not_linked=sorted(set(anchors) - used))


def test_every_lesson_is_one_click_from_its_exercises(book):
    """Each lesson page links its own section of exercises.html (lesson-NN) in its navigation bar; that
    anchor is there, and the section lists exactly the catalog's exercises of the lesson (or says it has none)."""
    from minflow.classroom.catalog import EXERCISES

    html_dir, stems = book
    page = (html_dir / build.EXERCISES_PAGE).read_text()
    ids = check.ids_of(page)
    sections = dict(re.findall(r'<a id="lesson-(\d\d)"></a>(.*?)(?=<a id="lesson-\d\d"></a>|</body>)', page, re.S))
    for stem in stems:
        number = stem[:2]
        text = (html_dir / f"{stem}.html").read_text()
        assert f'href="{build.exercises_link(stem)}"' in text, f"{stem}.html does not link its exercises"
        assert f"lesson-{number}" in ids and number in sections, f"{build.EXERCISES_PAGE} has no section lesson-{number}"
        listed = re.findall(r"<code>([a-z_0-9]+)</code></td>", sections[number])
        expected = [e.name for e in EXERCISES if e.lesson == number]
        assert listed == expected, (stem, listed, expected)
        if not expected:
            assert "No exercise belongs to this lesson" in sections[number]
        else:
            assert f"--lesson {number}" in sections[number], f"{stem}: no self-check command"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _serve:
    """A local HTTP server over a folder (MathJax's fonts and the images load as on a web site)."""

    def __init__(self, folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _chromium(*args, timeout=120):
    """Headless Chromium, offline-quiet, in a profile of its own (two may run at once)."""
    assert CHROMIUM, "Chromium is not installed (apt-get install chromium)"
    with tempfile.TemporaryDirectory(prefix="book-chromium-") as profile:
        return subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
                               "--virtual-time-budget=30000", *args], capture_output=True, text=True, timeout=timeout)


def _browser_check(base, page):
    """The page's data-book-check (book/build.py's CHECK_SCRIPT) after MathJax's first typeset."""
    proc = _chromium("--dump-dom", f"{base}/{page}")
    m = re.search(r'data-book-check="([^"]*)"', proc.stdout)
    if not m:
        return {"error": f"the page's check did not run (MathJax never finished?) {proc.stderr[-500:]}"}
    return json.loads(html.unescape(m.group(1)))


def _browser_problems(page, result):
    """What is wrong with one page in the browser."""
    if "error" in result:
        return [result["error"]]
    problems = [f"image did not load: {src}" for src in result["broken_images"]]
    problems += [f"{result['math_errors']} equations failed to typeset"] if result["math_errors"] else []
    problems += [] if result["mathjax"] else ["MathJax did not load"]
    if result["typeset"] < result["equations"]:
        problems.append(f"{result['equations']} equations, {result['typeset']} typeset")
    if re.match(r"\d\d_", page) and result["images"] == 0:
        problems.append("no figure inline")
    return problems


@needs_chromium
def test_every_page_in_chromium(book):
    """Every page, two Chromiums at a time: images loaded, MathJax loaded and typeset without errors."""
    html_dir, _ = book
    pages = [p.name for p in check.pages_of(html_dir)]
    with _serve(html_dir) as base, ThreadPoolExecutor(2) as pool:
        results = dict(zip(pages, pool.map(functools.partial(_browser_check, base), pages)))
    problems = {p: _browser_problems(p, r) for p, r in results.items() if _browser_problems(p, r)}
    ok = [r for r in results.values() if "error" not in r]
    _record(html_dir, browser_pages=len(results), images_loaded=sum(r["images"] - len(r["broken_images"]) for r in ok),
            images_broken=sum(len(r["broken_images"]) for r in ok), equations=sum(r["equations"] for r in ok),
            math_errors=sum(r["math_errors"] for r in ok), browser_problems=sum(map(len, problems.values())))
    assert not problems, "\n".join(f"{p}: {x}" for p, xs in problems.items() for x in xs)


@needs_chromium
def test_screenshot_of_contents(book, tmp_path):
    html_dir, _ = book
    shot = tmp_path / "contents.png"
    with _serve(html_dir) as base:
        proc = _chromium("--window-size=1280,1400", f"--screenshot={shot}", f"{base}/index.html")
    assert shot.is_file() and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
