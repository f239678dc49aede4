"""TF-GAN's FID/KID/IS math (loaded around its broken package __init__) vs independent NumPy/SciPy."""
import sys

import numpy as np
import pytest
import scipy.linalg
import scipy.special
import tensorflow as tf

from gran_tf.eval import tfgan_math


def _numpy_fid(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * covmean))


def _numpy_mmd2_unbiased(x, y):
    d = x.shape[1]
    k = lambda u, v: (u @ v.T / d + 1) ** 3  # noqa: E731  polynomial kernel of KID
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    m, n = len(x), len(y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * kxy.mean())


def _random_spd(rng, dim):
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(200, 6)) * 1.5 + 0.3
    assert tfgan_math.frechet_distance(a, b) == pytest.approx(_numpy_fid(a, b), rel=1e-8)


def test_frechet_distance_of_identical_sets_is_zero_and_symmetric():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(100, 5)), rng.normal(size=(120, 5)) + 1.0
    assert tfgan_math.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert tfgan_math.frechet_distance(a, b) == pytest.approx(tfgan_math.frechet_distance(b, a), rel=1e-9)


def test_frechet_distance_approaches_closed_form_for_gaussians():
    rng = np.random.default_rng(2)
    dim, n = 4, 200_000
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    s1, s2 = _random_spd(rng, dim), _random_spd(rng, dim)
    # Closed form: ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½)
    exact = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    a = rng.multivariate_normal(mu1, s1, size=n)
    b = rng.multivariate_normal(mu2, s2, size=n)
    assert tfgan_math.frechet_distance(a, b) == pytest.approx(exact, rel=0.02)


def test_kernel_distance_single_block_matches_unbiased_mmd():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(80, 7)), rng.normal(size=(60, 7)) + 0.4
    kid, std = tfgan_math.kernel_distance(x, y)
    assert kid == pytest.approx(_numpy_mmd2_unbiased(x, y), rel=1e-9)
    assert np.isnan(std)  # one block gives no spread estimate


def test_kernel_distance_blocks_give_mean_and_standard_error():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(300, 5)), rng.normal(size=(300, 5)) * 1.3
    ests = np.array([_numpy_mmd2_unbiased(x[i:i + 100], y[i:i + 100]) for i in (0, 100, 200)])
    kid, std = tfgan_math.kernel_distance(x, y, max_block_size=100)
    assert kid == pytest.approx(ests.mean(), rel=1e-9)
    assert std == pytest.approx(ests.std(ddof=1) / np.sqrt(3), rel=1e-9)


def test_classifier_score_matches_numpy_kl():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(200, 10)) * 3
    p = scipy.special.softmax(logits, axis=1)
    kl = np.sum(p * (scipy.special.log_softmax(logits, axis=1) - np.log(p.mean(0))), axis=1)
    assert tfgan_math.classifier_score(logits) == pytest.approx(np.exp(kl.mean()), rel=1e-9)


def test_classifier_score_extremes():
    assert tfgan_math.classifier_score(np.zeros((50, 10))) == pytest.approx(1.0, abs=1e-12)
    confident = np.tile(np.eye(10) * 60.0, (5, 1))  # each class predicted with certainty, uniformly
    assert tfgan_math.classifier_score(confident) == pytest.approx(10.0, rel=1e-6)


def test_loading_leaves_the_real_package_import_unchanged():
    tfgan_math.classifier_metrics()
    assert "tensorflow_gan" not in sys.modules
    with pytest.raises(AttributeError, match="estimator"):
        import tensorflow_gan  # noqa: F401


def test_bad_shape_is_a_gran_error():
    from gran_tf.errors import GranError
    with pytest.raises(GranError, match="acts_a"):
        tfgan_math.frechet_distance(np.zeros(5), np.zeros((5, 2)))


@pytest.mark.parametrize("n", [400, 40], ids=["full-rank", "rank-deficient"])
def test_frechet_distance_equals_tfgans_svd_implementation(n):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(n, 64)), rng.normal(0.2, 1.3, size=(n, 64))
    theirs = tfgan_math.classifier_metrics().frechet_classifier_distance_from_activations(
        tf.constant(a), tf.constant(b)).numpy()
    # Two float64 routes to Tr((Σa Σb)^½); a rank-deficient product's zero eigenvalues come out
    # as ±1e-13 round-off, whose square roots both routes treat differently: 1e-7 there.
    assert tfgan_math.frechet_distance(a, b) == pytest.approx(float(theirs), rel=1e-10 if n > 64 else 1e-6)
