"""Improved precision and recall, density and coverage: fidelity and diversity from k-NN balls.

Both estimate each set's support by the union of balls around its samples, the radius of a
sample's ball being the distance to its k-th nearest neighbour in its own set:

- Kynkäänniemi et al., "Improved precision and recall metric for assessing generative models",
  NeurIPS 2019, eq. 1-3 (k = 3): precision is the fraction of generated samples inside the real
  support, recall the fraction of real samples inside the generated support.
- Naeem et al., "Reliable fidelity and diversity metrics for generative models", ICML 2020,
  eq. 5-6 (k = 5): density counts how many real balls hold each generated sample (1/k per ball,
  ≈ 1 when the distributions match), coverage is the fraction of real balls holding at least one
  generated sample.

Distances are Euclidean in float64, computed in blocks so that N = 50k fits in memory.
"""
import numpy as np

from gran_tf.errors import GranError

_BLOCK = 2048


def _as_matrix(features, name):
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise GranError(f"{name} must be [N >= 2, D] features, got shape {features.shape}")
    return features


def _blocks(a, b):
    """(start, ‖a_i − b_j‖ for a block of rows i) over ``a``, each block [≤ _BLOCK, len(b)]."""
    b_sq = np.sum(b * b, axis=1)
    for start in range(0, len(a), _BLOCK):
        rows = a[start:start + _BLOCK]
        squared = np.sum(rows * rows, axis=1)[:, None] + b_sq[None, :] - 2.0 * rows @ b.T
        yield start, np.sqrt(np.maximum(squared, 0.0))


def knn_radii(features, k):
    """Distance from each sample to its k-th nearest neighbour in the same set (itself excluded)."""
    if not 1 <= k < len(features):
        raise GranError(f"k = {k} needs 1 <= k < N = {len(features)}")
    radii = np.empty(len(features))
    for start, distances in _blocks(features, features):
        radii[start:start + len(distances)] = np.partition(distances, k, axis=1)[:, k]  # index 0: itself
    return radii


def balls_holding(centres, radii, points):
    """[len(points)] how many balls B(centres_i, radii_i) hold each point (‖p − c_i‖ ≤ r_i)."""
    counts = np.zeros(len(points), np.int64)
    for start, distances in _blocks(points, centres):
        counts[start:start + len(distances)] = np.sum(distances <= radii[None, :], axis=1)
    return counts


def precision_recall(real_features, fake_features, k=3):
    """Improved precision and recall (Kynkäänniemi et al. 2019, eq. 1-3)."""
    real, fake = _as_matrix(real_features, "real features"), _as_matrix(fake_features, "fake features")
    precision = np.mean(balls_holding(real, knn_radii(real, k), fake) > 0)
    recall = np.mean(balls_holding(fake, knn_radii(fake, k), real) > 0)
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real_features, fake_features, k=5):
    """Density and coverage (Naeem et al. 2020, eq. 5-6)."""
    real, fake = _as_matrix(real_features, "real features"), _as_matrix(fake_features, "fake features")
    radii = knn_radii(real, k)
    density = np.sum(balls_holding(real, radii, fake)) / (k * len(fake))  # eq. 5
    nearest_fake = np.concatenate([distances.min(axis=1) for _, distances in _blocks(real, fake)])
    coverage = np.mean(nearest_fake <= radii)  # eq. 6
    return {"density": float(density), "coverage": float(coverage)}
