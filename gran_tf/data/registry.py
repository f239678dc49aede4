"""Dataset names, their specs and the one entry point ``make_dataset``."""
import dataclasses
import functools

import gin
import tensorflow as tf

from gran_tf.data import mnist_family, synthetic, tfds_source
from gran_tf.data.mnist_files import SPLITS
from gran_tf.errors import ConfigError

PIXEL_RANGES = ("unit", "symmetric")


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Shape of one example (no batch dim), "points" | "image", number of label classes (None: unlabeled)."""

    shape: tuple
    kind: str
    num_classes: int = None


_IMAGE_SPECS = {
    "mnist": DatasetSpec((28, 28, 1), "image", 10),
    "fashion_mnist": DatasetSpec((28, 28, 1), "image", 10),
    "stacked_mnist": DatasetSpec((28, 28, 3), "image", 1000),
    "colored_mnist": DatasetSpec((28, 28, 3), "image", 10),
    "cifar10": DatasetSpec((32, 32, 3), "image", 10),
    "lsun_church": DatasetSpec((64, 64, 3), "image", None),
    "lsun_kitchen": DatasetSpec((64, 64, 3), "image", None),
    "imagenet64": DatasetSpec((64, 64, 3), "image", None),
}

# name -> fn(split, data_dir, batch_size, seed, repeat, shuffle) -> batches (x in [0, 1], label int32)
_IMAGE_BUILDERS = {
    "mnist": functools.partial(mnist_family.grayscale_dataset, "mnist"),
    "fashion_mnist": functools.partial(mnist_family.grayscale_dataset, "fashion_mnist"),
    "stacked_mnist": mnist_family.stacked_mnist,
    "colored_mnist": mnist_family.colored_mnist,
    **{name: functools.partial(tfds_source.tfds_image_dataset, name) for name in tfds_source.TFDS_IMAGE_SOURCES},
}

DATASET_NAMES = synthetic.POINT_DATASETS + tuple(_IMAGE_SPECS)


def _check_choice(what, value, choices):
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; known: {', '.join(choices)}")


def dataset_spec(name):
    """The DatasetSpec of ``name``; loads no data (point specs follow the gin bindings)."""
    _check_choice("dataset", name, DATASET_NAMES)
    if name in synthetic.POINT_DATASETS:
        mixture = synthetic.mixture_for(name)
        return DatasetSpec((mixture.dim,), "points", mixture.num_modes)
    return _IMAGE_SPECS[name]


def _check_shape(name, dataset, spec):
    shape = tuple(dataset.element_spec[0].shape[1:])
    if shape != spec.shape:
        raise ConfigError(f"dataset {name!r} gives examples of shape {shape}, expected {spec.shape}")


def _to_pixel_range(x, pixel_range):
    return 2.0 * x - 1.0 if pixel_range == "symmetric" else x


@gin.configurable(denylist=["batch_size", "seed"])
def make_dataset(name=gin.REQUIRED, batch_size=100, seed=0, split="train", pixel_range="unit",
                 data_dir=None, repeat=True, shuffle=True, start=0):
    """Batches (x float32 [batch_size, ...], label int32 [batch_size]) of the dataset ``name``.

    Images are NHWC in [0, 1] ("unit") or [-1, 1] ("symmetric"); points are [B, D] with the
    true mode as label. Partial batches are dropped; repeat=True never ends, repeat=False
    gives one epoch of the split (10,000 points for the infinite point sets). Deterministic
    given ``seed`` (the tfds image sets also depend on the global TF seed through tf.data's
    shuffle). Raises ConfigError for unknown names/options, DataUnavailableError when the
    data is not on this machine.

    ``start`` begins at that batch: the same batches as ``make_dataset(...).skip(start)``,
    computed directly for the point sets and the MNIST family (stateless in the batch index), so
    a resumed run replays nothing; the tfds image sets read and drop the skipped batches.
    """
    spec = dataset_spec(name)
    _check_choice("split", split, SPLITS)
    _check_choice("pixel_range", pixel_range, PIXEL_RANGES)
    if spec.kind == "points":
        dataset = synthetic.mixture_dataset(name, batch_size, seed, split, repeat, start)
    else:
        dataset = _IMAGE_BUILDERS[name](split, data_dir, batch_size, seed, repeat, shuffle, start)
        dataset = dataset.map(lambda x, y: (_to_pixel_range(x, pixel_range), y))
    _check_shape(name, dataset, spec)
    return dataset
