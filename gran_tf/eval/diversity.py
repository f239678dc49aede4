"""Sample-diversity measures of the Unrolled GAN paper (Metz et al. 2017, CIFAR10 section).

* ``pairwise_distances``: the distribution of Euclidean distances between random pairs of
  samples, against the same distribution for the data. Mode collapse concentrates
  probability mass in a smaller volume, which skews the sample distances towards zero.
* ``nearest_neighbours``: for each sample, its k nearest training images (pixel space or
  a feature space), to check whether a generator copies its training set.

Distances are computed in float64 on flattened arrays; both inputs must be on the same
scale (e.g. both in [0, 1]).
"""
import numpy as np
from scipy.stats import wasserstein_distance

from gran_tf.eval.divergences import js_divergence

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _flat(x):
    x = np.asarray(x)
    return x.reshape(len(x), -1)


def random_distinct_pairs(n, n_pairs, rng):
    """``n_pairs`` index pairs (i, j), i != j, each uniform over the ordered distinct pairs of range(n)."""
    if n < 2:
        raise ValueError(f"need at least 2 points to form a pair, got {n}")
    i = rng.integers(0, n, size=n_pairs)
    j = (i + rng.integers(1, n, size=n_pairs)) % n  # an offset in [1, n) never lands back on i
    return i, j


def pair_distances(x, i, j, chunk_size=4096):
    """Euclidean distances ||x_i - x_j|| between the flattened rows of ``x`` for each pair (i, j)."""
    x = _flat(x)
    out = np.empty(len(i), dtype=np.float64)
    for start in range(0, len(i), chunk_size):
        sl = slice(start, start + chunk_size)
        diff = x[i[sl]].astype(np.float64) - x[j[sl]].astype(np.float64)
        out[sl] = np.sqrt(np.einsum("nd,nd->n", diff, diff))
    return out


def distance_summary(d):
    """Mean, std and quantiles of a set of distances, as plain floats."""
    return {
        "mean": float(np.mean(d)),
        "std": float(np.std(d)),
        "quantiles": {f"{q:g}": float(v) for q, v in zip(QUANTILES, np.quantile(d, QUANTILES))},
    }


def pairwise_distances(samples, data, n_pairs=10000, n_bins=50, seed=0):
    """Histograms and statistics of distances between random pairs of samples and of data.

    Pairs are drawn with replacement among pairs of distinct indices, independently for
    ``samples`` and ``data``. Both histograms share ``n_bins`` equal bins over
    [0, largest distance seen]; ``histogram`` holds densities (integrating to 1 over the bins).
    ``js_divergence`` is the Jensen-Shannon divergence (bits, in [0, 1]) between the two
    binned distributions; ``wasserstein_1`` is the earth mover's distance between the two
    sets of raw distances (same unit as the distances), which, unlike JS, grows with how far
    apart the two distributions lie. Everything returned is JSON-serialisable.
    """
    rng = np.random.default_rng(seed)
    d_samples = pair_distances(samples, *random_distinct_pairs(len(samples), n_pairs, rng))
    d_data = pair_distances(data, *random_distinct_pairs(len(data), n_pairs, rng))
    top = max(d_samples.max(), d_data.max())
    edges = np.linspace(0.0, top if top > 0 else 1.0, n_bins + 1)
    h_samples, _ = np.histogram(d_samples, bins=edges, density=True)
    h_data, _ = np.histogram(d_data, bins=edges, density=True)
    return {
        "n_pairs": int(n_pairs),
        "bin_edges": edges.tolist(),
        "samples": {"histogram": h_samples.tolist(), **distance_summary(d_samples)},
        "data": {"histogram": h_data.tolist(), **distance_summary(d_data)},
        "js_divergence": js_divergence(h_samples, h_data, "bits"),
        "wasserstein_1": float(wasserstein_distance(d_samples, d_data)),
    }


def _features(x, feature_fn, chunk_size):
    """Flattened float64 rows of ``x``, mapped through ``feature_fn`` chunk by chunk if given."""
    if feature_fn is None:
        return _flat(x).astype(np.float64)
    parts = [np.asarray(feature_fn(x[s : s + chunk_size])) for s in range(0, len(x), chunk_size)]
    return _flat(np.concatenate(parts)).astype(np.float64)


def _k_smallest_columns(values, k):
    """Columns [N, min(k, M)] of the k smallest entries of each row of ``values`` [N, M], in
    column order; among entries equal to the k-th smallest, the lowest columns are taken."""
    n, m = values.shape
    if m <= k:
        return np.broadcast_to(np.arange(m), (n, m))
    kth = np.partition(values, k - 1, axis=1)[:, k - 1 : k]
    below = values < kth
    at = values == kth
    room = k - below.sum(axis=1, keepdims=True)  # >= 1: the k-th value itself is not below
    chosen = below | (at & (np.cumsum(at, axis=1) <= room))
    return np.nonzero(chosen)[1].reshape(n, k)


def nearest_neighbours(samples, train, k=3, feature_fn=None, chunk_size=2048):
    """The ``k`` training points nearest (Euclidean) to each sample.

    Distances are taken between flattened pixels, or between ``feature_fn`` outputs
    (a callable mapping a batch of images to [B, F] features, e.g. a classifier's
    penultimate layer). The training set is processed ``chunk_size`` rows at a time
    (memory about len(samples) * chunk_size * 8 bytes), so 60k images fit; a running
    top-k is merged across chunks. Equal distances are ordered by training index.
    Squared distances use ||q||^2 - 2 q.t + ||t||^2 in float64, so a distance of zero
    may read as ~1e-7 times the vectors' norms.
    Returns (indices int64 [N, k], distances float64 [N, k]), nearest first.
    """
    if not 1 <= k <= len(train):
        raise ValueError(f"k must be in [1, {len(train)}], got {k}")
    queries = _features(samples, feature_fn, chunk_size)
    q_sq = np.einsum("nd,nd->n", queries, queries)[:, None]
    best_idx = np.empty((len(queries), 0), dtype=np.int64)
    best_sq = np.empty((len(queries), 0), dtype=np.float64)
    for start in range(0, len(train), chunk_size):
        keys = _features(train[start : start + chunk_size], feature_fn, chunk_size)
        # ||q - t||^2 = ||q||^2 - 2 q.t + ||t||^2, clamped against round-off below zero
        sq = np.maximum(q_sq - 2.0 * queries @ keys.T + np.einsum("nd,nd->n", keys, keys)[None], 0.0)
        cols = _k_smallest_columns(sq, k)
        cand_idx = np.concatenate([best_idx, start + cols], axis=1)
        cand_sq = np.concatenate([best_sq, np.take_along_axis(sq, cols, axis=1)], axis=1)
        # candidates are in index order, so a stable sort lets the lower index win ties
        order = np.argsort(cand_sq, axis=1, kind="stable")[:, :k]
        best_idx = np.take_along_axis(cand_idx, order, axis=1)
        best_sq = np.take_along_axis(cand_sq, order, axis=1)
    return best_idx, np.sqrt(best_sq)
