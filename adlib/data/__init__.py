"""Offline data for the kit: the shipped UCI digits, an MNIST/IDX reader, splitting helpers.

Nothing here touches the network: the digits ship inside the package, and MNIST is read
from IDX files the user already has.
"""

from adlib.data.digits import (
    DIGITS_IMAGE_SHAPE,
    DIGITS_MAX_PIXEL,
    DIGITS_NUM_CLASSES,
    DIGITS_NUM_SAMPLES,
    load_digits,
)
from adlib.data.idx import IDX_DTYPE_CODES, IDXFormatError, read_idx, write_idx
from adlib.data.labels import one_hot
from adlib.data.mnist import MNIST_KINDS, load_mnist
from adlib.data.split import train_test_split

__all__ = [
    "DIGITS_IMAGE_SHAPE",
    "DIGITS_MAX_PIXEL",
    "DIGITS_NUM_CLASSES",
    "DIGITS_NUM_SAMPLES",
    "IDX_DTYPE_CODES",
    "MNIST_KINDS",
    "IDXFormatError",
    "load_digits",
    "load_mnist",
    "one_hot",
    "read_idx",
    "train_test_split",
    "write_idx",
]
