import json

import numpy as np
import pytest

from gran_tf.eval import diversity


def one_hot_images(n, scale):
    """n images [n, 2, 3] whose flattened rows are scale * e_i: every pair is scale * sqrt(2) apart."""
    return (scale * np.eye(6)[:n]).reshape(n, 2, 3)


def test_random_distinct_pairs_never_pair_a_point_with_itself_and_are_uniform():
    rng = np.random.default_rng(0)
    i, j = diversity.random_distinct_pairs(3, 60000, rng)
    assert np.all(i != j)
    counts = np.bincount(3 * i + j, minlength=9).reshape(3, 3)
    assert np.all(np.diag(counts) == 0)
    np.testing.assert_allclose(counts[~np.eye(3, dtype=bool)] / 60000, 1 / 6, atol=0.01)


def test_pairwise_distances_on_points_with_known_distances():
    samples, data = one_hot_images(5, 1.0), one_hot_images(6, 2.0)
    res = diversity.pairwise_distances(samples, data, n_pairs=500, n_bins=10, seed=1)
    for key, d in (("samples", np.sqrt(2)), ("data", 2 * np.sqrt(2))):
        assert res[key]["mean"] == pytest.approx(d)
        assert res[key]["std"] == pytest.approx(0.0, abs=1e-12)
        assert all(v == pytest.approx(d) for v in res[key]["quantiles"].values())
    edges = np.asarray(res["bin_edges"])
    assert edges[0] == 0.0 and edges[-1] == pytest.approx(2 * np.sqrt(2)) and len(edges) == 11
    for key in ("samples", "data"):  # densities integrate to one over the common bins
        assert np.sum(np.asarray(res[key]["histogram"]) * np.diff(edges)) == pytest.approx(1.0)
    assert res["js_divergence"] == pytest.approx(1.0)  # disjoint bins
    assert res["wasserstein_1"] == pytest.approx(np.sqrt(2))
    json.dumps(res)  # JSON-serialisable as returned


def test_pairwise_distance_mean_on_a_line_matches_closed_form():
    # points 0..n-1 on a line: E|i - j| over distinct pairs = (n + 1) / 3
    n = 20
    line = np.arange(n, dtype=np.float64)[:, None]
    res = diversity.pairwise_distances(line, line, n_pairs=100000, seed=0)
    assert res["samples"]["mean"] == pytest.approx((n + 1) / 3, rel=0.01)
    assert res["data"]["mean"] == pytest.approx((n + 1) / 3, rel=0.01)
    assert res["js_divergence"] < 0.01


def test_pair_distances_chunking_and_dtype():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(30, 4, 4), dtype=np.uint8)  # uint8 must not wrap around
    i, j = diversity.random_distinct_pairs(30, 100, rng)
    expected = np.linalg.norm(x[i].astype(float).reshape(100, -1) - x[j].astype(float).reshape(100, -1), axis=1)
    np.testing.assert_allclose(diversity.pair_distances(x, i, j, chunk_size=7), expected)


def constant_images(values):
    """Images [n, 4, 4] with every pixel equal to values[i]: image distance = 4 * |a - b|."""
    return np.broadcast_to(np.asarray(values, np.float64)[:, None, None], (len(values), 4, 4)).copy()


def test_nearest_neighbours_exact_in_pixel_space():
    perm = np.random.default_rng(0).permutation(10)
    train = constant_images(perm)  # train[p] has value perm[p]
    where = np.argsort(perm)  # where[v] = index of the image of value v
    idx, dist = diversity.nearest_neighbours(constant_images([2.2, 7.9]), train, k=3, chunk_size=4)
    np.testing.assert_array_equal(idx, [[where[2], where[3], where[1]], [where[8], where[7], where[9]]])
    np.testing.assert_allclose(dist, 4 * np.array([[0.2, 0.8, 1.2], [0.1, 0.9, 1.1]]), atol=1e-9)


def test_nearest_neighbours_exact_in_feature_space():
    # pixel space: value decides; feature space: only the first pixel counts
    train = constant_images([0.0, 1.0, 2.0])
    train[:, 0, 0] = [5.0, 0.0, 9.0]
    sample = constant_images([0.9])
    sample[0, 0, 0] = 3.0
    first_pixel = lambda x: np.asarray(x).reshape(len(x), -1)[:, :1]  # noqa: E731
    idx_px, _ = diversity.nearest_neighbours(sample, train, k=3)
    idx_ft, dist_ft = diversity.nearest_neighbours(sample, train, k=3, feature_fn=first_pixel)
    np.testing.assert_array_equal(idx_px, [[1, 0, 2]])  # squared: 9.15, 16.15, 54.15
    np.testing.assert_array_equal(idx_ft, [[0, 1, 2]])
    np.testing.assert_allclose(dist_ft, [[2.0, 3.0, 6.0]])


def test_nearest_neighbours_chunked_equals_unchunked_and_brute_force():
    rng = np.random.default_rng(5)
    train, samples = rng.normal(size=(53, 3, 3, 2)), rng.normal(size=(8, 3, 3, 2))
    calls = []

    def features(x):
        calls.append(len(x))
        return np.tanh(np.asarray(x).reshape(len(x), -1) @ np.linspace(-1, 1, 36).reshape(18, 2))

    chunked = diversity.nearest_neighbours(samples, train, k=4, feature_fn=features, chunk_size=7)
    assert max(calls) <= 7
    whole = diversity.nearest_neighbours(samples, train, k=4, feature_fn=features, chunk_size=1000)
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-12)
    full = np.linalg.norm(features(samples)[:, None] - features(train)[None], axis=-1)
    np.testing.assert_array_equal(whole[0], np.argsort(full, axis=1)[:, :4])
    np.testing.assert_allclose(whole[1], np.sort(full, axis=1)[:, :4], rtol=1e-9)


def test_nearest_neighbours_ties_go_to_the_lower_index_across_chunks():
    train = constant_images([3.0, 1.0, 3.0, 1.0, 1.0])
    idx, dist = diversity.nearest_neighbours(constant_images([1.0]), train, k=3, chunk_size=2)
    np.testing.assert_array_equal(idx, [[1, 3, 4]])
    np.testing.assert_array_equal(dist, [[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError):
        diversity.nearest_neighbours(constant_images([1.0]), train, k=6)


@pytest.mark.slow
def test_nearest_neighbours_on_full_mnist_train_finds_each_image_itself():
    from gran_tf.data import load_mnist

    train, _ = load_mnist("train")
    queries = train[[0, 12345, 59999]].astype(np.float64) / 255.0
    idx, dist = diversity.nearest_neighbours(queries, train.astype(np.float32) / 255.0, k=2)
    np.testing.assert_array_equal(idx[:, 0], [0, 12345, 59999])
    np.testing.assert_allclose(dist[:, 0], 0.0, atol=1e-3)
    assert np.all(dist[:, 1] > 0.5)


def test_k_smallest_columns_prefers_low_columns_among_ties():
    values = np.array([[5.0, 1.0, 3.0, 1.0, 3.0, 3.0], [0.0, 0.0, 0.0, 0.0, 9.0, 0.0]])
    np.testing.assert_array_equal(diversity._k_smallest_columns(values, 3), [[1, 2, 3], [0, 1, 2]])
    np.testing.assert_array_equal(diversity._k_smallest_columns(values[:, :2], 3), [[0, 1], [0, 1]])
