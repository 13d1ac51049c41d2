"""Solution fences in the library, and the students' code regions in a workspace.

In the library (and in ``classroom/practice/``) a solution sits between fences:

    def affine_log_det(s):
        xp = namespace(s)
        # BEGIN EXERCISE coupling_log_det: thesis eq. 5-6 (section 2.1.2): log of a triangular determinant
        return xp.sum(s, axis=1)
        # END EXERCISE

In a workspace each fence becomes a *region*: two marker lines around a stub that raises
``NotImplementedError("Exercise <name>: <hint>")`` (``strip_fences``). The student writes between
the markers; the grader takes only what is between them (``extract``) and pastes it into a clean
copy of the library (``paste``). ``# BEGIN VARIANT`` ... ``# END VARIANT`` blocks (the variant
constants of ``practice/``) are dropped from a workspace.
"""
import re
from collections import namedtuple

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN EXERCISE (?P<name>[a-z][a-z0-9_]*): (?P<hint>\S.*?)\s*$")
END = re.compile(r"^[ \t]*# END EXERCISE\s*$")
OPEN = re.compile(r"^(?P<indent>[ \t]*)# >>> your code for exercise (?P<name>[a-z][a-z0-9_]*) below")
CLOSE = re.compile(r"^[ \t]*# <<< your code for exercise (?P<name>[a-z][a-z0-9_]*) above")
OPEN_LINE = "# >>> your code for exercise {name} below (keep this line and the <<< line: only code between them is graded)"
CLOSE_LINE = "# <<< your code for exercise {name} above"
VARIANT_BLOCK = re.compile(r"^# BEGIN VARIANT\s*$.*?^# END VARIANT\s*\n", re.M | re.S)
PLACEHOLDER = re.compile(r"\{variant:(?P<key>[a-z_]+)\}")

Fence = namedtuple("Fence", "name hint path line indent body")
Fence.__doc__ = "A fenced solution: path relative to the package, line of BEGIN (from 1), body lines."
Region = namedtuple("Region", "name path line indent body")
Region.__doc__ = "A student's code region of a workspace file: line of its >>> marker (from 1), body lines."


def parse_fences(text, path="<text>"):
    """The fences of one source text, in order: -> list of Fence. Malformed fences raise ValueError."""
    return _blocks(text, path, BEGIN, END, "# BEGIN EXERCISE", "# END EXERCISE", Fence)


def extract(text, path="<text>"):
    """The student's regions of one workspace file, in order: -> list of Region.

    A damaged marker (removed, renamed, or a region inside another) raises ValueError naming the line."""
    return _blocks(text, path, OPEN, CLOSE, "# >>> your code", "# <<< your code", Region)


def _blocks(text, path, open_re, close_re, open_text, close_text, kind):
    blocks, current = [], None
    for i, line in enumerate(text.splitlines(), start=1):
        begin, end = open_re.match(line), close_re.match(line)
        if open_text in line and not begin or close_text in line and not end:
            raise ValueError(f"{path}:{i}: malformed marker line: {line.strip()!r}")
        if begin:
            if not begin["indent"]:
                raise ValueError(f"{path}:{i}: block {begin['name']!r} must be inside a function (indented)")
            if current is not None:
                raise ValueError(f"{path}:{i}: block {begin['name']!r} opens inside {current[0]['name']!r}")
            current = (begin, i, [])
        elif end:
            if current is None:
                raise ValueError(f"{path}:{i}: {close_text!r} without an opening line")
            begin_m, start, body = current
            if kind is Fence and not any(b.strip() for b in body):
                raise ValueError(f"{path}:{start}: fence {begin_m['name']!r} is empty")
            fields = dict(name=begin_m["name"], path=str(path), line=start, indent=begin_m["indent"], body=body)
            blocks.append(kind(hint=begin_m["hint"], **fields) if kind is Fence else kind(**fields))
            current = None
        elif current is not None:
            current[2].append(line)
    if current is not None:
        raise ValueError(f"{path}:{current[1]}: block {current[0]['name']!r} is never closed")
    return blocks


def stub_lines(fence):
    """The lines that replace a fence in a workspace: the two markers around the raise."""
    message = f"Exercise {fence.name}: {fence.hint}"
    return [fence.indent + OPEN_LINE.format(name=fence.name),
            f"{fence.indent}raise NotImplementedError({message!r})",
            fence.indent + CLOSE_LINE.format(name=fence.name)]


def strip_fences(text, path="<text>", words=None):
    """The workspace version of a source text: fences stubbed, VARIANT blocks dropped and each
    ``{variant:key}`` replaced by ``words[key]``: -> (new text, fences)."""
    fences = parse_fences(text, path)
    text = VARIANT_BLOCK.sub("", text)
    if words is not None:
        text = PLACEHOLDER.sub(lambda m: words[m["key"]], text)
    out, inside, k = [], False, 0
    for line in text.splitlines():
        if BEGIN.match(line):
            out += stub_lines(fences[k])
            inside, k = True, k + 1
        elif END.match(line):
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else ""), fences


def paste(text, bodies, path="<text>"):
    """Put ``bodies`` (name -> list of bodies, one per region of that name, in order; each a list
    of lines at any indentation) into the regions of ``text``: -> (new text, names pasted)."""
    regions, lines = extract(text, path), text.splitlines()
    queues = {name: list(b) for name, b in bodies.items()}
    out, pasted, last = [], [], 0
    for region in regions:
        if not queues.get(region.name):
            continue
        body = queues[region.name].pop(0)
        out += lines[last:region.line]
        out += [_reindent(line, _indent_of(body), region.indent) if line.strip() else "" for line in body]
        last = region.line + len(region.body)
        pasted.append(region.name)
    out += lines[last:]
    return "\n".join(out) + "\n", pasted


def outside(text, path="<text>"):
    """``text`` with every region's body blanked: two workspaces differ here only outside the regions."""
    lines = text.splitlines()
    for region in reversed(extract(text, path)):
        lines[region.line:region.line + len(region.body)] = [region.indent + "..."]
    return lines


def _indent_of(body):
    indents = [line[:len(line) - len(line.lstrip())] for line in body if line.strip()]
    return min(indents, key=len) if indents else ""


def _reindent(line, old, new):
    return new + line[len(old):] if line.startswith(old) else line
