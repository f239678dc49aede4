"""MNIST metrics with a fake classifier whose answers are known."""
import json

import numpy as np
import pytest

from gran_tf.errors import GranError
from gran_tf.eval import mnist_metrics
from gran_tf.eval.classifier import to_unit_images


class FakeClassifier:
    """Reads digit d from an image whose pixels all equal (d + 0.5) / 10; features: 4 pixels."""

    def predict_labels(self, images, value_range=(0.0, 1.0)):
        x = to_unit_images(images, value_range)
        return np.clip(np.floor(x.mean(axis=(1, 2, 3)) * 10), 0, 9).astype(np.int64)

    def logits(self, images, value_range=(0.0, 1.0)):
        return 50.0 * np.eye(10)[self.predict_labels(images, value_range)]

    def features(self, images, value_range=(0.0, 1.0)):
        return to_unit_images(images, value_range).reshape(len(images), -1)[:, :4]


def digit_images(digits):
    """[N, 28, 28, C] images whose channel c shows digit digits[n][c] to the fake classifier."""
    digits = np.asarray(digits, dtype=np.float32)
    return np.broadcast_to(((digits + 0.5) / 10)[:, None, None, :], (len(digits), 28, 28, digits.shape[1])).copy()


def test_stacked_modes_of_five_triples():
    triples = [(1, 2, 3), (3, 2, 1), (0, 0, 0), (9, 9, 9), (4, 5, 6)] * 4
    report = mnist_metrics.stacked_mnist_modes(digit_images(triples), classifier=FakeClassifier())
    assert report == {"n": 20, "modes": 5, "kl_to_uniform": pytest.approx(np.log(1000 / 5))}
    assert json.dumps(report)
    labels = mnist_metrics.stacked_mnist_labels(digit_images(triples[:2]), classifier=FakeClassifier())
    assert labels.tolist() == [[1, 2, 3], [3, 2, 1]]  # channel order is kept


def test_stacked_modes_all_thousand_uniform_and_signed_range():
    triples = [(a, b, c) for a in range(10) for b in range(10) for c in range(10)]
    images = digit_images(triples)
    report = mnist_metrics.stacked_mnist_modes(images, classifier=FakeClassifier())
    assert report["modes"] == 1000 and report["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)
    signed = mnist_metrics.stacked_mnist_modes(2 * images - 1, FakeClassifier(), value_range=(-1, 1))
    assert signed == report
    with pytest.raises(GranError, match="value_range"):
        mnist_metrics.stacked_mnist_modes(2 * images - 1, FakeClassifier())  # undeclared [-1, 1]


def test_mnist_score_of_one_hot_predictions():
    uniform = digit_images([[d] for d in range(10)] * 3)
    assert mnist_metrics.mnist_score(uniform, FakeClassifier()) == pytest.approx(10.0, rel=1e-6)
    one_class = digit_images([[7]] * 30)
    assert mnist_metrics.mnist_score(one_class, FakeClassifier()) == pytest.approx(1.0, rel=1e-6)
    two_classes = digit_images([[1], [2]] * 5)
    assert mnist_metrics.mnist_score(two_classes, FakeClassifier()) == pytest.approx(2.0, rel=1e-6)


def test_frechet_distance_on_classifier_features():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.0, 0.8, size=(200, 28, 28, 1)).astype(np.float32)
    shifted = images + np.float32(0.1)  # every feature moves by 0.1, covariance unchanged
    fd = mnist_metrics.mnist_frechet_distance(shifted, images, classifier=FakeClassifier())
    assert fd == pytest.approx(4 * 0.1 ** 2, rel=1e-4)
    assert mnist_metrics.mnist_frechet_distance(images, images, FakeClassifier()) == pytest.approx(0, abs=1e-6)


def coloured_digits(colours, rng, noise=0.02):
    """A 10x12 block 'digit' of intensity 0.6-1 in each colour on a black background, plus noise."""
    n = len(colours)
    mask = np.zeros((n, 28, 28, 1))
    mask[:, 8:18, 9:21] = rng.uniform(0.6, 1.0, size=(n, 10, 12, 1))
    images = mask * np.asarray(colours)[:, None, None, :] + rng.normal(0, noise, (n, 28, 28, 3))
    return np.clip(images, 0.0, 1.0).astype(np.float32)


def test_foreground_colour_is_recovered():
    rng = np.random.default_rng(1)
    colours = np.array([[0.9, 0.1, 0.1], [0.2, 0.8, 0.5], [0.3, 0.3, 0.9], [0.6, 0.6, 0.2]])
    found = mnist_metrics.foreground_colours(coloured_digits(colours, rng))
    assert found.shape == (4, 3)
    # the cluster mean is the colour times the mean digit intensity (0.8)
    np.testing.assert_allclose(found, 0.8 * colours, atol=0.03)
    signed = mnist_metrics.foreground_colours(2 * coloured_digits(colours, rng) - 1, value_range=(-1, 1))
    np.testing.assert_allclose(signed, 0.8 * colours, atol=0.03)


def test_kde_js_divergence_cases():
    rng = np.random.default_rng(2)
    a = rng.normal(0.5, 0.1, size=(300, 3))
    b = rng.normal(0.5, 0.1, size=(300, 3))
    far = rng.normal(1.5, 0.1, size=(300, 3))
    collapsed = np.full((300, 3), 0.5)
    same = mnist_metrics.kde_js_divergence(a, b, num_mc=2000)
    apart = mnist_metrics.kde_js_divergence(a, far, num_mc=2000)
    squashed = mnist_metrics.kde_js_divergence(collapsed, a, num_mc=2000)
    assert 0.0 <= same < 0.05
    assert apart == pytest.approx(np.log(2), abs=0.01)
    assert same < squashed < np.log(2)  # a collapsed generator is finite, well away from 0
    assert squashed > 0.3
    assert mnist_metrics.kde_js_divergence(a, far, num_mc=2000) == apart  # seeded


def test_colored_mnist_js_end_to_end():
    rng = np.random.default_rng(3)
    real = coloured_digits(np.clip(rng.normal(0.6, 0.15, (150, 3)), 0, 1), rng)
    good = coloured_digits(np.clip(rng.normal(0.6, 0.15, (150, 3)), 0, 1), rng)
    collapsed = coloured_digits(np.tile([[0.9, 0.3, 0.3]], (150, 1)), rng)
    good_report = mnist_metrics.colored_mnist_js(good, real, num_mc=1000)
    bad_report = mnist_metrics.colored_mnist_js(collapsed, real, num_mc=1000)
    assert good_report["js"] < 0.1 < bad_report["js"]
    assert good_report["n_generated"] == 150 and len(good_report["mean_colour_real"]) == 3
    assert json.dumps(bad_report)
    with pytest.raises(GranError):
        mnist_metrics.colored_mnist_js(real[..., :1], real)
