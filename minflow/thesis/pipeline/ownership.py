"""Who may write in a run folder: one run at a time, only in a folder minflow made, never through a link.

    with ownership.session(out_dir):     # the folder checked, created and locked; released on any exit
        ...                              # (a second session in this process nests: the lock is held once)

* **The lock**: ``.minflow-run.lock`` in the folder, held with ``fcntl.flock`` (exclusive, not
  waiting) for the whole session, and removed (while still held) when the session ends. The
  kernel releases it when the holder exits in any way, a ``kill -9`` included, so a lock file left
  by a dead process is never in the way; a live holder makes a second run (or a ``--fresh``) fail
  at once with ``RunInUseError``, naming the holder's pid. A lock taken on a file that its holder
  had just removed is dropped and taken again on the file now at the path.
* **A foreign folder**: a folder that holds anything but is not a minflow run (no ``store.MARKER``,
  and not a run of an older minflow) is refused before anything is written into it.
* **Links**: every symbolic link under the folder must lead inside it (real paths compared); one
  that leads outside is refused, so no write, resume, ``--fresh`` or clean-up reaches its target.
"""
import os
from contextlib import contextmanager

from . import run_files, store

try:
    import fcntl
except ImportError:  # not POSIX: no lock (the checks below still run)
    fcntl = None

LOCK = ".minflow-run.lock"
_HELD = {}  # real path of a folder -> [fd, depth]: the locks this process holds


class RunInUseError(ValueError):
    """Another live process holds the run folder's lock."""


@contextmanager
def session(out_dir):
    """Within: ``out_dir`` exists, is a minflow run (or empty), has no link leading out, and is ours."""
    out_dir = os.fspath(out_dir)
    if os.path.isdir(out_dir):
        check_not_foreign(out_dir)  # before anything (even the lock file) is written into it
    run_files.check_writable(out_dir)
    with hold(out_dir):
        check_not_foreign(out_dir)  # again, now that no other run can change it
        check_links(out_dir)
        yield out_dir


@contextmanager
def hold(out_dir):
    """Hold ``out_dir``'s lock within (re-entrant in one process); ``RunInUseError`` if another holds it."""
    key = os.path.realpath(out_dir)
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    fd = _acquire(out_dir)
    _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        del _HELD[key]
        _remove(os.path.join(out_dir, LOCK), fd)  # while still held: no lock file is left in a finished run
        os.close(fd)  # releases the lock


def _acquire(out_dir):
    """An open descriptor of the lock file, locked; a file unlinked by its releasing holder is not trusted."""
    path = os.path.join(out_dir, LOCK)
    for _ in range(100):
        fd = _open_locked(out_dir, path)
        if _same_file(path, fd):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)  # we locked a file its holder had just removed: lock the one now at the path
    raise RunInUseError(f"out_dir: {out_dir}: could not take the lock {path} (it keeps being replaced)")


def _same_file(path, fd):
    try:
        return os.path.samestat(os.stat(path, follow_symlinks=False), os.fstat(fd))
    except OSError:
        return False


def _remove(path, fd):
    if _same_file(path, fd):
        try:
            os.remove(path)
        except OSError:
            pass


def _open_locked(out_dir, path):
    if os.path.islink(path):
        raise ValueError(f"out_dir: {path} is a symbolic link; minflow does not lock through a link: remove it")
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as err:
        raise ValueError(f"out_dir: cannot create the lock file {path} ({err.strerror or err})") from None
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        holder = _read_holder(fd)
        os.close(fd)
        if not isinstance(err, BlockingIOError):  # a file system without locks, say
            raise ValueError(f"out_dir: cannot lock {path} ({err.strerror or err})") from None
        raise RunInUseError(f"out_dir: {out_dir} is in use by another minflow run ({holder}; lock {path}); "
                            "wait for it to finish, or choose another output directory (--out)") from None
    return fd


def _read_holder(fd):
    try:
        text = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    return f"process {text}" if text.isdigit() else "a process starting up"


# --- the folder's owner, and links out of it ----------------------------------------------------------
def _ignorable(name):
    """Entries that do not make a folder someone's: our lock, a probe or an owner mark being written."""
    return name == LOCK or name.startswith(".probe-") or (name.startswith(f".{store.MARKER}.") and name.endswith(".tmp"))


def check_not_foreign(out_dir):
    """Refuse a folder that holds something and is not a minflow run (``store.MARKER``, or an older run)."""
    names = sorted(n for n in os.listdir(out_dir) if not _ignorable(n))
    if not names or store.is_run(out_dir):
        return
    raise ValueError(f"out_dir: {out_dir} is not empty ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}) "
                     f"and is not a minflow run folder (no {store.MARKER}); minflow did not make these files and "
                     "will not touch them: choose a new or empty output directory (--out)")


def check_links(out_dir):
    """Refuse any symbolic link under ``out_dir`` whose real path is outside it (checked without following)."""
    base = os.path.realpath(out_dir)
    for folder, dirs, files in os.walk(out_dir, followlinks=False):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path) and not _inside(os.path.realpath(path), base):
                raise ValueError(f"out_dir: {path} is a symbolic link to {os.path.realpath(path)}, outside the run "
                                 "folder; minflow does not read, write or delete through it: remove the link, or "
                                 "choose another output directory (--out)")


def _inside(path, base):
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)
