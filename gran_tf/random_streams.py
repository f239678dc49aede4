"""Every stateless-RNG key in gran_tf is ``[seed, word]``; this table holds the words, so that no
two uses of one seed draw the same numbers by accident. ``standard_normal`` draws every latent.

- 0 .. 3: the data pipelines, ``len(SPLITS) * stream + split`` (``data.pipeline.stream_seed``:
  the permutation and per-batch streams of the train and test splits).
- ``UPDATERS``: the training step's draws, with the step and the draw's stream folded in
  (``training.updaters.base.draw_seed``).
- The rest: one draw each, outside training.
"""
import math

import tensorflow as tf

UPDATERS = -1
EVALUATION = 7  # the generator samples an evaluation scores (run_metrics.EvalContext)
SAMPLE_CLI = 8  # gran-sample's latents (--seed)
POINT_SAMPLES = 2**31 - 2  # the 2,500 points of a point-data sample picture
SAMPLE_GRID = 2**31 - 1  # the fixed latents of a run's sample grids


def key(seed, word):
    """The key ``[seed, word]`` of one named stream."""
    return [int(seed), int(word)]


def standard_normal(shape, seed, dtype=tf.float32):
    """N(0, 1) draws of ``shape`` from the stateless key ``seed``: the Box–Muller transform of
    Philox uniforms (Box & Muller 1958; docs/environment.md#latent-draws), pairs
    z1 = r cos θ, z2 = r sin θ with r = sqrt(−2 ln(1 − u1)), θ = 2π u2.

    About half the CPU time of ``tf.random.stateless_normal``, whose kernel was 40 % of a ring
    training step on one CPU thread."""
    shape = tf.convert_to_tensor(shape, tf.int32)
    n = tf.reduce_prod(shape)
    u = tf.random.stateless_uniform([2, (n + 1) // 2], seed, alg="philox")
    r = tf.sqrt(-2.0 * tf.math.log1p(-u[0]))  # 1 − u1 in (0, 1]: r finite
    theta = (2.0 * math.pi) * u[1]
    pairs = tf.concat([r * tf.cos(theta), r * tf.sin(theta)], axis=0)
    return tf.cast(tf.reshape(pairs[:n], shape), dtype)
