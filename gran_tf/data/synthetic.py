"""Mixtures of isotropic Gaussians (ring, grid, cube), sampled in-graph.

Each mixture has K equally likely modes with means mu_k and one shared std sigma:
p(x) = (1/K) sum_k N(x; mu_k, sigma^2 I). The label of a point is its true mode k.
"""
import dataclasses
import itertools

import gin
import numpy as np
import tensorflow as tf

from gran_tf.data import pipeline
from gran_tf.errors import ConfigError
from gran_tf.settings import check_settings, integer, number

POINT_DATASETS = ("ring", "grid", "cube")
# A point dataset is infinite; with repeat=False it yields one nominal epoch of this many points.
POINTS_PER_EPOCH = 10_000


@dataclasses.dataclass(frozen=True, eq=False)
class Mixture:
    """Equal-weight Gaussian mixture: ``means`` [K, D] float32, shared ``std``."""

    means: np.ndarray
    std: float

    def __post_init__(self):
        # Checked when the recipe is read (Trainer set-up), not when the first evaluation needs it.
        means = np.asarray(self.means)
        if means.ndim != 2 or len(means) == 0 or not np.isfinite(means).all():
            raise ConfigError(f"a mixture needs finite means of shape [modes >= 1, dim], got shape {means.shape}")
        if not (np.isfinite(self.std) and self.std > 0):
            raise ConfigError(f"a mixture's std must be positive and finite, got {self.std!r}")

    @property
    def num_modes(self):
        return self.means.shape[0]

    @property
    def dim(self):
        return self.means.shape[1]

    def sample(self, n, seed):
        """(x float32 [n, D], mode int32 [n]); ``seed`` is an int or a stateless key [2]."""
        key = tf.convert_to_tensor(seed, tf.int64)
        if key.shape.rank == 0:
            key = tf.stack([key, tf.constant(0, tf.int64)])
        mode_key, noise_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        modes = tf.random.stateless_uniform([n], mode_key, minval=0, maxval=self.num_modes, dtype=tf.int32)
        noise = tf.random.stateless_normal([n, self.dim], noise_key, dtype=tf.float32)
        return tf.gather(tf.constant(self.means, tf.float32), modes) + self.std * noise, modes


def _centred_lattice(n, spacing, dim):
    """All points of an n^dim lattice with the given spacing, centred on 0, in row-major order."""
    axis = (np.arange(n) - (n - 1) / 2.0) * spacing
    return np.array(list(itertools.product(axis, repeat=dim)), np.float32)


def check_lattice_settings(owner, n, spacing, std):
    check_settings(owner, n=(integer(1), n), spacing=(number(above=0), spacing), std=(number(above=0), std))


@gin.configurable
def ring(n_modes=8, radius=2.0, std=0.02):
    """Modes at angles 2*pi*k/n_modes, k < n_modes, on a circle of the given radius."""
    check_settings("ring", n_modes=(integer(1), n_modes), radius=(number(above=0), radius), std=(number(above=0), std))
    angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Mixture(means.astype(np.float32), float(std))


@gin.configurable
def grid(n=5, spacing=2.0, std=0.05):
    """n x n centred lattice; defaults give means (-4 + 2i, -4 + 2j), mode index n*i + j."""
    check_lattice_settings("grid", n, spacing, std)
    return Mixture(_centred_lattice(n, spacing, 2), float(std))


@gin.configurable
def cube(n=3, spacing=1.0, std=0.1):
    """n x n x n centred lattice in 3-D; defaults give 27 modes, mode index n^2 i + n j + k."""
    check_lattice_settings("cube", n, spacing, std)
    return Mixture(_centred_lattice(n, spacing, 3), float(std))


_MIXTURES = {"ring": ring, "grid": grid, "cube": cube}


def mixture_for(name):
    """The Mixture of a point dataset, with the current gin bindings of ring/grid/cube."""
    if name not in _MIXTURES:
        raise ConfigError(f"{name!r} is not a point dataset; expected one of {POINT_DATASETS}")
    return _MIXTURES[name]()


def mixture_dataset(mixture, batch_size, seed, split, repeat, start=0):
    """Batches (x [B, D], mode [B]) of ``mixture`` drawn afresh for every step from per-step
    stateless keys."""
    num_steps = None if repeat else POINTS_PER_EPOCH // batch_size
    return pipeline.step_seeds(seed, split, num_steps, start).map(lambda key: mixture.sample(batch_size, key))
