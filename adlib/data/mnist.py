"""Load MNIST from IDX files the user has on disk (the kit never downloads anything).

MNIST comes as four IDX files (each may also be gzip-compressed, name + ``.gz``):

    train-images-idx3-ubyte   uint8 (60000, 28, 28)     train-labels-idx1-ubyte   uint8 (60000,)
    t10k-images-idx3-ubyte    uint8 (10000, 28, 28)     t10k-labels-idx1-ubyte    uint8 (10000,)

Pixel p in 0..255 (0 = background) becomes x = p / 255 in [0, 1] when scaled. Any data set
in the same layout (e.g. Fashion-MNIST, or a small fake made with ``write_idx``) loads too:
the image size is read from the file, not assumed to be 28x28.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from adlib.data.idx import IDXFormatError, read_idx

__all__ = ["MNIST_KINDS", "load_mnist"]

MNIST_KINDS = ("train", "t10k")
_NUM_CLASSES = 10
_MAX_PIXEL = 255.0


def _find(directory: Path, stem: str) -> Path:
    """The first existing file among ``stem``, ``stem.gz`` and the dotted spelling some mirrors use."""
    dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte
    candidates = [stem, f"{stem}.gz", dotted, f"{dotted}.gz"]
    for name in candidates:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"no MNIST file {stem!r} in {directory}: looked for {', '.join(candidates)}")


def load_mnist(
    directory: str | os.PathLike[str],
    kind: Literal["train", "t10k"] = "train",
    *,
    as_float: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)`` read from the MNIST IDX files of split ``kind`` in ``directory``.

    X has shape (N, rows * cols): row n is image n flattened row-major. With ``as_float=True``
    (default) X is float64 with X = pixel / 255 in [0, 1]; with ``as_float=False`` X is the
    raw uint8 pixels. y has shape (N,), dtype int64, values 0..9.

    Raises:
        ValueError: ``kind`` is not "train" or "t10k".
        TypeError: ``as_float`` is not a bool.
        FileNotFoundError: ``directory`` or one of the two files is missing.
        NotADirectoryError: ``directory`` is not a directory.
        IDXFormatError: a file is not valid IDX, the images are not a 3-D uint8 array, the
            labels are not a 1-D uint8 array of digits 0..9, or the two counts differ.
    """
    if kind not in MNIST_KINDS:
        raise ValueError(f"kind must be one of {MNIST_KINDS}, got {kind!r}")
    if not isinstance(as_float, (bool, np.bool_)):
        raise TypeError(f"as_float must be a bool, got {type(as_float).__name__}")
    folder = Path(os.fspath(directory))
    if not folder.exists():
        raise FileNotFoundError(f"MNIST directory {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"MNIST directory {folder} is not a directory")

    images_path = _find(folder, f"{kind}-images-idx3-ubyte")
    labels_path = _find(folder, f"{kind}-labels-idx1-ubyte")
    images, labels = read_idx(images_path), read_idx(labels_path)

    if images.ndim != 3 or images.dtype != np.uint8:
        raise IDXFormatError(
            images_path,
            f"MNIST images must be a 3-D uint8 array (N, rows, cols), found {images.ndim}-D {images.dtype}",
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise IDXFormatError(
            labels_path, f"MNIST labels must be a 1-D uint8 array (N,), found {labels.ndim}-D {labels.dtype}"
        )
    if labels.shape[0] != images.shape[0]:
        raise IDXFormatError(
            labels_path,
            f"holds {labels.shape[0]} labels but {images_path.name} holds {images.shape[0]} images",
        )
    if labels.size and labels.max() >= _NUM_CLASSES:
        raise IDXFormatError(labels_path, f"labels must be digits 0..9, found {int(labels.max())}")

    flat = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
    X = flat.astype(np.float64) / _MAX_PIXEL if as_float else flat
    return X, labels.astype(np.int64)
