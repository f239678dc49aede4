"""MNIST, Fashion-MNIST, stacked MNIST and colored MNIST as seeded in-graph pipelines.

Each split is held in memory as uint8 arrays; batches are gathered in-graph from index
batches (one stateless permutation per epoch) or from stateless random indices.
"""
import dataclasses
import functools

import gin
import numpy as np
import tensorflow as tf

from gran_tf.data import pipeline
from gran_tf.data.mnist_files import load_fashion_mnist, load_mnist

_LOADERS = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist}


@functools.lru_cache(maxsize=4)
def _split_arrays(source, split, data_dir):
    images, labels = _LOADERS[source](split, data_dir=data_dir)
    return images, labels.astype(np.int32)


def _split_tensors(source, split, data_dir):
    images, labels = _split_arrays(source, split, data_dir)
    return tf.constant(images), tf.constant(labels)


def grayscale_dataset(source, split, data_dir, batch_size, seed, repeat, shuffle, start=0):
    """Batches (x [B, 28, 28, 1] in [0, 1], digit [B]) of ``source`` ("mnist" | "fashion_mnist")."""
    images, labels = _split_tensors(source, split, data_dir)

    def gather(indices):
        return pipeline.unit_pixels(tf.gather(images, indices))[..., None], tf.gather(labels, indices)

    return pipeline.index_batches(labels.shape[0], batch_size, seed, split, shuffle, repeat, start).map(gather)


def stacked_mnist(split, data_dir, batch_size, seed, repeat, shuffle, start=0):
    """Batches (x [B, 28, 28, 3] in [0, 1], label [B]) of three random digits stacked as R, G, B.

    The three images are drawn independently and uniformly from the split (with replacement);
    label = 100 d_R + 10 d_G + d_B, one of 1000 classes. An epoch (repeat=False) has as many
    batches as the split has full batches; ``shuffle`` plays no part (every draw is random).
    """
    del shuffle
    images, labels = _split_tensors("mnist", split, data_dir)
    n = labels.shape[0]

    def stack(key):
        indices = tf.random.stateless_uniform([batch_size, 3], key, minval=0, maxval=n, dtype=tf.int32)
        x = tf.transpose(pipeline.unit_pixels(tf.gather(images, indices)), [0, 2, 3, 1])
        digits = tf.gather(labels, indices)
        return x, tf.reduce_sum(digits * tf.constant([100, 10, 1], tf.int32), axis=1)

    return pipeline.step_seeds(seed, split, None if repeat else n // batch_size, start).map(stack)


@dataclasses.dataclass(frozen=True)
class ColoredMnistRecipe:
    """Colored MNIST (Metz et al. 2017, appendix F) with the constants that paper's text lost.

    x = clip(g * c + eps, 0, 1): g is the digit in [0, 1] [28, 28, 1], c ~ N(color_mean, color_std^2 I_3)
    one RGB colour per image, eps ~ N(0, noise_std^2) independent per pixel and channel.
    """

    color_mean: float
    color_std: float
    noise_std: float


@gin.configurable
def colored_mnist_recipe(color_mean=0.5, color_std=0.25, noise_std=0.02):
    """The colored-MNIST constants (gin-configurable)."""
    return ColoredMnistRecipe(float(color_mean), float(color_std), float(noise_std))


def colorize(gray, key, recipe):
    """Colour digits gray [B, H, W, 1] in [0, 1] by the recipe, with the stateless key [2]."""
    color_key, noise_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
    batch = tf.shape(gray)[0]
    colors = recipe.color_mean + recipe.color_std * tf.random.stateless_normal([batch, 1, 1, 3], color_key)
    noise = recipe.noise_std * tf.random.stateless_normal(tf.concat([tf.shape(gray)[:3], [3]], 0), noise_key)
    return tf.clip_by_value(gray * colors + noise, 0.0, 1.0)


def colored_mnist(split, data_dir, batch_size, seed, repeat, shuffle, start=0, recipe=None):
    """Batches (x [B, 28, 28, 3] in [0, 1], digit [B]) of MNIST digits coloured by ``recipe``
    (default: ``colored_mnist_recipe()`` with the current gin bindings)."""
    recipe = recipe or colored_mnist_recipe()
    digits = grayscale_dataset("mnist", split, data_dir, batch_size, seed, repeat, shuffle, start)
    keys = pipeline.step_seeds(seed, split, start=start)
    return tf.data.Dataset.zip((digits, keys)).map(lambda xy, key: (colorize(xy[0], key, recipe), xy[1]))
