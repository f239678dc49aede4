"""The MNIST digit classifier: input convention, heads, save/load; the slow test trains it for real."""
import json
import time

import keras
import numpy as np
import pytest

from gran_tf.errors import GranError
from gran_tf.eval import classifier as clf


@pytest.fixture(scope="module")
def untrained():
    keras.utils.set_random_seed(0)
    return clf.DigitClassifier(clf.build_model(), {"test_accuracy": None}, batch_size=7)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(size=(20, 28, 28, 1)).astype(np.float32)


def test_heads_shapes_and_consistency(untrained, images):
    logits = untrained.logits(images)
    assert logits.shape == (20, 10) and untrained.features(images).shape == (20, 128)
    assert (untrained.features(images) >= 0).all()  # ReLU layer
    np.testing.assert_array_equal(untrained.predict_labels(images), np.argmax(logits, axis=1))
    np.testing.assert_allclose(untrained.logits(images[:, :, :, 0]), logits, rtol=1e-6)  # [N, 28, 28]
    whole = np.asarray(untrained.model(images, training=False))  # batching (7 per call) changes nothing
    np.testing.assert_allclose(logits, whole, rtol=1e-5, atol=1e-5)


def test_declared_signed_range_matches_unit_range(untrained, images):
    np.testing.assert_allclose(untrained.logits(2 * images - 1, value_range=(-1, 1)),
                               untrained.logits(images), rtol=1e-5, atol=1e-5)


def test_inputs_are_never_guessed(untrained, images):
    with pytest.raises(GranError, match="value_range"):
        untrained.logits(2 * images - 1)
    with pytest.raises(GranError, match="dtype"):
        untrained.logits((images * 255).astype(np.uint8))
    with pytest.raises(GranError, match="28, 28"):
        untrained.logits(np.zeros((2, 32, 32, 1), np.float32))


def test_fit_save_and_load_round_trip(tmp_path, images):
    labels = np.arange(len(images)) % 10
    model = clf.fit_model(images, labels, epochs=1, batch_size=10, seed=0, verbose=0)
    trained = clf.DigitClassifier(model, {"test_accuracy": 0.5})
    clf.save_classifier(trained, tmp_path)
    loaded = clf.cached_classifier(tmp_path, train_if_missing=False)
    assert loaded.info == {"test_accuracy": 0.5}
    np.testing.assert_allclose(loaded.logits(images), trained.logits(images), rtol=1e-5, atol=1e-5)
    with pytest.raises(GranError, match="no MNIST classifier"):
        clf.cached_classifier(tmp_path / "empty", train_if_missing=False)


@pytest.mark.slow
def test_trained_classifier_reaches_99_percent(tmp_path):
    start = time.time()
    trained = clf.train_classifier(epochs=3, seed=0, output_dir=tmp_path, verbose=0)
    elapsed = time.time() - start
    info = json.loads((tmp_path / clf.INFO_FILE).read_text())
    print(f"test accuracy {info['test_accuracy']:.4f}, training {info['train_seconds']} s, total {elapsed:.0f} s")
    assert info["test_accuracy"] >= 0.99
    assert info["n_train"] == 60000 and info["n_test"] == 10000
    x, y = clf.mnist_unit_images("test")
    assert clf.cached_classifier(tmp_path).accuracy(x, y) == pytest.approx(info["test_accuracy"])
    assert trained.info == info
