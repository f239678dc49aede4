"""Gaussian-mixture datasets: mode placement, sample statistics, labels, determinism."""
import gin
import numpy as np
import pytest
import scipy.stats

from gran_tf.data import cube, dataset_spec, grid, make_dataset, mixture_for, ring


def take(name, num_batches, batch_size=500, seed=0, **kwargs):
    dataset = make_dataset(name, batch_size=batch_size, seed=seed, **kwargs)
    pairs = [(x.numpy(), y.numpy()) for x, y in dataset.take(num_batches)]
    return np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs])


def test_ring_modes_equally_spaced_on_the_circle():
    means = ring().means
    angles = np.mod(np.arctan2(means[:, 1], means[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 2.0, rtol=1e-6)
    gaps = np.linalg.norm(means - np.roll(means, 1, axis=0), axis=1)
    np.testing.assert_allclose(gaps, 4.0 * np.sin(np.pi / 8), rtol=1e-5)  # chord 2 r sin(pi/n)


def test_grid_means_are_the_centred_lattice():
    expected = [(-4 + 2 * i, -4 + 2 * j) for i in range(5) for j in range(5)]
    np.testing.assert_array_equal(grid().means, np.array(expected, np.float32))
    assert grid().std == 0.05


def test_cube_means_are_27_points_of_the_centred_3d_lattice():
    means = cube().means
    assert means.shape == (27, 3)
    assert len({tuple(m) for m in means}) == 27
    assert set(np.unique(means)) == {-1.0, 0.0, 1.0}
    np.testing.assert_allclose(means.mean(axis=0), 0.0, atol=1e-7)


@pytest.mark.parametrize("name", ["ring", "grid", "cube"])
def test_samples_match_the_mixture(name):
    mixture = mixture_for(name)
    x, mode = take(name, 8)  # 4,000 points
    assert x.shape == (4000, mixture.dim) and x.dtype == np.float32 and mode.dtype == np.int32
    counts = np.bincount(mode, minlength=mixture.num_modes)
    assert scipy.stats.chisquare(counts).pvalue > 1e-3
    residual = x - mixture.means[mode]
    np.testing.assert_allclose(residual.mean(axis=0), 0.0, atol=5 * mixture.std / np.sqrt(len(x)))  # 5 standard errors
    np.testing.assert_allclose(residual.std(axis=0), mixture.std, rtol=0.05)
    distances = np.linalg.norm(x[:, None, :] - mixture.means[None], axis=2)
    np.testing.assert_array_equal(distances.argmin(axis=1), mode)


def test_same_seed_same_batches_other_seed_or_split_differs():
    x0, y0 = take("grid", 3, batch_size=64, seed=7)
    x1, y1 = take("grid", 3, batch_size=64, seed=7)
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(y0, y1)
    assert not np.array_equal(x0, take("grid", 3, batch_size=64, seed=8)[0])
    assert not np.array_equal(x0, take("grid", 3, batch_size=64, seed=7, split="test")[0])
    first, second = x0[:64], x0[64:128]
    assert not np.array_equal(first, second)


def test_repeat_false_gives_one_nominal_epoch():
    batches = list(make_dataset("ring", batch_size=1000, repeat=False))
    assert len(batches) == 10


def test_mixture_sample_is_seeded():
    mixture = ring()
    x0, m0 = mixture.sample(100, 3)
    x1, m1 = mixture.sample(100, 3)
    np.testing.assert_array_equal(x0.numpy(), x1.numpy())
    np.testing.assert_array_equal(m0.numpy(), m1.numpy())
    assert x0.shape == (100, 2) and m0.shape == (100,)
    assert not np.array_equal(x0.numpy(), mixture.sample(100, 4)[0].numpy())


def test_gin_bindings_shape_mixture_spec_and_dataset():
    try:
        gin.bind_parameter("gran_tf.data.synthetic.ring.n_modes", 5)
        gin.bind_parameter("gran_tf.data.synthetic.ring.radius", 1.0)
        gin.bind_parameter("make_dataset.name", "ring")
        assert dataset_spec("ring").num_classes == 5
        assert mixture_for("ring").means.shape == (5, 2)
        x, y = next(iter(make_dataset(batch_size=2000, seed=1)))
        assert set(np.unique(y.numpy())) == set(range(5))
        np.testing.assert_allclose(np.linalg.norm(x.numpy(), axis=1), 1.0, atol=0.1)
    finally:
        gin.clear_config()
