"""Mode coverage on constructed mixtures with known answers."""
import json

import numpy as np
import pytest

from gran_tf.errors import GranError
from gran_tf.eval import modes

STD = 0.02


def ring_means(k=8, radius=2.0):
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def on_modes(means, mode_ids, per_mode, rng, spread=STD):
    """``per_mode`` points around each listed mode, all within 3 std of it."""
    offsets = np.clip(rng.normal(0, spread, size=(len(mode_ids) * per_mode, means.shape[1])), -STD, STD)
    return np.repeat(means[list(mode_ids)], per_mode, axis=0) + offsets


def test_samples_on_three_modes_plus_outliers():
    rng = np.random.default_rng(0)
    means = ring_means()
    samples = np.concatenate([on_modes(means, [0, 2, 5], 30, rng), np.zeros((10, 2))])
    report = modes.mode_coverage(samples, means, STD)
    assert report["n"] == 100
    assert report["modes_covered"] == 3
    assert report["covered"] == [True, False, True, False, False, True, False, False]
    assert report["hq_percent"] == pytest.approx(90.0)
    assert report["histogram"] == [30, 0, 30, 0, 0, 30, 0, 0, 10]
    # p uniform over 3 of 8 modes: Σ p log(8 p) = log(8 / 3).
    assert report["reverse_kl"] == pytest.approx(np.log(8 / 3))
    assert report["js"] is None and report["fid"] is None
    assert json.loads(json.dumps(report)) == report


def test_high_quality_boundary_is_inclusive():
    means = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[3 * STD, 0.0], [3 * STD * 1.01, 0.0]])
    nearest, hq = modes.assign_modes(samples, means, STD)
    assert nearest.tolist() == [0, 0]
    assert hq.tolist() == [True, False]
    assert modes.assign_modes(samples, means, STD, hq_sigmas=4.0)[1].tolist() == [True, True]


def test_no_high_quality_sample_gives_none_kl_and_zero_coverage():
    report = modes.mode_coverage(np.full((5, 2), 1.0), ring_means(), STD)
    assert report["modes_covered"] == 0 and report["hq_fraction"] == 0.0
    assert report["reverse_kl"] is None
    assert report["histogram"][-1] == 5


def test_real_samples_give_js_and_raw_coordinate_fid():
    rng = np.random.default_rng(1)
    means = ring_means()
    real = on_modes(means, range(8), 25, rng)
    same = modes.mode_coverage(real, means, STD, real_samples=real)
    assert same["js"] == pytest.approx(0.0, abs=1e-12)
    assert same["fid"] == pytest.approx(0.0, abs=1e-6)
    shift = np.array([0.3, -0.4])  # same covariance, means 0.5 apart: FID = |shift|² = 0.25
    shifted = modes.mode_coverage(real + shift, means, STD, real_samples=real)
    assert shifted["fid"] == pytest.approx(0.25, rel=1e-6)
    # every shifted point is off-mode: generated histogram is all off-mode, real has none there
    assert shifted["js"] == pytest.approx(np.log(2))
    assert shifted["real_histogram"] == [25] * 8 + [0]


def test_mode_occupancy_is_the_fraction_nearest_each_mode_high_quality_or_not():
    rng = np.random.default_rng(2)
    means = ring_means()
    np.testing.assert_array_equal(modes.mode_occupancy(on_modes(means, [0], 10, rng), means), [1] + [0] * 7)
    occupancy = modes.mode_occupancy(on_modes(means, [1, 3], 5, rng), means)
    assert occupancy.dtype == np.float64 and occupancy.tolist() == [0, 0.5, 0, 0.5, 0, 0, 0, 0]
    # Far off mode 2 (not high quality, never in mode_histogram's modes) still counts for mode 2.
    far = np.concatenate([on_modes(means, [2], 3, rng), 1.5 * means[2:3]])
    assert modes.mode_histogram(far, means, STD)[2] == 3
    np.testing.assert_array_equal(modes.mode_occupancy(far, means), [0, 0, 1, 0, 0, 0, 0, 0])
    nearest, distance = modes.nearest_modes(far, means)
    assert nearest.tolist() == [2] * 4 and distance[-1] == pytest.approx(0.5 * np.linalg.norm(means[2]))
    with pytest.raises(GranError):
        modes.mode_occupancy(np.zeros((4, 3)), means)


def test_three_d_cube_and_bad_shapes():
    grid = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], float)
    report = modes.mode_coverage(grid + 0.01, grid, 0.02 ** 0.5)
    assert report["modes_covered"] == 27 and report["reverse_kl"] == pytest.approx(0.0)
    with pytest.raises(GranError):
        modes.mode_coverage(np.zeros((4, 2)), grid, 0.1)
    with pytest.raises(GranError):
        modes.mode_coverage(np.zeros((4, 3)), grid, 0.0)
    with pytest.raises(GranError):
        modes.mode_coverage(np.full((4, 3), np.nan), grid, 0.1)
