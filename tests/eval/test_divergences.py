"""The one JS divergence and KL-to-uniform of the metrics, in nats and bits."""
import numpy as np
import pytest

from gran_tf.errors import GranError
from gran_tf.eval.divergences import js_divergence, kl_to_uniform


def test_kl_to_uniform_conventions():
    assert kl_to_uniform([5, 5, 5, 5], "nats") == pytest.approx(0.0)
    assert kl_to_uniform([7, 0, 0, 0], "nats") == pytest.approx(np.log(4))  # empty modes add 0, not inf
    assert kl_to_uniform([7, 0, 0, 0], "bits") == pytest.approx(2.0)
    assert kl_to_uniform([0, 0, 0], "nats") is None


def test_js_divergence_bounds_in_nats():
    assert js_divergence([1, 2, 3], [2, 4, 6], "nats") == pytest.approx(0.0, abs=1e-12)
    assert js_divergence([1, 0], [0, 3], "nats") == pytest.approx(np.log(2))
    # P = (1, 0), Q = (½, ½): ½ log(4/3) + ½ (½ log(2/3) + ½ log 2).
    expected = 0.5 * np.log(4 / 3) + 0.25 * (np.log(2 / 3) + np.log(2))
    assert js_divergence([4, 0], [1, 1], "nats") == pytest.approx(expected)
    with pytest.raises(GranError):
        js_divergence([0, 0], [1, 1], "nats")
    with pytest.raises(GranError):
        js_divergence([1, 1], [1, 1, 1], "nats")


def test_js_divergence_bounds_in_bits():
    assert js_divergence([1, 0], [0, 1], "bits") == pytest.approx(1.0)
    p, m = np.array([0.5, 0.5]), np.array([0.75, 0.25])  # q = (1, 0)
    expected = 0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.log2(1 / 0.75)
    assert js_divergence([1, 1], [1, 0], "bits") == pytest.approx(expected)
    with pytest.raises(GranError, match="unit"):
        js_divergence([1, 1], [1, 0], "dits")
