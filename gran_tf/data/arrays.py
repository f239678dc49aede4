"""Data the user brings as arrays: a ``.npy``/``.npz`` file (``Trainer.dataset = "array"``) or a
NumPy array handed to the Trainer or ``GANModel.fit`` (``"memory"``).

An example array is images ``(N, H, W, C)`` (C = 1 or 3) as uint8, or float already in the run's
pixel range; or points ``(N, D)``. Batch k is gathered from the array by the seeded permutation
of ``pipeline.index_batches`` (so a resumed run starts at its batch directly), reading only the
rows it needs: a ``.npy`` is memory-mapped, never loaded whole.

Without a test split of its own (an ``.npz`` key ``x_test``), a row is held out for ``test`` when
a fixed hash of its index falls below ``test_fraction``: appending rows moves no row between
splits.
"""
import hashlib
import os

import gin
import numpy as np
import tensorflow as tf

from gran_tf.settings import number_setting
from gran_tf.data import pipeline
from gran_tf.errors import ConfigError, DataUnavailableError

NO_LABEL = -1
_HASH_CHUNK = 1 << 24  # bytes hashed at a time, so a memory-mapped array is never read whole
_SPLIT_SALT = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(values):
    """A fixed 64-bit mixing hash (SplitMix64's finaliser) of uint64 ``values``."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + _SPLIT_SALT
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def held_out_rows(n, test_fraction):
    """bool [n]: the rows of an array that form its test split (a fixed hash of the row index)."""
    return _splitmix64(np.arange(n, dtype=np.uint64)) < np.uint64(test_fraction * 2.0**64)


def check_fraction(test_fraction, owner):
    return number_setting(f"{owner}.test_fraction", test_fraction, minimum=0, below=1)


def content_digest(array):
    """sha256 of an array's shape, dtype and bytes (read in chunks)."""
    digest = hashlib.sha256(f"{array.dtype.str}{list(array.shape)};".encode())
    flat = array.reshape(-1) if array.flags.c_contiguous else np.ascontiguousarray(array).reshape(-1)
    step = max(1, _HASH_CHUNK // max(1, array.itemsize))
    for i in range(0, flat.size, step):
        digest.update(np.ascontiguousarray(flat[i:i + step]).tobytes())
    return digest.hexdigest()


def check_examples(array, what, value_range):
    """Raises ConfigError, one line, unless ``array`` is a stack of images (uint8, or float inside
    ``value_range``) or of points (finite floats); returns "image" or "points"."""
    array = np.asarray(array) if not isinstance(array, np.ndarray) else array
    if array.ndim not in (2, 4):
        raise ConfigError(f"{what} has shape {list(array.shape)}: expected images (N, H, W, C) or points (N, D)")
    if len(array) == 0:
        raise ConfigError(f"{what} holds no examples")
    if array.ndim == 4 and array.shape[-1] not in (1, 3):
        raise ConfigError(f"{what} has {array.shape[-1]} channels: images need 1 or 3 (N, H, W, C)")
    if array.dtype == np.uint8:
        if array.ndim == 2:
            raise ConfigError(f"{what} is uint8 of shape {list(array.shape)}: points must be floats")
        return "image"
    if not np.issubdtype(array.dtype, np.floating):
        raise ConfigError(f"{what} has dtype {array.dtype}: expected uint8 images or float images/points")
    low, high = _finite_range(array, what)
    if array.ndim == 4 and (low < value_range[0] or high > value_range[1]):
        raise ConfigError(f"{what} has values in [{low:.4g}, {high:.4g}], outside the pixel range "
                          f"[{value_range[0]:g}, {value_range[1]:g}] (give uint8, or set make_dataset.pixel_range)")
    return "image" if array.ndim == 4 else "points"


def _finite_range(array, what):
    low, high = np.inf, -np.inf
    for i in range(0, len(array), 4096):
        chunk = np.asarray(array[i:i + 4096], np.float64)
        if not np.isfinite(chunk).all():
            raise ConfigError(f"{what} holds {np.count_nonzero(~np.isfinite(chunk))}+ values that are not "
                              "finite (NaN or inf)")
        low, high = min(low, chunk.min()), max(high, chunk.max())
    return float(low), float(high)


def read_array_file(path):
    """The examples and the optional test examples of a ``.npy`` (memory-mapped) or ``.npz`` file
    (key ``x``, or its only array; ``x_test`` if present)."""
    if not tf.io.gfile.exists(path):
        raise DataUnavailableError(f"array file {path} does not exist")
    try:
        if path.endswith(".npy") and os.path.exists(path):
            return np.load(path, mmap_mode="r", allow_pickle=False), None
        with tf.io.gfile.GFile(path, "rb") as f:
            loaded = np.load(f, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                return loaded, None
            with loaded:
                keys = list(loaded.keys())
                if "x" not in keys and len(keys) != 1:
                    raise ConfigError(f"{path} holds arrays {keys}: name the examples 'x' (and a test split 'x_test')")
                return loaded["x" if "x" in keys else keys[0]], loaded["x_test"] if "x_test" in keys else None
    except (ValueError, OSError, EOFError) as err:
        raise ConfigError(f"{path} is not a .npy/.npz array file ({type(err).__name__}: {err})") from None


def split_rows(examples, test_examples, test_fraction):
    """{"train": array, "test": array}: the file's own test examples, else the hashed rows."""
    if test_examples is not None:
        return {"train": examples, "test": test_examples}
    held_out = held_out_rows(len(examples), test_fraction)
    train, test = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    return {"train": _RowView(examples, train), "test": _RowView(examples, test)}


class _RowView:
    """Rows ``rows`` of ``array`` (memory-mapped or not) without copying them."""

    def __init__(self, array, rows):
        self.array, self.rows = array, rows
        self.shape, self.dtype = (len(rows), *array.shape[1:]), array.dtype

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, indices):
        return self.array[self.rows[indices]]


def describe(splits, kind, fingerprint):
    """The identity of array data as run.json keeps it."""
    train = splits["train"]
    return {"kind": kind, "shape": list(train.shape[1:]), "dtype": str(train.dtype),
            "split_sizes": {name: len(rows) for name, rows in splits.items()}, "fingerprint": fingerprint}


@gin.configurable("array_data")
def array_data(path=gin.REQUIRED, means=None, std=None, test_fraction=0.1):
    """The settings of ``Trainer.dataset = "array"``: the file, and for points the Gaussian
    mixture they come from (``means`` [K, D], ``std``) when the ``modes`` metric should count modes."""
    if (means is None) != (std is None):
        raise ConfigError("array_data.means and array_data.std go together (both or neither)")
    if std is not None and not float(std) > 0:
        raise ConfigError(f"array_data.std must be positive, got {std!r}")
    return {"path": str(path), "test_fraction": check_fraction(test_fraction, "array_data"),
            "means": None if means is None else np.asarray(means, np.float64).tolist(),
            "std": None if std is None else float(std)}


def load_array_data(settings, value_range):
    """(splits, identity) of an array file, checked."""
    path = settings["path"]
    examples, test_examples = read_array_file(path)
    kind = check_examples(examples, path, value_range)
    if test_examples is not None:
        check_examples(test_examples, f"{path}:x_test", value_range)
        if test_examples.shape[1:] != examples.shape[1:] or test_examples.dtype != examples.dtype:
            raise ConfigError(f"{path}: x_test {list(test_examples.shape)} {test_examples.dtype} does not match "
                              f"x {list(examples.shape)} {examples.dtype}")
    splits = split_rows(examples, test_examples, settings["test_fraction"])
    if min(len(rows) for rows in splits.values()) == 0:
        raise ConfigError(f"{path}: {len(examples)} examples leave a split empty at test_fraction "
                          f"{settings['test_fraction']}")
    if kind == "points" and settings.get("means") is not None:
        if np.asarray(settings["means"]).shape[-1] != examples.shape[1]:
            raise ConfigError(f"array_data.means are {np.asarray(settings['means']).shape[-1]}-D but the points are "
                              f"{examples.shape[1]}-D")
    digest = content_digest(examples)
    if test_examples is not None:
        digest = hashlib.sha256((digest + content_digest(test_examples)).encode()).hexdigest()
    return splits, describe(splits, kind, digest)


def to_unit(x, dtype, pixel_range):
    """A batch gathered from the array, as float32 in [0, 1] for images (the pipeline then maps
    to the run's pixel range) or as given for points."""
    if dtype == np.uint8:
        return pipeline.unit_pixels(x)
    x = tf.cast(x, tf.float32)
    return (x + 1.0) / 2.0 if pixel_range == "symmetric" else x


def gathered_batches(rows, batch_size, seed, split, repeat, shuffle, start, pixel_range="unit"):
    """Batches (x float32 [B, ...], label -1 [B]) of ``rows`` (an array or row view) in the order
    of ``pipeline.index_batches``; images in [0, 1], points as stored."""
    n, shape, dtype = len(rows), tuple(rows.shape[1:]), rows.dtype
    if n < batch_size:
        raise ConfigError(f"the {split} split holds {n} examples, fewer than one batch of {batch_size}")

    def read(indices):
        return np.ascontiguousarray(rows[indices])

    def gather(indices):
        x = tf.numpy_function(read, [indices], tf.as_dtype(dtype), stateful=False)
        x = tf.ensure_shape(x, [batch_size, *shape])
        return to_unit(x, dtype, pixel_range), tf.fill([batch_size], tf.constant(NO_LABEL, tf.int32))

    indices = pipeline.index_batches(n, batch_size, seed, split, shuffle, repeat, start)
    return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
