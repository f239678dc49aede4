"""Seeded in-graph building blocks shared by the datasets.

All randomness comes from stateless RNG ops keyed on (seed, split, stream, step), so a
dataset is a pure function of its arguments (the global TF seed plays no part).
"""
import tensorflow as tf

from gran_tf.errors import ConfigError

SPLITS = ("train", "test")

# Independent random streams derived from one user seed.
STREAM_PERMUTATION = 0
STREAM_BATCH = 1


def check_split(split):
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; expected one of {SPLITS}")


def stream_seed(seed, split, stream):
    """Stateless-RNG key [2] of one (seed, split, stream) triple (words 0 .. 3 of ``random_streams``)."""
    return tf.constant([seed, len(SPLITS) * stream + SPLITS.index(split)], tf.int64)


def step_seeds(seed, split, num_steps=None, start=0):
    """Dataset of per-step stateless keys [2] from step ``start``: infinite, or up to ``num_steps``."""
    base = stream_seed(seed, split, STREAM_BATCH)
    steps = tf.data.Dataset.counter(start) if num_steps is None else tf.data.Dataset.range(start, num_steps)
    return steps.map(lambda step: tf.random.experimental.stateless_fold_in(base, step))


def index_batches(n, batch_size, seed, split, shuffle, repeat, start=0):
    """Dataset of int32 index batches [batch_size] over range(n), one permutation per epoch,
    from batch ``start`` on (its epoch's permutation is drawn directly: no batch is replayed).

    Batches run across epoch boundaries when repeating; the last partial batch is dropped.
    """
    base = stream_seed(seed, split, STREAM_PERMUTATION)

    def epoch_indices(epoch):
        indices = tf.range(n, dtype=tf.int32)
        if shuffle:
            key = tf.random.experimental.stateless_fold_in(base, epoch)
            indices = tf.random.experimental.stateless_shuffle(indices, seed=key)
        return tf.data.Dataset.from_tensor_slices(indices)

    first_epoch, offset = divmod(start * batch_size, n) if repeat else (0, start * batch_size)
    epochs = tf.data.Dataset.counter(first_epoch) if repeat else tf.data.Dataset.range(1)
    return epochs.flat_map(epoch_indices).skip(offset).batch(batch_size, drop_remainder=True)


def unit_pixels(images):
    """uint8 pixels -> float32 in [0, 1]."""
    return tf.cast(images, tf.float32) / 255.0


def resize_and_centre_crop(image, size, method="bilinear"):
    """Scale uint8 [H, W, C] so its shorter side is ``size`` (antialiased), then crop the centre
    square: uint8 [size, size, C]."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scaled = tf.cast(tf.math.ceil(shape * size / tf.reduce_min(shape)), tf.int32)
    resized = tf.image.resize(image, scaled, method=method, antialias=True)
    top, left = (scaled[0] - size) // 2, (scaled[1] - size) // 2
    crop = resized[top:top + size, left:left + size]
    crop = tf.cast(tf.clip_by_value(tf.round(crop), 0.0, 255.0), tf.uint8)
    return tf.ensure_shape(crop, [size, size, image.shape[-1]])
