"""Tests for adlib.data: shipped digits, the IDX reader/writer, load_mnist, splitting, one-hot.

Expected values come from outside the code under test: the data set's published
description, the scikit-learn wheel's RECORD hash, IDX bytes built by hand with struct,
Python's csv/gzip modules, and torch.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import math
import pickle
import struct
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from adlib.data import (
    IDXFormatError,
    load_digits,
    load_mnist,
    one_hot,
    read_idx,
    train_test_split,
    write_idx,
)

# Class sizes of the UCI test set optdigits.tes (the 1,797 digits), copied from the data set's
# description file optdigits.names, section "9. Class Distribution", "No of examples in testing
# set". scikit-learn's descr/digits.rst gives the total (1797) but not the per-class sizes.
DOC_CLASS_COUNTS = {0: 178, 1: 182, 2: 177, 3: 183, 4: 181, 5: 182, 6: 181, 7: 179, 8: 174, 9: 180}
DOC_NUM_INSTANCES = 1797  # "Number of Instances: 1797" (digits.rst)
DOC_NUM_ATTRIBUTES = 64  # "Number of Attributes: 64", an 8x8 image
DOC_PIXEL_MAX = 16  # "integer pixels in the range 0..16"
# sha256 of sklearn/datasets/data/digits.csv.gz as recorded in the RECORD file of the
# scikit-learn 1.9.1 wheel the kit's copy was taken from (urlsafe base64, padding dropped).
SKLEARN_RECORD_SHA256 = "CfZubeve4s0rWuWeDWq7tz_CsOAYXS4ZV-nrtR4jqiI"

FAST = settings(max_examples=40, deadline=None)


def _shipped(name: str) -> bytes:
    return resources.files("adlib.data").joinpath(name).read_bytes()


def _digits_via_csv() -> tuple[np.ndarray, np.ndarray]:
    """Parse the shipped file with gzip + csv, independently of adlib's parser."""
    text = gzip.decompress(_shipped("digits.csv.gz")).decode("ascii")
    rows = [[int(v) for v in row] for row in csv.reader(io.StringIO(text)) if row]
    return np.array([r[:-1] for r in rows]), np.array([r[-1] for r in rows])


# ----------------------------------------------------------------------------- digits


def test_documented_class_counts_add_up() -> None:
    assert sum(DOC_CLASS_COUNTS.values()) == DOC_NUM_INSTANCES


def test_shipped_digits_file_is_the_published_one() -> None:
    digest = hashlib.sha256(_shipped("digits.csv.gz")).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == SKLEARN_RECORD_SHA256


def test_licence_file_ships_with_citation() -> None:
    text = _shipped("DIGITS_LICENSE.md").decode("utf-8")
    assert "https://doi.org/10.24432/C50P49" in text
    assert "CC BY 4.0" in text
    assert "Alpaydin" in text and "Kaynak" in text


def test_digits_shape_and_dtype() -> None:
    X, y = load_digits()
    assert X.shape == (DOC_NUM_INSTANCES, DOC_NUM_ATTRIBUTES)
    assert X.dtype == np.float64
    assert y.shape == (DOC_NUM_INSTANCES,)
    assert y.dtype == np.int64
    Xi, yi = load_digits(as_float=False)
    assert Xi.dtype == np.uint8
    assert yi.dtype == np.int64
    np.testing.assert_array_equal(Xi.astype(np.float64), X)
    np.testing.assert_array_equal(yi, y)


def test_digits_class_counts_match_documentation() -> None:
    _, y = load_digits()
    assert set(np.unique(y).tolist()) == set(DOC_CLASS_COUNTS)
    for digit, count in DOC_CLASS_COUNTS.items():
        assert int(np.sum(y == digit)) == count, digit


def test_digits_pixel_range() -> None:
    X, _ = load_digits()
    assert X.min() >= 0
    assert X.max() <= DOC_PIXEL_MAX
    np.testing.assert_array_equal(X, np.round(X))  # integer counts
    assert X.max() > 1  # counts, not rescaled to [0, 1]


def test_digits_match_independent_csv_parse() -> None:
    pixels, labels = _digits_via_csv()
    X, y = load_digits(as_float=False)
    np.testing.assert_array_equal(X, pixels)
    np.testing.assert_array_equal(y, labels)


def test_digits_returns_fresh_copies() -> None:
    X1, y1 = load_digits()
    X2, y2 = load_digits()
    assert not np.shares_memory(X1, X2)
    assert not np.shares_memory(y1, y2)
    X1[:] = -1.0
    y1[:] = 99
    Xi, yi = load_digits(as_float=False)
    Xi[:] = 200
    yi[:] = 42
    pixels, labels = _digits_via_csv()
    X3, y3 = load_digits()
    np.testing.assert_array_equal(X3, pixels)
    np.testing.assert_array_equal(y3, labels)
    np.testing.assert_array_equal(load_digits(as_float=False)[0], pixels)


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_digits_as_float_must_be_bool(bad: object) -> None:
    with pytest.raises(TypeError, match="as_float"):
        load_digits(as_float=bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- IDX: hand-built bytes

# (dtype code, struct letter, shape, values in C order, numpy dtype) - the header and data are
# packed with struct, big-endian, exactly as the IDX description lays them out.
HAND_BUILT = [
    (0x08, "B", (2, 3), [0, 1, 2, 3, 254, 255], np.uint8),
    (0x09, "b", (4,), [-128, -1, 0, 127], np.int8),
    (0x0B, "h", (2, 2), [-32768, -2, 258, 32767], np.int16),  # 258 = 0x0102: byte order shows
    (0x0C, "i", (1, 2, 2), [-(2**31), -1, 0x01020304, 2**31 - 1], np.int32),
    (0x0D, "f", (3,), [1.5, -2.25, 0.1], np.float32),
    (0x0E, "d", (2, 1), [math.pi, -1e-300], np.float64),
]


def _idx_bytes(code: int, letter: str, shape: tuple[int, ...], values: list) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, len(shape)) + struct.pack(f">{len(shape)}I", *shape)
    return header + struct.pack(f">{len(values)}{letter}", *values)


@pytest.mark.parametrize(("code", "letter", "shape", "values", "dtype"), HAND_BUILT)
@pytest.mark.parametrize("compressed", [False, True])
def test_read_hand_built_idx(
    tmp_path: Path, code: int, letter: str, shape: tuple, values: list, dtype: type, compressed: bool
) -> None:
    data = _idx_bytes(code, letter, shape, values)
    if compressed:
        data = gzip.compress(data)
    path = tmp_path / "array.idx"  # no .gz suffix either way: detection is by magic bytes
    path.write_bytes(data)
    arr = read_idx(path)
    assert arr.dtype == np.dtype(dtype)
    assert arr.dtype.isnative
    assert arr.shape == shape
    assert arr.flags.writeable
    np.testing.assert_array_equal(arr, np.array(values, dtype=dtype).reshape(shape))


def test_read_raw_file_with_gz_name(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(_idx_bytes(0x08, "B", (3,), [7, 8, 9]))
    np.testing.assert_array_equal(read_idx(path), np.array([7, 8, 9], dtype=np.uint8))


def test_read_accepts_str_path(tmp_path: Path) -> None:
    path = tmp_path / "a"
    path.write_bytes(_idx_bytes(0x09, "b", (2,), [-5, 5]))
    np.testing.assert_array_equal(read_idx(str(path)), np.array([-5, 5], dtype=np.int8))


@pytest.mark.parametrize(("code", "letter", "shape", "values", "dtype"), HAND_BUILT)
def test_write_idx_bytes_match_hand_built(
    tmp_path: Path, code: int, letter: str, shape: tuple, values: list, dtype: type
) -> None:
    expected = _idx_bytes(code, letter, shape, values)
    arr = np.array(values, dtype=dtype).reshape(shape)
    assert write_idx(tmp_path / "a.idx", arr).read_bytes() == expected
    assert gzip.decompress(write_idx(tmp_path / "a.idx.gz", arr).read_bytes()) == expected
    # A big-endian input array is stored the same way.
    assert write_idx(tmp_path / "b.idx", arr.astype(arr.dtype.newbyteorder(">"))).read_bytes() == expected


def test_write_zero_size_array(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "empty", np.zeros((0, 3), dtype=np.int16))
    assert path.read_bytes() == _idx_bytes(0x0B, "h", (0, 3), [])
    arr = read_idx(path)
    assert arr.shape == (0, 3) and arr.dtype == np.int16


# ----------------------------------------------------------------------------- IDX: round trip

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@FAST
@given(
    arr=st.sampled_from(IDX_DTYPES).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4))
    ),
    compressed=st.booleans(),
)
def test_idx_round_trip(arr: np.ndarray, compressed: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("a.idx.gz" if compressed else "a.idx")
        write_idx(path, arr)
        assert (path.read_bytes()[:2] == b"\x1f\x8b") == compressed
        back = read_idx(path)
    assert back.dtype == arr.dtype
    assert back.shape == arr.shape
    assert back.tobytes() == arr.tobytes()  # bit-exact, NaN payloads and -0.0 included


# ----------------------------------------------------------------------------- IDX: errors

_GOOD_HEADER_2x3 = bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 2, 3)
BAD_FILES = [
    ("empty", b"", "4-byte header"),
    ("short", b"\x00\x00\x08", "4-byte header"),
    ("magic", bytes([0, 1, 0x08, 1]) + struct.pack(">I", 1) + b"\x05", "magic"),
    ("magic_text", b"P5\n28 28\n255\n", "magic"),
    ("dtype", bytes([0, 0, 0x0A, 1]) + struct.pack(">I", 1) + b"\x05", "dtype code 0x0a"),
    ("ndim0", bytes([0, 0, 0x08, 0]), "0 dimensions"),
    ("header", bytes([0, 0, 0x08, 3]) + struct.pack(">2I", 2, 3), "truncated header"),
    ("data_u8", _GOOD_HEADER_2x3 + bytes(5), "truncated"),
    ("data_i32", bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 2) + bytes(7), "truncated"),
    ("trailing", _GOOD_HEADER_2x3 + bytes(6) + b"junk", "4 trailing bytes"),
]


@pytest.mark.parametrize(("name", "data", "fragment"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
@pytest.mark.parametrize("compressed", [False, True])
def test_read_idx_rejects_bad_file(
    tmp_path: Path, name: str, data: bytes, fragment: str, compressed: bool
) -> None:
    path = tmp_path / f"{name}-idx"
    path.write_bytes(gzip.compress(data) if compressed else data)
    with pytest.raises(IDXFormatError, match=fragment) as info:
        read_idx(path)
    assert isinstance(info.value, ValueError)
    assert info.value.path == path
    assert str(path) in str(info.value)


def test_read_idx_rejects_corrupt_gzip(tmp_path: Path) -> None:
    good = gzip.compress(_idx_bytes(0x08, "B", (4,), [1, 2, 3, 4]))
    for i, data in enumerate([good[:-6], b"\x1f\x8b" + b"not a gzip stream"]):
        path = tmp_path / f"bad{i}.gz"
        path.write_bytes(data)
        with pytest.raises(IDXFormatError, match="gzip") as info:
            read_idx(path)
        assert str(path) in str(info.value)


def test_read_idx_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope-idx1-ubyte"
    with pytest.raises(FileNotFoundError, match="nope-idx1-ubyte"):
        read_idx(path)


def test_idx_format_error_pickles() -> None:
    err = pickle.loads(pickle.dumps(IDXFormatError("some/file", "bad magic")))
    assert isinstance(err, IDXFormatError)
    assert err.path == Path("some/file") and err.problem == "bad magic"
    assert "some/file" in str(err) and "bad magic" in str(err)


@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.bool_, np.float16, np.complex128])
def test_write_idx_refuses_unstorable_dtype(tmp_path: Path, dtype: type) -> None:
    with pytest.raises(TypeError, match=np.dtype(dtype).name):
        write_idx(tmp_path / "a", np.zeros(3, dtype=dtype))
    assert not (tmp_path / "a").exists()


def test_write_idx_refuses_bad_shapes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "a", np.array(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="uint32"):
        write_idx(tmp_path / "b", np.zeros((2**32, 0), dtype=np.uint8))


# ----------------------------------------------------------------------------- load_mnist


def _fake_mnist(folder: Path, kind: str, n: int, seed: int, suffix: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = (np.arange(n) % 10).astype(np.uint8)
    write_idx(folder / f"{kind}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{kind}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_load_mnist_train(tmp_path: Path, suffix: str) -> None:
    images, labels = _fake_mnist(tmp_path, "train", 12, 0, suffix)
    X, y = load_mnist(tmp_path)
    assert X.shape == (12, 784) and X.dtype == np.float64
    assert y.shape == (12,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    for n, i, j in [(0, 0, 0), (0, 0, 1), (3, 5, 17), (11, 27, 27), (7, 27, 0)]:
        assert X[n, 28 * i + j] == images[n, i, j] / 255.0
    np.testing.assert_allclose(X * 255.0, images.reshape(12, 784).astype(np.float64), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(y, labels)
    Xi, yi = load_mnist(tmp_path, "train", as_float=False)
    assert Xi.dtype == np.uint8
    np.testing.assert_array_equal(Xi[5].reshape(28, 28), images[5])
    np.testing.assert_array_equal(yi, labels)


def test_load_mnist_t10k_from_hand_built_files(tmp_path: Path) -> None:
    pixels = [0, 51, 102, 153, 204, 255] * 2  # two 2x3 images
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(0x08, "B", (2, 2, 3), pixels))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(0x08, "B", (2,), [9, 4]))
    _fake_mnist(tmp_path, "train", 3, 1, "")  # present, but must not be picked up
    X, y = load_mnist(tmp_path, kind="t10k")
    np.testing.assert_allclose(X, [[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]] * 2, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(y, [9, 4])


def test_load_mnist_dotted_file_names(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-images.idx3-ubyte", np.zeros((2, 4, 4), dtype=np.uint8))
    write_idx(tmp_path / "train-labels.idx1-ubyte", np.array([1, 2], dtype=np.uint8))
    X, y = load_mnist(tmp_path)
    assert X.shape == (2, 16)
    np.testing.assert_array_equal(y, [1, 2])


def test_load_mnist_count_mismatch(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"4 labels .* 5 images"):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    ("images", "labels", "fragment"),
    [
        (np.zeros((3, 784), dtype=np.uint8), np.zeros(3, dtype=np.uint8), "3-D uint8"),
        (np.zeros((3, 28, 28), dtype=np.float32), np.zeros(3, dtype=np.uint8), "3-D uint8"),
        (np.zeros((3, 28, 28), dtype=np.uint8), np.zeros((3, 1), dtype=np.uint8), "1-D uint8"),
        (np.zeros((3, 28, 28), dtype=np.uint8), np.array([0, 10, 2], dtype=np.uint8), "0..9"),
    ],
)
def test_load_mnist_rejects_wrong_contents(
    tmp_path: Path, images: np.ndarray, labels: np.ndarray, fragment: str
) -> None:
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    with pytest.raises(IDXFormatError, match=fragment):
        load_mnist(tmp_path)


def test_load_mnist_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "absent")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((1, 2, 2), dtype=np.uint8))
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(NotADirectoryError):
        load_mnist(tmp_path / "train-images-idx3-ubyte")


def test_load_mnist_rejects_bad_file_and_arguments(tmp_path: Path) -> None:
    _fake_mnist(tmp_path, "train", 2, 0, "")
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, kind="test")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="as_float"):
        load_mnist(tmp_path, as_float=0)  # type: ignore[arg-type]
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x02\x01")
    with pytest.raises(IDXFormatError, match=r"train-labels-idx1-ubyte.*truncated"):
        load_mnist(tmp_path)


# ----------------------------------------------------------------------------- train_test_split


def test_split_digits_sizes_and_strata() -> None:
    X, y = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.2, seed=0)
    assert len(y_te) == 359  # floor(0.2 * 1797 + 0.5) = floor(359.9) = 359
    assert len(y_tr) == 1797 - 359
    assert X_tr.shape == (1438, 64) and X_te.shape == (359, 64)
    for digit, count in DOC_CLASS_COUNTS.items():
        k = int(np.sum(y_te == digit))
        assert math.floor(0.2 * count) <= k <= math.ceil(0.2 * count), digit
        assert k + int(np.sum(y_tr == digit)) == count
    # Both parts come back shuffled, not grouped by class.
    assert np.any(np.diff(y_te) < 0) and np.any(np.diff(y_tr) < 0)


def test_split_is_deterministic_and_seed_dependent() -> None:
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100) % 3
    a = train_test_split(X, y, 0.3, seed=7)
    b = train_test_split(X, y, 0.3, seed=7)
    c = train_test_split(X, y, 0.3, seed=8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert set(a[1][:, 0].tolist()) != set(c[1][:, 0].tolist())


@FAST
@given(
    labels=st.lists(st.integers(0, 4), min_size=2, max_size=60),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
    stratify=st.booleans(),
)
def test_split_partitions_and_keeps_pairs(
    labels: list[int], fraction: float, seed: int, stratify: bool
) -> None:
    n = len(labels)
    n_test = math.floor(fraction * n + 0.5)
    assume(1 <= n_test <= n - 1)
    y = np.array(labels)
    ids = np.arange(n)
    X = np.stack([ids, 10 * ids], axis=1)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, fraction, seed, stratify=stratify)
    assert len(X_te) == len(y_te) == n_test
    assert len(X_tr) == len(y_tr) == n - n_test
    np.testing.assert_array_equal(np.sort(np.concatenate([X_tr[:, 0], X_te[:, 0]])), ids)
    np.testing.assert_array_equal(X_tr[:, 1], 10 * X_tr[:, 0])
    np.testing.assert_array_equal(y_tr, y[X_tr[:, 0]])
    np.testing.assert_array_equal(y_te, y[X_te[:, 0]])
    if stratify:
        for c in set(labels):
            quota = fraction * labels.count(c)
            # allow for quotas a rounding error away from an integer
            assert math.floor(quota - 1e-9) <= int(np.sum(y_te == c)) <= math.ceil(quota + 1e-9)


def test_split_returns_copies() -> None:
    X = np.zeros((10, 2))
    y = np.arange(10) % 2
    X_tr, X_te, y_tr, _ = train_test_split(X, y, 0.5, stratify=False)
    X_tr[:] = 1.0
    X_te[:] = 1.0
    y_tr[:] = 5
    assert np.all(X == 0.0)
    np.testing.assert_array_equal(y, np.arange(10) % 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"X": np.zeros((5, 2)), "y": np.zeros(4)}, ValueError, "same number of samples"),
        ({"X": np.float64(1.0), "y": np.zeros(1)}, ValueError, "sample axis"),
        ({"test_fraction": 0.0}, ValueError, "between 0 and 1"),
        ({"test_fraction": 1.0}, ValueError, "between 0 and 1"),
        ({"test_fraction": float("nan")}, ValueError, "between 0 and 1"),
        ({"test_fraction": True}, TypeError, "test_fraction"),
        ({"test_fraction": "0.2"}, TypeError, "test_fraction"),
        ({"seed": -1}, ValueError, "non-negative"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"seed": True}, TypeError, "seed"),
        ({"stratify": "yes"}, TypeError, "stratify"),
        ({"X": np.zeros((2, 1)), "y": np.array([0, 1])}, ValueError, "at least one"),
        ({"test_fraction": 0.99}, ValueError, "at least one"),
        ({"y": np.zeros((20, 2))}, ValueError, "1-D class labels"),
    ],
)
def test_split_rejects_bad_arguments(kwargs: dict, error: type, fragment: str) -> None:
    args = {"X": np.zeros((20, 3)), "y": np.arange(20) % 2, **kwargs}
    with pytest.raises(error, match=fragment):
        train_test_split(**args)


# ----------------------------------------------------------------------------- one_hot


@FAST
@given(labels=st.lists(st.integers(0, 9), max_size=30), extra=st.integers(0, 3))
def test_one_hot_matches_torch(labels: list[int], extra: int) -> None:
    k = 10 + extra
    expected = torch.nn.functional.one_hot(torch.tensor(labels, dtype=torch.int64), k).numpy()
    got = one_hot(np.array(labels, dtype=np.int64), k)
    assert got.shape == (len(labels), k)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected.astype(np.float64))


def test_one_hot_by_hand() -> None:
    got = one_hot(np.array([2, 0, 1], dtype=np.uint8), num_classes=3, dtype=np.int32)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize(
    ("y", "k", "error", "fragment"),
    [
        (np.array([0.0, 1.0]), 10, TypeError, "integer dtype"),
        (np.array([True, False]), 10, TypeError, "integer dtype"),
        (np.array([[0, 1]]), 10, ValueError, "1-D"),
        (np.array([0, 10]), 10, ValueError, r"0\.\.9"),
        (np.array([-1, 2]), 10, ValueError, r"0\.\.9"),
        (np.array([0]), 0, ValueError, "at least 1"),
        (np.array([0]), 2.5, TypeError, "num_classes"),
        (np.array([0]), True, TypeError, "num_classes"),
    ],
)
def test_one_hot_rejects_bad_input(y: np.ndarray, k: object, error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        one_hot(y, k)  # type: ignore[arg-type]
