"""A private copy of a submission: regular files only, with limits, before anything reads it.

The grader reads a submission once, here, into a folder of its own; everything after (the
marker, the regions, the edits) reads that copy. A symlink, FIFO, device or socket is never
opened (``O_NOFOLLOW | O_NONBLOCK``, then ``fstat`` must say a regular file), a file over the
size limit is left out, and so are folders past the depth, count or total limits: each is
named in the report as skipped, by its path inside the submission only.
"""
import os
import stat
from pathlib import Path

FILE_BYTES = 2 * 2**20     # one file
TOTAL_BYTES = 64 * 2**20   # the whole copy
MAX_FILES = 2000
MAX_DEPTH = 12
SKIP_DIRS = ("__pycache__", ".git", ".venv", "node_modules")


def read_regular(path, limit=FILE_BYTES, dir_fd=None):
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes, else None.
    Never follows a symlink, never blocks on a FIFO, never reads a device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks) if size <= limit else None
    finally:
        os.close(fd)


def private_copy(submission, dest, wanted=("minflow",), files=(".minflow-exercises.json",)):
    """Copy the folders ``wanted`` and the top-level ``files`` of ``submission`` into ``dest``.
    -> list of skipped paths (with the reason), relative to the submission."""
    src, dest = Path(submission), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    state = {"files": 0, "bytes": 0, "skipped": []}
    for name in files:
        _copy_file(src / name, dest / name, name, state, missing_ok=True)
    for name in wanted:
        if (src / name).is_dir() and not (src / name).is_symlink():
            _copy_tree(src / name, dest / name, name, state, 0)
        elif os.path.lexists(src / name):
            state["skipped"].append(f"{name} (not a folder)")
    return state["skipped"]


def _copy_tree(src, dest, rel, state, depth):
    dest.mkdir(exist_ok=True)
    try:
        entries = sorted(os.scandir(src), key=lambda e: e.name)
    except OSError:
        state["skipped"].append(f"{rel}/ (unreadable)")
        return
    for entry in entries:
        sub = f"{rel}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            if entry.name in SKIP_DIRS:
                continue
            if depth >= MAX_DEPTH:
                state["skipped"].append(f"{sub}/ (too deep)")
                continue
            _copy_tree(Path(entry.path), dest / entry.name, sub, state, depth + 1)
        else:
            _copy_file(Path(entry.path), dest / entry.name, sub, state)


def _copy_file(src, dest, rel, state, missing_ok=False):
    if missing_ok and not os.path.lexists(src):
        return
    if state["files"] >= MAX_FILES or state["bytes"] >= TOTAL_BYTES:
        state["skipped"].append(f"{rel} (the submission is over its size limits)")
        return
    data = read_regular(src, min(FILE_BYTES, TOTAL_BYTES - state["bytes"]))
    if data is None:
        state["skipped"].append(f"{rel} (not a regular file, unreadable, or over {FILE_BYTES // 2**20} MiB)")
        return
    dest.write_bytes(data)
    state["files"] += 1
    state["bytes"] += len(data)
