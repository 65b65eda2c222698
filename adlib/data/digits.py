"""The UCI handwritten-digits data set (8x8 images), shipped inside the package.

Each sample is an 8x8 grid of counts: cell (i, j) holds the number of "on" pixels in
the 4x4 block (4i..4i+3, 4j..4j+3) of a 32x32 binary bitmap, so

    x[i, j] = sum_{a=0..3} sum_{b=0..3} bitmap[4i + a, 4j + b]  in {0, 1, ..., 16}.

The 64 cells are stored row-major: feature k = 8 i + j. See ``DIGITS_LICENSE.md`` beside
this module for the citation, the licence (CC BY 4.0) and where the file came from.
"""

from __future__ import annotations

import gzip
import io
from functools import lru_cache
from importlib import resources

import numpy as np

__all__ = [
    "DIGITS_IMAGE_SHAPE",
    "DIGITS_MAX_PIXEL",
    "DIGITS_NUM_CLASSES",
    "DIGITS_NUM_SAMPLES",
    "load_digits",
]

DIGITS_NUM_SAMPLES = 1797
DIGITS_IMAGE_SHAPE = (8, 8)
DIGITS_NUM_CLASSES = 10
DIGITS_MAX_PIXEL = 16

_DATA_FILE = "digits.csv.gz"
_NUM_FEATURES = DIGITS_IMAGE_SHAPE[0] * DIGITS_IMAGE_SHAPE[1]


class _CorruptDataError(RuntimeError):
    """The shipped data file does not hold what the documentation says it holds."""


@lru_cache(maxsize=1)
def _cached_digits() -> tuple[np.ndarray, np.ndarray]:
    """Parse the shipped CSV once; return read-only ``(pixels uint8 (N, 64), labels int64 (N,))``."""
    raw = resources.files("adlib.data").joinpath(_DATA_FILE).read_bytes()
    text = gzip.decompress(raw).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    expected = (DIGITS_NUM_SAMPLES, _NUM_FEATURES + 1)
    if table.shape != expected:
        raise _CorruptDataError(f"{_DATA_FILE}: expected a table of shape {expected}, found {table.shape}")
    pixels, labels = table[:, :_NUM_FEATURES], table[:, _NUM_FEATURES]
    if pixels.min() < 0 or pixels.max() > DIGITS_MAX_PIXEL:
        raise _CorruptDataError(f"{_DATA_FILE}: pixel values outside 0..{DIGITS_MAX_PIXEL}")
    if labels.min() < 0 or labels.max() >= DIGITS_NUM_CLASSES:
        raise _CorruptDataError(f"{_DATA_FILE}: labels outside 0..{DIGITS_NUM_CLASSES - 1}")
    pixels = pixels.astype(np.uint8)
    labels = np.ascontiguousarray(labels)
    # Belt and braces: the cache can never be written through, even by a caller that
    # somehow got hold of these exact arrays.
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


def load_digits(*, as_float: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return the 1,797 handwritten digits as ``(X, y)``.

    X has shape (1797, 64): row n is image n flattened row-major, X[n, 8 i + j] = x_n[i, j],
    with integer values in 0..16. With ``as_float=True`` (the default) X is float64 holding
    those same integers (no rescaling; divide by 16 for [0, 1]); with ``as_float=False`` it
    is uint8. y has shape (1797,), dtype int64, with the digit 0..9 each image shows.

    The file is parsed once per process and cached; every call returns fresh copies, so
    changing the arrays you get back does not change what the next call returns.

    Raises:
        TypeError: ``as_float`` is not a bool.
    """
    if not isinstance(as_float, (bool, np.bool_)):
        raise TypeError(f"as_float must be a bool, got {type(as_float).__name__}")
    pixels, labels = _cached_digits()
    X = pixels.astype(np.float64) if as_float else pixels.copy()
    return X, labels.copy()
