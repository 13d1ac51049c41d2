"""Solution fences: find them in the library's source, cut them out, paste them back.

    def affine_log_det(s):
        xp = namespace(s)
        # BEGIN EXERCISE coupling_log_det: thesis eq. 5-6 (section 2.1.2): log of a triangular determinant
        return xp.sum(s, axis=1)
        # END EXERCISE

In a workspace the fenced block becomes a note and ``raise NotImplementedError("Exercise <name>: <hint>")``
at the fence's indentation (``strip_fences``); ``fill`` puts bodies back in place of the stubs.
"""
import re
from collections import namedtuple
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN EXERCISE (?P<name>[a-z][a-z0-9_]*): (?P<hint>\S.*?)\s*$")
END = re.compile(r"^[ \t]*# END EXERCISE\s*$")
STUB = re.compile(r"^(?P<indent>[ \t]*)raise NotImplementedError\([\"']Exercise (?P<name>[a-z0-9_]+): .*\)\s*$")
STUB_NOTE = "# Exercise {name}: replace this raise by your code (see the README.md of this workspace)"

Fence = namedtuple("Fence", "name hint path line indent body")
Fence.__doc__ = "A fenced solution: path relative to the package, line of BEGIN (from 1), body lines."


def parse_fences(text, path="<text>"):
    """The fences of one source text, in order: -> list of Fence. Malformed fences raise ValueError."""
    fences, current = [], None
    for i, line in enumerate(text.splitlines(), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if "# BEGIN EXERCISE" in line and not begin:
            raise ValueError(f"{path}:{i}: malformed fence, expected '# BEGIN EXERCISE <name>: <hint>'")
        if begin:
            if not begin["indent"]:
                raise ValueError(f"{path}:{i}: fence {begin['name']!r} must be inside a function (indented): "
                                 "a stub at module level would break the import")
            if current is not None:
                raise ValueError(f"{path}:{i}: fence {begin['name']!r} opens inside fence {current[0]['name']!r}")
            current = (begin, i, [])
        elif end:
            if current is None:
                raise ValueError(f"{path}:{i}: '# END EXERCISE' without a BEGIN")
            begin_m, start, body = current
            if not any(b.strip() for b in body):
                raise ValueError(f"{path}:{start}: fence {begin_m['name']!r} is empty")
            fences.append(Fence(begin_m["name"], begin_m["hint"], str(path), start, begin_m["indent"], body))
            current = None
        elif current is not None:
            if line.strip() and not line.startswith(current[0]["indent"]):
                raise ValueError(f"{path}:{i}: fence body is indented less than its BEGIN line")
            current[2].append(line)
    if current is not None:
        raise ValueError(f"{path}:{current[1]}: fence {current[0]['name']!r} has no '# END EXERCISE'")
    return fences


def stub_lines(fence):
    """The two lines that replace a fence in the workspace: a note and the raise."""
    message = f"Exercise {fence.name}: {fence.hint}"
    return [fence.indent + STUB_NOTE.format(name=fence.name),
            f"{fence.indent}raise NotImplementedError({message!r})"]


def strip_fences(text, path="<text>"):
    """The source with every fenced block replaced by its stub: -> (new text, fences)."""
    fences = parse_fences(text, path)
    if not fences:
        return text, fences
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


def fill(workspace, fences):
    """Put code back in place of stubs: each Fence's body replaces the matching stub of its exercise
    (matched by file and order of that exercise's stubs in it). Used to build a reference submission
    and by the tests; returns the number of stubs replaced."""
    by_file = {}
    for fence in fences:
        by_file.setdefault(fence.path, []).append(fence)
    return sum(_fill_file(Path(workspace) / "minflow" / rel, file_fences) for rel, file_fences in by_file.items())


def _fill_file(path, fences):
    queues = {}
    for fence in fences:
        queues.setdefault(fence.name, []).append(fence)
    out, count = [], 0
    for line in path.read_text().splitlines():
        stub = STUB.match(line)
        if stub and queues.get(stub["name"]):
            fence = queues[stub["name"]].pop(0)
            if out and out[-1].strip() == STUB_NOTE.format(name=fence.name):
                out.pop()
            out += [_reindent(b, fence.indent, stub["indent"]) for b in fence.body]
            count += 1
        else:
            out.append(line)
    path.write_text("\n".join(out) + "\n")
    return count


def _reindent(line, old, new):
    return new + line[len(old):] if line.startswith(old) else line
