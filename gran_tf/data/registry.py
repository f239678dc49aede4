"""Dataset names, their specs and the one entry point ``make_dataset``."""
import dataclasses
import functools
import sys

import gin
import numpy as np
import tensorflow as tf

from gran_tf.data import arrays, image_folder, mnist_family, mnist_loaders, streams, synthetic, tfds_source
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


def _on_digits(build, source):
    """An MNIST-family builder fed the ``source`` digits of the split it is asked for."""
    def builder(split, data_dir, *args, **kw):
        return build(mnist_loaders.digits(source, split, data_dir), split, *args, **kw)
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
# Data the user brings: an image folder and an array file (set in gin), an array or a
# tf.data.Dataset from Python.
USER_DATASETS = ("folder", "array", "memory", "stream")
KNOWN_DATASETS = DATASET_NAMES + USER_DATASETS

# Examples per split where they are fixed by the dataset's definition (point sets are infinite).
_SPLIT_SIZES = {
    **{name: {"train": 60_000, "test": 10_000} for name in ("mnist", "fashion_mnist", "stacked_mnist", "colored_mnist")},
    "cifar10": {"train": 50_000, "test": 10_000},
}


def _check_choice(what, value, choices):
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; known: {', '.join(choices)}")


def dataset_spec(name, params=None):
    """The DatasetSpec of ``name``; loads no built-in data. Point and user-data specs follow
    ``params`` (default: the gin bindings, see ``data_params``)."""
    _check_choice("dataset", name, KNOWN_DATASETS)
    if name in _IMAGE_SPECS:
        return _IMAGE_SPECS[name]
    params = params if params is not None else data_params(name)
    if name in synthetic.POINT_DATASETS:
        mixture = _mixture(params)
        return DatasetSpec((mixture.dim,), "points", mixture.num_modes)
    if name == "folder":
        return DatasetSpec((params["size"], params["size"], params["channels"]), "image", None)
    modes = len(params["means"]) if params.get("means") is not None else None
    return DatasetSpec(tuple(params["shape"]), params["kind"], modes)


def data_params(name, path=None):
    """The recipe of dataset ``name`` under the current gin bindings, as plain numbers: a point
    set's mixture means and std, colored MNIST's colouring constants, a folder's or array file's
    settings and identity (``image_folder.describe``, ``arrays.load_array_data``; ``path``, when
    given, is theirs instead of ``image_folder.path``/``array_data.path``); {} for the others."""
    _check_choice("dataset", name, KNOWN_DATASETS)
    if name == "folder":
        return image_folder.describe(image_folder.image_folder(**_given(path)))
    if name == "array":
        settings = arrays.array_data(**_given(path))
        return {**settings, **_array_file(settings, _bound("make_dataset.pixel_range", "unit"))[1]}
    if name in ("memory", "stream"):
        raise ConfigError(f"dataset {name!r} is data given from Python (Trainer(dataset=array or tf.data.Dataset)); "
                          "from gin, save it and use Trainer.dataset = 'array' with array_data.path")
    if name in synthetic.POINT_DATASETS:
        mixture = synthetic.mixture_for(name)
        return {"means": mixture.means.tolist(), "std": mixture.std}
    if name == "colored_mnist":
        return dataclasses.asdict(mnist_family.colored_mnist_recipe())
    return {}


def _given(path):
    return {} if path is None else {"path": path}


def _mixture(params):
    return synthetic.Mixture(np.asarray(params["means"], np.float32), float(params["std"]))


def _array_file(settings, pixel_range):
    """(splits, identity) of an array file, read and checked once per version of the file."""
    return _cached_array_file(settings["path"], settings["test_fraction"], pixel_range, _file_stamp(settings["path"]))


def _file_stamp(path):
    """(bytes, mtime) of a file, (None, None) when it is missing (the reader then says so)."""
    try:
        stat = tf.io.gfile.stat(path)
    except tf.errors.OpError:
        return (None, None)
    return (stat.length, stat.mtime_nsec)


@functools.lru_cache(maxsize=4)
def _cached_array_file(path, test_fraction, pixel_range, stamp):
    del stamp  # part of the cache key: a rewritten file is read again
    return arrays.load_array_data({"path": path, "test_fraction": test_fraction}, VALUE_RANGES[pixel_range])


def _memory_splits(source, params):
    return arrays.split_rows(source, None, params["test_fraction"])


def _user_dataset(name, params, split, batch_size, seed, repeat, shuffle, start, pixel_range, source):
    """Batches of a folder, array file or in-memory array, x in [0, 1] for images."""
    if name == "folder":
        return image_folder.folder_dataset(params, split, batch_size, seed, repeat, shuffle, start)
    if name == "array":
        splits, identity = _array_file(params, pixel_range)
        if identity["fingerprint"] != params["fingerprint"]:
            print(f"warning: array file {params['path']} changed since the run was recorded "
                  f"(sha256 {params['fingerprint'][:12]}... then, {identity['fingerprint'][:12]}... now); "
                  "using it as it is now", file=sys.stderr)
    else:
        if source is None:
            raise ConfigError(f"this run trained on {'an array' if name == 'memory' else 'a tf.data.Dataset'} "
                              "given from Python, which is not saved with it: pass the same data again "
                              "(gt.load_run(..., data=x), or --data=FILE.npy on the command line)")
        if name == "stream":
            return streams.stream_batches(source, params, split, batch_size, seed, repeat, shuffle, start,
                                          VALUE_RANGES[pixel_range])
        splits = _memory_splits(source, params)
    rows_range = pixel_range if params["kind"] == "image" else "unit"
    return arrays.gathered_batches(splits[split], batch_size, seed, split, repeat, shuffle, start, rows_range)


def _check_shape(name, dataset, spec):
    shape = tuple(dataset.element_spec[0].shape[1:])
    if shape != spec.shape:
        raise ConfigError(f"dataset {name!r} gives examples of shape {shape}, expected {spec.shape}")


def _to_pixel_range(x, pixel_range):
    return 2.0 * x - 1.0 if pixel_range == "symmetric" else x


@gin.configurable(denylist=["batch_size", "seed", "params", "source"])
def make_dataset(name=gin.REQUIRED, batch_size=100, seed=0, split="train", pixel_range="unit",
                 data_dir=None, repeat=True, shuffle=True, start=0, params=None, source=None):
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

    ``params`` is the dataset's recipe as ``data_params`` gives it (default: the gin bindings);
    ``source`` the array of dataset "memory", the tf.data.Dataset of "stream".
    """
    params = data_params(name) if params is None else params
    spec = dataset_spec(name, params)
    _check_choice("split", split, SPLITS)
    _check_choice("pixel_range", pixel_range, PIXEL_RANGES)
    if name in USER_DATASETS:
        dataset = _user_dataset(name, params, split, batch_size, seed, repeat, shuffle, start, pixel_range, source)
        if spec.kind == "image":
            dataset = dataset.map(lambda x, y: (_to_pixel_range(x, pixel_range), y))
    elif spec.kind == "points":
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
    source: object = dataclasses.field(default=None, compare=False, repr=False)  # the data of "memory", "stream"

    def __post_init__(self):
        _check_choice("dataset", self.name, KNOWN_DATASETS)
        _check_choice("pixel_range", self.pixel_range, PIXEL_RANGES)

    @classmethod
    def from_array(cls, array, pixel_range="unit", test_fraction=0.1):
        """The record of examples given as a NumPy array (dataset "memory"): images (N, H, W, C)
        uint8 or float in ``pixel_range``, or points (N, D); ``test_fraction`` of the rows,
        chosen by a fixed hash of the row index, form the test split."""
        _check_choice("pixel_range", pixel_range, PIXEL_RANGES)
        array = np.asarray(array)
        kind = arrays.check_examples(array, "the array", VALUE_RANGES[pixel_range])
        params = {"test_fraction": arrays.check_fraction(test_fraction, "from_array")}
        splits = _memory_splits(array, params)
        if min(len(rows) for rows in splits.values()) == 0:
            raise ConfigError(f"{len(array)} examples leave a split empty at test_fraction {test_fraction}")
        value_range = [float(array.min()), float(array.max())]
        params.update(arrays.describe(splits, kind, arrays.content_digest(array)), count=len(array),
                      value_range=value_range)
        return cls("memory", pixel_range, params, source=array)

    @classmethod
    def from_dataset(cls, dataset, pixel_range="unit", test_fraction=0.1):
        """The record of examples given as a ``tf.data.Dataset`` (dataset "stream", see
        ``gran_tf.data.streams``): unbatched images or points, alone or with a label."""
        _check_choice("pixel_range", pixel_range, PIXEL_RANGES)
        return cls("stream", pixel_range, streams.describe(dataset, test_fraction), source=dataset)

    def with_source(self, data):
        """This record of a run on data given from Python with that data given again: the array
        (checked against its sha256) or the tf.data.Dataset (checked against its element spec)."""
        if self.name == "stream":
            if not isinstance(data, tf.data.Dataset):
                raise ConfigError("this run trained on a tf.data.Dataset given from Python: give it again")
            streams.same_examples(self.params, data)
            return dataclasses.replace(self, source=data)
        if self.name != "memory":
            raise ConfigError(f"this run trained on {self.name!r}, not on data given from Python")
        array = np.asarray(data)
        if arrays.content_digest(array) != self.params["fingerprint"]:
            raise ConfigError(f"the array given ({list(array.shape)} {array.dtype}) is not the one the run trained "
                              f"on ({self.params['shape']} per example, {self.params['count']} examples, sha256 "
                              f"{self.params['fingerprint'][:12]}...)")
        return dataclasses.replace(self, source=array)

    @classmethod
    def current(cls, name):
        """The record of dataset ``name`` under the current gin bindings (training time);
        ``"folder:PATH"`` and ``"array:PATH"`` name user data with its path."""
        kind, _, path = name.partition(":") if name.startswith(("folder:", "array:")) else (name, "", "")
        return cls(kind, _bound("make_dataset.pixel_range", "unit"), data_params(kind, path or None))

    @property
    def spec(self):
        return dataset_spec(self.name, self.params)

    @property
    def value_range(self):
        """(low, high) of an example's values; None for point sets (unbounded)."""
        return None if self.spec.kind == "points" else VALUE_RANGES[self.pixel_range]

    @property
    def iterator_in_checkpoint(self):
        """True for the tfds image sets, which stream through a shuffle buffer: a resumed run
        restores their iterator from the checkpoint. Every other pipeline but "stream" is
        indexed (batch k a function of (seed, k), starting at any batch for free); a stream of
        the user's is read up to the resumed batch."""
        return self.name in tfds_source.TFDS_IMAGE_SOURCES

    @property
    def has_mixture(self):
        """True for point data with known mixture modes (the built-in sets, array points with
        ``array_data.means``/``std``)."""
        return self.spec.kind == "points" and self.params.get("means") is not None

    def mixture(self):
        """The Gaussian mixture of a point set."""
        if not self.has_mixture:
            raise ConfigError(f"{self.name!r} is not a point dataset with known modes "
                              "(for array points, set array_data.means and array_data.std)")
        return _mixture(self.params)

    def split_size(self, split):
        """Examples in ``split``; None where unknown (point sets, a tf.data.Dataset's hashed split)."""
        return (self.to_dict()["split_sizes"] or {}).get(split)

    def identity(self):
        """What fixes the examples of this data (name, recipe, content hashes), as plain values:
        the key of caches of statistics on it; None for a tf.data.Dataset, which has no hash."""
        if self.name == "stream":
            return None
        return {k: v for k, v in self.to_dict().items() if k != "pixel_range"}

    def real(self, n, seed, split="test", data_dir=None, batch_size=500, allow_repeats=True):
        """n real examples of ``split`` in the run's pixel range, as NumPy: drawn from the
        mixture for the built-in point sets, else read in batches of the seeded pipeline (its
        next epochs give the rest when n exceeds the split). With ``allow_repeats=False`` (FID's
        real statistics) asking for more than the split holds is a ConfigError."""
        if self.name in synthetic.POINT_DATASETS:
            x, _ = self.mixture().sample(n, seed=seed + 1 + SPLITS.index(split))
            return np.asarray(x)
        size = self.split_size(split)
        if size is not None and n > size and not allow_repeats:
            raise ConfigError(f"{n} real examples asked of the {split} split of {self.name!r}, which holds {size}: "
                              "ask for fewer, or allow repeated examples (--allow_repeats)")
        batch = min(n, batch_size, size or batch_size)
        repeat = allow_repeats or size is not None  # within one epoch when the size is known
        batches = self.make_dataset(batch, seed, split=split, data_dir=data_dir, repeat=repeat, shuffle=True)
        parts = [np.asarray(x) for x, _ in batches.take(-(-n // batch))]
        x = np.concatenate(parts)[:n] if parts else np.zeros((0, *self.spec.shape), np.float32)
        if len(x) < n:
            raise ConfigError(f"{n} real examples asked of the {split} split of {self.name!r}, which gave {len(x)}: "
                              "ask for fewer, or allow repeated examples (--allow_repeats)")
        return x

    def make_dataset(self, batch_size, seed, **kw):
        """``make_dataset`` of this data (``split``, ``data_dir``, ``repeat``, ``shuffle``, ``start``)."""
        return make_dataset(self.name, batch_size=batch_size, seed=seed, pixel_range=self.pixel_range,
                            params=self.params, source=self.source, **kw)

    def to_dict(self):
        spec = self.spec
        return {"name": self.name, "pixel_range": self.pixel_range, "params": self.params,
                "shape": list(spec.shape), "kind": spec.kind, "num_classes": spec.num_classes,
                "value_range": None if self.value_range is None else list(self.value_range),
                "split_sizes": _SPLIT_SIZES.get(self.name) or self.params.get("split_sizes")}

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


def as_data_record(data, pixel_range=None):
    """A ``DataRecord`` from a record, a dataset's name (its gin recipe), a NumPy array or a
    ``tf.data.Dataset`` of examples (in ``pixel_range``, default ``make_dataset.pixel_range``'s binding)."""
    if isinstance(data, DataRecord):
        return data
    if isinstance(data, str):
        return DataRecord.current(data)
    pixel_range = pixel_range or _bound("make_dataset.pixel_range", "unit")
    if isinstance(data, np.ndarray):
        return DataRecord.from_array(data, pixel_range)
    if isinstance(data, tf.data.Dataset):
        return DataRecord.from_dataset(data, pixel_range)
    raise ConfigError("data must be a dataset name, a NumPy array, a tf.data.Dataset or a DataRecord, "
                      f"got {type(data).__name__}")
