"""An ``.npz`` archive read without trusting it: its directory and every array's header first, data last.

    with Archive(path) as a:
        a.headers["p/0/0/1"]    -> Header(shape, dtype, nbytes): read from the file's header, no data yet
        a.read("p/0/0/1")       -> the array (after the caller has checked the names and shapes it wants)

``np.load`` inflates an array as soon as it is asked for, whatever it claims to be: a 4 MiB
file with an extra compressed array made ``load`` take 4 GiB before its check of the names.
Here nothing is inflated while opening: each member's ``.npy`` header is parsed
(``np.lib.format.read_magic`` and ``read_array_header_*``) and checked against the zip
directory (the data's size must be exactly shape x itemsize, inflated at most MAX_INFLATION-fold;
no object arrays), so the caller can refuse unexpected names and sizes before any data is read.
Every failure is a ``ValueError`` (or ``zipfile.BadZipFile``) saying which member and why.
"""
import zipfile
from collections import namedtuple

import numpy as np

Header = namedtuple("Header", "shape dtype fortran nbytes")
MAX_INFLATION = 50       # minflow.save stores arrays uncompressed; random parameters never compress 50-fold
MAX_HEADER_BYTES = 10000
_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class Archive:
    """An open ``.npz``: ``headers`` ({name: Header}) read at once, ``read(name)`` for the data."""

    def __init__(self, path):
        self._file = open(path, "rb")
        try:
            self._zip = zipfile.ZipFile(self._file)
            self._infos = _members(self._zip)
            self.headers = {name: _header(self._zip, info, name) for name, info in self._infos.items()}
        except BaseException:
            self._file.close()
            raise

    def read(self, name):
        """The array ``name`` (C or Fortran order as stored), exactly the size its header declares."""
        h = self.headers[name]
        with self._zip.open(self._infos[name]) as fh:
            _READERS[np.lib.format.read_magic(fh)](fh, max_header_size=MAX_HEADER_BYTES)
            data = fh.read(h.nbytes + 1)
        if len(data) != h.nbytes:
            raise ValueError(f"array {name!r}: {len(data)} bytes of data, its header declares {h.nbytes}")
        return np.frombuffer(data, dtype=h.dtype).reshape(h.shape, order="F" if h.fortran else "C").copy()

    def close(self):
        self._zip.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _members(z):
    """{array name: ZipInfo}; every member an ``.npy`` file, none twice, none inflating too far."""
    infos = {}
    for info in z.infolist():
        if not info.filename.endswith(".npy"):
            raise ValueError(f"member {info.filename!r}: not an .npy array")
        name = info.filename[:-4]
        if name in infos:
            raise ValueError(f"member {info.filename!r} appears twice")
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_INFLATION * info.compress_size + 65536:
            raise ValueError(f"array {name!r}: inflates {info.compress_size} bytes to {info.file_size} "
                             f"(more than {MAX_INFLATION}-fold); refusing to read it")
        infos[name] = info
    return infos


def _header(z, info, name):
    with z.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version not in _READERS:
            raise ValueError(f"array {name!r}: .npy format version {version} is not supported")
        shape, fortran, dtype = _READERS[version](fh, max_header_size=MAX_HEADER_BYTES)
        start = fh.tell()
    if dtype.hasobject:
        raise ValueError(f"array {name!r}: holds Python objects ({dtype}); only numbers are read")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if start + nbytes != info.file_size:
        raise ValueError(f"array {name!r}: its header declares {dtype}{shape} ({nbytes} bytes), but the archive "
                         f"holds {info.file_size - start} bytes of data")
    return Header(tuple(shape), dtype, bool(fortran), nbytes)
