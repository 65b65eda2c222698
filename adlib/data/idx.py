"""Read and write IDX files, the format the MNIST digits are distributed in.

An IDX file (after any gzip compression is undone) is, with every integer big-endian:

    bytes 0-1        0x00 0x00                       magic
    byte  2          dtype code                      0x08 uint8   0x09 int8    0x0B int16
                                                     0x0C int32   0x0D float32 0x0E float64
    byte  3          d, the number of dimensions
    bytes 4..4+4d-1  n_1, ..., n_d as uint32
    the rest         n_1 * ... * n_d values of that dtype, big-endian, row-major (C) order

so a well-formed file is exactly 4 + 4 d + itemsize * (n_1 * ... * n_d) bytes long. The
reader insists on that length: fewer bytes is a truncated file, more is trailing garbage.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDX_DTYPE_CODES", "IDXFormatError", "read_idx", "write_idx"]

_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIM = 2**32 - 1  # each dimension is stored as a uint32
_MAX_NDIM = 255  # the dimension count is stored in one byte

#: IDX dtype code -> native-endian numpy dtype of the array the reader returns.
IDX_DTYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(np.int16),
    0x0C: np.dtype(np.int32),
    0x0D: np.dtype(np.float32),
    0x0E: np.dtype(np.float64),
}
_DTYPE_TO_CODE: dict[np.dtype, int] = {dtype: code for code, dtype in IDX_DTYPE_CODES.items()}
_KNOWN = ", ".join(f"{code:#04x} ({dtype.name})" for code, dtype in IDX_DTYPE_CODES.items())


class IDXFormatError(ValueError):
    """A file is not a well-formed IDX file (or not the IDX array a caller needs).

    ``path`` is the offending file and ``problem`` says what is wrong with it.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (type(self), (str(self.path), self.problem))


def _file_bytes(path: Path) -> bytes:
    """The IDX bytes of ``path``, gunzipped when the file starts with the gzip magic 1f 8b."""
    data = path.read_bytes()  # a missing file raises FileNotFoundError naming it
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise IDXFormatError(
            path, f"starts with the gzip magic 1f 8b but does not decompress: {exc}"
        ) from exc


def _decode(data: bytes, path: Path) -> np.ndarray:
    """Parse the IDX bytes ``data`` read from ``path`` into a native-endian array."""
    if len(data) < 4:
        raise IDXFormatError(path, f"only {len(data)} bytes long; an IDX file starts with a 4-byte header")
    if data[0] != 0 or data[1] != 0:
        raise IDXFormatError(
            path, f"bad magic number: first two bytes are {data[0]:#04x} {data[1]:#04x}, IDX needs 0x00 0x00"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPE_CODES:
        raise IDXFormatError(path, f"unknown dtype code {code:#04x} in byte 2; known codes: {_KNOWN}")
    if ndim == 0:
        raise IDXFormatError(path, "header says 0 dimensions; an IDX array has at least one")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IDXFormatError(
            path,
            f"truncated header: {ndim} dimensions need {header_len} header bytes, the file has {len(data)}",
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    dtype = IDX_DTYPE_CODES[code]
    count = math.prod(dims)
    need = count * dtype.itemsize
    have = len(data) - header_len
    if have < need:
        raise IDXFormatError(
            path, f"truncated: shape {dims} of {dtype.name} needs {need} data bytes, the file has {have}"
        )
    if have > need:
        raise IDXFormatError(
            path,
            f"{have - need} trailing bytes after the {need} data bytes of shape {dims} of {dtype.name}",
        )
    if count == 0:
        return np.zeros(dims, dtype=dtype)
    big_endian = np.frombuffer(data, dtype=dtype.newbyteorder(">"), count=count, offset=header_len)
    return big_endian.astype(dtype).reshape(dims)  # astype copies: writable and native-endian


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read the IDX file at ``path`` (raw or gzip-compressed) into a numpy array.

    Gzip is recognised by the file's first two bytes (1f 8b), not by its name. The array has
    the file's shape and the native-endian dtype of its dtype code (see ``IDX_DTYPE_CODES``),
    and owns its memory.

    Raises:
        FileNotFoundError: nothing exists at ``path``.
        IDXFormatError: bad gzip stream, wrong magic number, unknown dtype code, zero
            dimensions, truncated header or data, or bytes left over after the data.
    """
    file = Path(os.fspath(path))
    return _decode(_file_bytes(file), file)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` to ``path`` as an IDX file, gzip-compressed when the name ends in ``.gz``.

    The array's dtype must be one IDX can store (uint8, int8, int16, int32, float32, float64,
    either byte order); nothing is cast silently. Its number of dimensions must be 1..255 and
    each dimension below 2**32. Returns ``path`` as a ``Path``. ``read_idx(write_idx(p, a))``
    equals ``a`` exactly, with its dtype and shape.

    Raises:
        TypeError: the dtype has no IDX code.
        ValueError: a 0-d array, more than 255 dimensions, or a dimension of 2**32 or more.
    """
    arr = np.asarray(array)
    native = arr.dtype.newbyteorder("=")
    if native not in _DTYPE_TO_CODE:
        raise TypeError(
            f"IDX cannot store dtype {arr.dtype}; it stores {', '.join(d.name for d in _DTYPE_TO_CODE)}"
            " (cast first, e.g. array.astype(np.int32))"
        )
    if not 1 <= arr.ndim <= _MAX_NDIM:
        raise ValueError(f"IDX stores arrays with 1 to {_MAX_NDIM} dimensions, got shape {arr.shape}")
    if max(arr.shape) > _MAX_DIM:
        raise ValueError(f"IDX stores each dimension as a uint32; shape {arr.shape} has one above {_MAX_DIM}")
    header = bytes([0, 0, _DTYPE_TO_CODE[native], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype(native.newbyteorder(">"), order="C").tobytes(order="C")
    file = Path(os.fspath(path))
    if file.name.lower().endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    file.write_bytes(payload)
    return file
