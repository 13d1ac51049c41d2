"""`make book` in a real browser: headless Chromium (Debian's package) opens the contents page and two
lessons of a book built from --tiny runs, takes a screenshot, and checks that every image loaded and
that every equation was typeset by MathJax without an error. Skipped where Chromium or the optional
extra (`pip install -e .[notebooks]`) is absent."""
import functools
import html
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("jupytext")
pytest.importorskip("nbconvert")
pytest.importorskip("jupyter_server_mathjax")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or (Path("/usr/bin/chromium") if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
PAGES = ["index", "01_change_of_variables", "02_affine_coupling"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    env = {**__import__("os").environ, "MINFLOW_LESSONS_OUT": str(out / "lessons-out"), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "book", "--lessons", "01", "02",
                           "--args=--tiny", "--out", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    html_dir = out / "html"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html_dir))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html_dir, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _chromium(*args, timeout=120):
    return subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=30000", *args], capture_output=True, text=True, timeout=timeout)


def test_site_files(site):
    html_dir, _ = site
    for page in PAGES + ["REPRODUCTION", "lessons"]:
        assert (html_dir / f"{page}.html").is_file()
    index = (html_dir / "index.html").read_text()
    assert "repository.tudelft.nl/record/uuid:b2bdbbe2-2dda-4fce-8266-ae73bd12de91" in index
    assert 'href="REPRODUCTION.html"' in index and 'href="01_change_of_variables.html"' in index
    assert (html_dir / "_static" / "mathjax" / "MathJax.js").is_file()
    assert "cdnjs" not in index and "cdn.jsdelivr" not in index, "the book must not need the network"


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_chromium(site, page):
    html_dir, base = site
    proc = _chromium("--dump-dom", f"{base}/{page}.html")
    m = re.search(r'data-book-check="([^"]*)"', proc.stdout)
    assert m, f"{page}: the page's check did not run (MathJax never finished?)\n{proc.stderr[-2000:]}"
    check = json.loads(html.unescape(m.group(1)))
    assert check["mathjax"], f"{page}: MathJax did not load"
    assert check["broken_images"] == [], f"{page}: images that did not load: {check['broken_images']}"
    assert check["math_errors"] == 0, f"{page}: {check['math_errors']} equations failed to render"
    assert check["equations"] > 0 and check["typeset"] >= check["equations"], check
    if page != "index":
        assert check["images"] > 0, f"{page}: no figure inline"


def test_screenshot_of_contents(site, tmp_path):
    _, base = site
    shot = tmp_path / "contents.png"
    proc = _chromium("--window-size=1280,1400", f"--screenshot={shot}", f"{base}/index.html")
    assert shot.is_file() and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
