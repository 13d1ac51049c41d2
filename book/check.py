"""Static checks of a built book, over the HTML files (no browser): local links and machine paths.

    python book/check.py [book/_build/html]      # prints the totals and the problems; exit 1 on any

* links: every local href/src of every page must name a file inside the HTML folder, and an #anchor
  must be an id (or name) on the page it names; a link that leaves the folder (../reproduction/...)
  is broken even when the file exists on this machine, since the book is copied without it;
* paths: no page may show an absolute path of the build machine: the repository root, the build
  folder, and /tmp/, /root, /home/ anywhere (unless the path is quoted verbatim from a committed source,
  e.g. the README's example `--out /tmp/l6`).

tests/test_book.py runs these and, in headless Chromium, the image and MathJax checks.
"""
import html
import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
ATTR = re.compile(r"""<(\w+)\b[^>]*?\s(href|src)=(["'])(.*?)\3""", re.S)
ID = re.compile(r"""\b(?:id|name)=(["'])(.*?)\1""", re.S)
SCHEME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
DATA_URI = re.compile(r"""data:[^"'\s)]*""")
MACHINE = re.compile(r"""(?<![\w./-])(?:/tmp/|/home/|/root(?![\w.-]))[^\s"'<>()\[\]`]*""")


def pages_of(html_dir):
    """The book's pages: every .html at the top of the HTML folder."""
    return sorted(Path(html_dir).glob("*.html"))


def ids_of(text):
    """The anchors a page offers: its id and name attributes (unescaped)."""
    return {html.unescape(m.group(2)) for m in ID.finditer(text)}


def local_links(text):
    """[(kind, url)] of the page's links that stay on this machine (no scheme, not data:); kind: "image"
    (an <img>), "link" (an href) or "script"."""
    out = []
    for m in ATTR.finditer(text):
        url = html.unescape(m.group(4))
        if url and not SCHEME.match(url):
            kind = "link" if m.group(2) == "href" else "image" if m.group(1).lower() == "img" else "script"
            out.append((kind, url))
    return out


def check_links(page, text, html_dir, ids_cache=None):
    """Problems of one page's local links, and how many images/links/anchors were checked."""
    html_dir = Path(html_dir).resolve()
    ids_cache = {} if ids_cache is None else ids_cache
    problems, counts = [], {"images": 0, "links": 0, "scripts": 0, "anchors": 0}
    for kind, url in local_links(text):
        counts[kind + "s"] += 1
        path, _, frag = url.partition("#")
        path = unquote(path.split("?", 1)[0])
        target = (Path(page).parent / path).resolve() if path else Path(page).resolve()
        if not target.is_relative_to(html_dir) or not target.is_file():
            problems.append(f"{kind} {url!r}: no such file in the book")
            continue
        if frag and target.suffix == ".html":
            counts["anchors"] += 1
            if target not in ids_cache:
                ids_cache[target] = ids_of(target.read_text(errors="replace"))
            # a browser matches the fragment as written, then percent-decoded (nbconvert's ids are encoded)
            if frag not in ids_cache[target] and unquote(frag) not in ids_cache[target]:
                problems.append(f"{kind} {url!r}: no anchor #{unquote(frag)} on {target.name}")
    return problems, counts


def committed_text(root=ROOT):
    """The committed sources whose text a page may quote verbatim (the lessons, their README, the .md files)."""
    files = [*Path(root).glob("*.md"), *Path(root, "lessons").glob("*.py"), Path(root, "lessons", "README.md")]
    return "\n".join(f.read_text(errors="replace") for f in files if f.is_file())


def check_paths(text, forbidden, allowed=""):
    """Absolute paths of the build machine in a page: the forbidden folders, and /tmp/, /home/, /root
    unless quoted from the committed sources (allowed)."""
    text = DATA_URI.sub("data:", text)  # base64 can spell '/tmp/' by chance
    hits = [f"{folder} (this machine's folder)" for folder in {str(f) for f in forbidden} if folder in text]
    hits += [f"{hit}" for hit in sorted(set(MACHINE.findall(text))) if hit not in allowed]
    return hits


def check_book(html_dir, forbidden=(), allowed=None):
    """{"pages", "images", "links", "anchors", "problems": {page: [...]}} over every page of the book."""
    html_dir = Path(html_dir).resolve()
    forbidden = {ROOT, html_dir, html_dir.parent, *map(Path, forbidden)}
    allowed = committed_text() if allowed is None else allowed
    report = {"pages": 0, "images": 0, "links": 0, "scripts": 0, "anchors": 0, "problems": {}}
    cache = {}
    for page in pages_of(html_dir):
        text = page.read_text(errors="replace")
        problems, counts = check_links(page, text, html_dir, cache)
        problems += [f"absolute path of the build machine: {hit}" for hit in check_paths(text, forbidden, allowed)]
        report["pages"] += 1
        for key, n in counts.items():
            report[key] += n
        if problems:
            report["problems"][page.name] = problems
    return report


def summary(report):
    """One line of totals, then one line per problem."""
    lines = [f"book check: {report['pages']} pages, {report['images']} images (files), {report['links']} links, "
             f"{report['anchors']} anchors, {report['scripts']} scripts checked; "
             f"{sum(map(len, report['problems'].values()))} problems"]
    lines += [f"  {page}: {p}" for page, ps in report["problems"].items() for p in ps]
    return "\n".join(lines)


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "book" / "_build" / "html")
    result = check_book(folder)
    print(summary(result))
    print(json.dumps({k: v for k, v in result.items() if k != "problems"}))
    sys.exit(1 if result["problems"] else 0)
