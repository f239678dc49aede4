"""Improved precision/recall and density/coverage on known cases, and against the prdc package."""
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from gran_tf.errors import GranError
from gran_tf.eval import manifold


def _gaussians(seed, n, dim=8, shift=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(shift, scale, size=(n, dim))


def test_knn_radii_are_the_kth_neighbour_distance_itself_excluded(monkeypatch):
    x = _gaussians(0, 50)
    brute = np.sort(cdist(x, x), axis=1)[:, 3]  # column 0 is the point itself
    np.testing.assert_allclose(manifold.knn_radii(x, 3), brute, rtol=1e-9)
    monkeypatch.setattr(manifold, "_BLOCK", 7)  # blocks of rows give the same radii
    np.testing.assert_allclose(manifold.knn_radii(x, 3), brute, rtol=1e-9)
    with pytest.raises(GranError, match="k = 50"):
        manifold.knn_radii(x, 50)


def test_a_set_against_itself_is_perfect():
    x = _gaussians(1, 60)
    assert manifold.precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
    assert manifold.density_coverage(x, x)["coverage"] == 1.0


def test_disjoint_sets_score_zero():
    real, fake = _gaussians(2, 60), _gaussians(3, 40, shift=100.0)
    assert manifold.precision_recall(real, fake) == {"precision": 0.0, "recall": 0.0}
    assert manifold.density_coverage(real, fake) == {"density": 0.0, "coverage": 0.0}


def test_a_subset_is_precise_and_covers_at_least_itself():
    real = _gaussians(4, 80)
    fake = real[:40]
    assert manifold.precision_recall(real, fake)["precision"] == 1.0
    scores = manifold.density_coverage(real, fake, k=5)
    assert scores["coverage"] >= 0.5  # every real point in the subset holds itself
    assert scores["density"] >= 1 / 5  # each fake point lies in its own real ball at least


def test_collapse_keeps_precision_and_loses_recall():
    real = _gaussians(5, 200)
    collapsed = real[np.argsort(np.linalg.norm(real, axis=1))[:20]]  # the 10% nearest the mean
    scores = {**manifold.precision_recall(real, collapsed), **manifold.density_coverage(real, collapsed)}
    assert scores["precision"] == 1.0 and scores["recall"] < 0.5 and scores["coverage"] < 1.0
    assert scores["density"] > 1.0  # samples packed where the data is dense


def test_matches_the_prdc_package():
    prdc = pytest.importorskip("prdc", reason="prdc (Naeem et al.'s package) is not installed")
    real, fake = _gaussians(6, 300, dim=16), _gaussians(7, 250, dim=16, shift=0.3, scale=1.2)
    for k in (3, 5):
        theirs = prdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
        ours = {**manifold.precision_recall(real, fake, k), **manifold.density_coverage(real, fake, k)}
        assert ours == pytest.approx({key: float(v) for key, v in theirs.items()}, rel=1e-12)
