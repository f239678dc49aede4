"""A ``tf.data.Dataset`` of examples given from Python (dataset "stream").

The dataset yields unbatched examples, alone or as the first element of a tuple (labels are
ignored): images (H, W, C) with C in {1, 3}, uint8 or float in the run's pixel range, or points
(D,) as floats. A stream may be endless, so nothing is hashed: the run records its element spec
and cardinality, and another process evaluating the run must be given the dataset again.

The test split holds the examples whose position i in the stream draws
``stateless_uniform(seed=[i, TEST_SPLIT_KEY]) < test_fraction``: a fixed function of the position,
so train and test never share an example. Batches shuffle the split's examples in a seeded buffer
of ``SHUFFLE_BUFFER`` (kept as the stream gives them, before conversion to float), repeat, and drop
the last partial batch. A resumed run reads and drops the batches already consumed (the only
position a stream of unknown source can be put at); values are checked batch by batch, so a NaN
or an out-of-range pixel stops the run with one message naming what was wrong.
"""
import tensorflow as tf

from gran_tf.data import arrays
from gran_tf.errors import ConfigError

SHUFFLE_BUFFER = 1024
TEST_SPLIT_KEY = 0x5EED  # the second word of each position's held-out draw


def example_spec(dataset):
    """The TensorSpec of one example of ``dataset`` (its element, or the first of a tuple)."""
    spec = dataset.element_spec
    if isinstance(spec, tuple) and spec:
        spec = spec[0]
    if not isinstance(spec, tf.TensorSpec):
        raise ConfigError(f"a tf.data.Dataset of examples yields a tensor or an (example, label) tuple, "
                          f"not {dataset.element_spec}")
    return spec


def describe(dataset, test_fraction):
    """The record of a stream's examples as run.json keeps it: kind, shape, dtype, element spec, count."""
    spec = example_spec(dataset)
    shape, dtype = spec.shape, spec.dtype
    what = f"the tf.data.Dataset's examples ({shape} {dtype.name})"
    if shape.rank not in (1, 3) or not shape.is_fully_defined():
        raise ConfigError(f"{what}: expected unbatched images (H, W, C) or points (D,) of static shape "
                          "(unbatch a batched dataset with .unbatch())")
    if shape.rank == 3 and shape[-1] not in (1, 3):
        raise ConfigError(f"{what}: images need 1 or 3 channels")
    if not (dtype.is_floating or (dtype == tf.uint8 and shape.rank == 3)):
        raise ConfigError(f"{what}: expected uint8 images or float images/points")
    count = int(dataset.cardinality())
    return {"kind": "image" if shape.rank == 3 else "points", "shape": shape.as_list(), "dtype": dtype.name,
            "element_spec": repr(dataset.element_spec), "count": count if count >= 0 else None,
            "test_fraction": arrays.check_fraction(test_fraction, "from_dataset"), "split_sizes": None,
            "fingerprint": None}


def same_examples(params, dataset):
    """Raises ConfigError unless ``dataset`` yields examples of the shape and dtype recorded in ``params``."""
    spec = example_spec(dataset)
    if spec.shape.as_list() != params["shape"] or spec.dtype.name != params["dtype"]:
        raise ConfigError(f"the tf.data.Dataset given yields {spec.shape.as_list()} {spec.dtype.name} examples; "
                          f"the run trained on {params['shape']} {params['dtype']}")


def _in_split(position, test_fraction, split):
    draw = tf.random.stateless_uniform([], seed=tf.stack([position, tf.constant(TEST_SPLIT_KEY, tf.int64)]))
    return tf.equal(draw < test_fraction, split == "test")


def _checked_unit(x, kind, value_range):
    """x as float32, images mapped from their stored range to [0, 1]; asserts finite, in range."""
    if x.dtype == tf.uint8:
        return tf.cast(x, tf.float32) / 255.0
    x = tf.debugging.assert_all_finite(tf.cast(x, tf.float32), "the tf.data.Dataset gave values that are not "
                                       "finite (NaN or inf)")
    if kind == "points":
        return x
    low, high = value_range
    with tf.control_dependencies([
            tf.debugging.assert_greater_equal(x, low, message=f"the tf.data.Dataset gave pixels below {low:g}"),
            tf.debugging.assert_less_equal(x, high, message=f"the tf.data.Dataset gave pixels above {high:g}")]):
        return (x - low) / (high - low)


def stream_batches(dataset, params, split, batch_size, seed, repeat, shuffle, start, value_range):
    """Batches (x float32 [B, ...], label -1 [B]) of the split of ``dataset``; images in [0, 1]."""
    same_examples(params, dataset)
    examples = dataset.map(lambda *element: element[0]) if isinstance(dataset.element_spec, tuple) else dataset
    fraction = params["test_fraction"]
    kept = (examples.enumerate()
            .filter(lambda i, x: _in_split(i, fraction, split))
            .map(lambda i, x: x))
    if shuffle:
        kept = kept.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        kept = kept.repeat()
    batches = kept.batch(batch_size, drop_remainder=True).map(
        lambda x: (_checked_unit(x, params["kind"], value_range), tf.fill([batch_size], -1)))
    return batches.skip(start)
