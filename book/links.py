"""The book carries what it links: local links of a page -> pages of the book or copies under html/files/.

A page's markdown and printed output link files as the repository sees them, relative to the folder of
the file they were written in (REPRODUCTION.md: the repository root; lessons/README.md and the lessons,
which run in lessons/: lessons/). In the HTML folder those paths point to nothing, so `Linker` rewrites
each local href/src: to the page that a source file became (REPRODUCTION.md -> REPRODUCTION.html), or
to a copy of the file at html/files/<its path in the repository> (figures, CSVs, RULES.md ...).
Links that lead nowhere are left as they are and listed in `Linker.broken` (tests/test_book.py fails on them).

`github_anchors` adds GitHub's heading ids beside nbconvert's, so `REPRODUCTION.md#our-reading` (a link
written for GitHub) lands in the book too; `scrub_paths` turns the build machine's absolute folders
(the repository, the build and output folders) into the paths a reader's checkout has.
"""
import html
import re
import shutil
from pathlib import Path
from urllib.parse import quote, unquote

ATTR = re.compile(r"""\b(href|src)=(["'])(.*?)\2""", re.S)
SCHEME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
HEADING = re.compile(r'<h([1-6])\b[^>]*\bid="([^"]*)"[^>]*>(.*?)</h\1>', re.S)


class Linker:
    """Rewrites a page's local links; copies the files they name into html/files/."""

    def __init__(self, root, html_dir, pages, folders=None):
        """pages: {source file: page file name}; folders: {folder outside root: its path in the repository}
        (e.g. MINFLOW_LESSONS_OUT -> lessons/out, so its files are carried as if they were in lessons/out)."""
        self.root = Path(root).resolve()
        self.html_dir = Path(html_dir)
        self.pages = {Path(src).resolve(): name for src, name in pages.items()}
        self.names = set(self.pages.values()) | {"index.html"}
        self.folders = {Path(k).resolve(): Path(v) for k, v in (folders or {}).items()}
        self.copied = {}   # repository path -> source file
        self.broken = []   # (page, link) that lead nowhere

    def rewrite(self, body, base, page):
        """Every local href/src of body (written relative to the folder base) -> a link inside the book."""
        def one(m):
            new = self.target(html.unescape(m.group(3)), Path(base), page)
            return m.group(0) if new is None else f"{m.group(1)}={m.group(2)}{html.escape(new)}{m.group(2)}"
        return ATTR.sub(one, body)

    def target(self, url, base, page):
        """The book's link for url, or None to leave it (external, in-page, already the book's, or broken)."""
        if url.startswith("file://"):
            url = url[len("file://"):]
        elif not url or url.startswith("#") or SCHEME.match(url):
            return None
        path, sep, frag = url.partition("#")
        path = path.split("?", 1)[0]
        if path in self.names or path.startswith(("_static/", "files/")):
            return None
        file = (base / unquote(path)).resolve()  # an absolute path stays absolute
        if file in self.pages:
            return self.pages[file] + sep + frag
        rel = self._repo_path(file) if file.is_file() else None
        if rel is None:
            self.broken.append((page, url))
            return None
        self._copy(file, rel)
        return "files/" + quote(rel.as_posix()) + sep + frag

    def _repo_path(self, file):
        """file's path in the repository (a file outside it, and outside the known folders: None)."""
        for folder, name in [(self.root, Path())] + list(self.folders.items()):
            if file.is_relative_to(folder):
                return name / file.relative_to(folder)
        return None

    def _copy(self, file, rel):
        """Copy file to html/files/rel (skipped when the copy there is already as new)."""
        dst = self.html_dir / "files" / rel
        self.copied[rel.as_posix()] = file
        if dst.is_file() and dst.stat().st_mtime >= file.stat().st_mtime and dst.stat().st_size == file.stat().st_size:
            return
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, dst)


def github_slug(text):
    """GitHub's id for a heading: lower case, punctuation dropped, spaces -> '-'."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def github_anchors(body):
    """Add GitHub's id (with its -1, -2 for repeats) in every heading whose nbconvert id differs from it."""
    seen = {}

    def one(m):
        text = html.unescape(re.sub(r'<a class="anchor-link".*?</a>|<[^>]+>', "", m.group(3), flags=re.S))
        slug = github_slug(text)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        slug = f"{slug}-{n}" if n else slug
        if not slug or slug == html.unescape(m.group(2)):
            return m.group(0)
        head = m.group(0)
        cut = head.index(">") + 1
        return head[:cut] + f'<a id="{html.escape(slug)}" class="book-anchor"></a>' + head[cut:]
    return HEADING.sub(one, body)


def scrub_paths(body, folders):
    """Replace each absolute folder of {folder: path in the repository ('' for the root)} in the text.

    Longest first, so a folder inside another keeps its own name."""
    for folder, name in sorted(((str(k), str(v)) for k, v in folders.items()), key=lambda kv: -len(kv[0])):
        name = "" if name in ("", ".") else name
        body = body.replace(folder + "/", name + "/" if name else "")
        body = re.sub(re.escape(folder) + r"(?![\w.-])", name or ".", body)
    return body
