"""MNIST, Fashion-MNIST, stacked MNIST and colored MNIST as seeded in-graph pipelines.

Each builder takes one split's digits as uint8 arrays (the registry loads them) and gathers batches
in-graph from index batches (one stateless permutation per epoch) or from stateless random indices.
"""
import dataclasses

import gin
import numpy as np
import tensorflow as tf

from gran_tf.data import pipeline
def _tensors(digits):
    images, labels = digits
    return tf.constant(images), tf.constant(labels.astype(np.int32))


def grayscale_dataset(digits, split, batch_size, seed, repeat, shuffle, start=0):
    """Batches (x [B, 28, 28, 1] in [0, 1], digit [B]) of ``digits`` = (images uint8 [N, 28, 28], labels)."""
    images, labels = _tensors(digits)

    def gather(indices):
        return pipeline.unit_pixels(tf.gather(images, indices))[..., None], tf.gather(labels, indices)

    return pipeline.index_batches(labels.shape[0], batch_size, seed, split, shuffle, repeat, start).map(gather)


def stacked_mnist(digits, split, batch_size, seed, repeat, shuffle, start=0):
    """Batches (x [B, 28, 28, 3] in [0, 1], label [B]) of three random digits stacked as R, G, B.

    The three images are drawn independently and uniformly from the split (with replacement);
    label = 100 d_R + 10 d_G + d_B, one of 1000 classes. An epoch (repeat=False) has as many
    batches as the split has full batches; ``shuffle`` plays no part (every draw is random).
    """
    del shuffle
    images, labels = _tensors(digits)
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


def colored_mnist(digits, split, batch_size, seed, repeat, shuffle, start=0, recipe=None):
    """Batches (x [B, 28, 28, 3] in [0, 1], digit [B]) of MNIST digits coloured by ``recipe``
    (default: ``colored_mnist_recipe()`` with the current gin bindings)."""
    recipe = recipe or colored_mnist_recipe()
    batches = grayscale_dataset(digits, split, batch_size, seed, repeat, shuffle, start)
    keys = pipeline.step_seeds(seed, split, start=start)
    return tf.data.Dataset.zip((batches, keys)).map(lambda xy, key: (colorize(xy[0], key, recipe), xy[1]))
