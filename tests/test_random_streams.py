"""random_streams.standard_normal: the latents' N(0, 1), a Box–Muller transform of Philox uniforms."""
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from gran_tf.random_streams import standard_normal

N = 200_000


def test_the_draws_are_standard_normal():
    z = standard_normal([N], [3, 4]).numpy()
    assert z.dtype == np.float32 and np.isfinite(z).all()
    se = 1 / np.sqrt(N)
    assert abs(z.mean()) < 4 * se and abs(z.var() - 1) < 4 * np.sqrt(2) * se
    # Kolmogorov–Smirnov distance to N(0, 1): 1.95 / sqrt(N) is the 0.1 % critical value
    assert scipy.stats.kstest(z, "norm").statistic < 1.95 * se
    # the tails as often as a normal's: |z| > 3 has probability 0.0027
    assert abs((np.abs(z) > 3).mean() - 0.0027) < 4 * np.sqrt(0.0027 / N)


def test_the_two_members_of_each_pair_are_uncorrelated():
    z = standard_normal([N], [5, 6]).numpy()
    cos_half, sin_half = z[:N // 2], z[N // 2:]  # z1 = r cos θ and z2 = r sin θ of one (u1, u2)
    assert abs(np.corrcoef(cos_half, sin_half)[0, 1]) < 4 / np.sqrt(N // 2)
    # uncorrelated but not independent would show in the squares (r² shared)
    assert abs(np.corrcoef(cos_half ** 2, sin_half ** 2)[0, 1]) < 4 / np.sqrt(N // 2)


@pytest.mark.parametrize("shape", [[1], [3, 5, 7], [4, 1, 1, 2]])
def test_any_shape_and_dtype(shape):
    z = standard_normal(shape, [0, 1], dtype=tf.float16)
    assert z.shape == tuple(shape) and z.dtype == tf.float16


def test_a_key_gives_its_numbers_and_only_its_numbers():
    a, again, other = (standard_normal([64, 8], key).numpy() for key in ([7, 1], [7, 1], [7, 2]))
    np.testing.assert_array_equal(a, again)
    assert not np.isclose(a, other).any()

