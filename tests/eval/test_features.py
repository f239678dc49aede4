"""Feature extraction, reference-statistics cache and score dicts, with tiny fake networks."""
import keras
import numpy as np
import pytest

from gran_tf.errors import GranError
from gran_tf.eval import features, tfgan_math


def _fake_feature_network(dim=12, name="fake_features"):
    """compare_gan-style stand-in for Inception: any-size images → fixed random projection."""
    images = keras.Input(shape=(None, None, None))
    x = keras.layers.Lambda(lambda t: keras.ops.mean(t, axis=-1, keepdims=True))(images)
    x = keras.layers.Resizing(6, 6)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(dim, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=0),
                             bias_initializer="zeros")(x / 255.0)
    return keras.Model(images, out, name=name)


def _fake_classifier(classes=5):
    images = keras.Input(shape=(8, 8, 1))
    x = keras.layers.Flatten()(images)
    out = keras.layers.Dense(classes, kernel_initializer=keras.initializers.RandomNormal(seed=1))(x / 64.0)
    return keras.Model(images, out, name="fake_classifier")


def _images(seed, n, size=8, channels=None, offset=0.0):
    rng = np.random.default_rng(seed)
    shape = (n, size, size) + ((channels,) if channels else ())
    return np.clip(rng.uniform(0, 200, size=shape) + offset, 0, 255).astype(np.float32)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAN_TF_CACHE", str(tmp_path))
    return tmp_path


def test_extract_features_in_batches_equals_one_call():
    model = _fake_feature_network()
    images = _images(0, 23, channels=3)
    batched = features.extract_features(model, images, batch_size=5, progress=False)
    assert batched.shape == (23, 12) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, np.asarray(model(images)), rtol=1e-5, atol=1e-6)


def test_extract_features_accepts_grey_without_channel_axis():
    model = _fake_feature_network()
    grey = _images(1, 6)
    np.testing.assert_allclose(features.extract_features(model, grey, progress=False),
                               features.extract_features(model, grey[..., None], progress=False))
    with pytest.raises(GranError, match="shape"):
        features.extract_features(model, np.zeros((2, 8, 8, 2)))


def test_reference_statistics_are_cached_by_dataset_split_resolution_n(tmp_cache):
    model = _fake_feature_network()
    calls = []

    def images_fn(n):
        calls.append(n)
        return _images(2, n)

    first = features.reference_statistics("toy", "test", 20, images_fn, 8, model=model, progress=False)
    again = features.reference_statistics("toy", "test", 20, images_fn, 8, model=model, progress=False)
    assert calls == [20]
    np.testing.assert_array_equal(first.acts, again.acts)
    assert (again.n, again.split, again.resolution, again.feature_network) == (20, "test", (8, 8), "fake_features")
    features.reference_statistics("toy", "test", 30, images_fn, 8, model=model, progress=False)
    features.reference_statistics("toy", "train", 20, images_fn, 8, model=model, progress=False)
    assert calls == [20, 30, 20]
    assert len(list((tmp_cache / "reference_stats").glob("*.npz"))) == 3


def test_reference_statistics_reject_images_of_the_wrong_resolution(tmp_cache):
    with pytest.raises(GranError, match="expected 4 images of 16x16"):
        features.reference_statistics("toy", "test", 4, lambda n: _images(3, n), 16,
                                      model=_fake_feature_network(), progress=False)


def test_score_images_matches_tfgan_math_and_records_provenance():
    model = _fake_feature_network()
    real, fake = _images(4, 40), _images(5, 30, offset=100.0)
    scores = features.score_images(fake, real, metrics=("fid", "kid"), model=model, split="test",
                                   kid_block_size=10, progress=False)
    real_acts = features.extract_features(model, real, progress=False)
    fake_acts = features.extract_features(model, fake, progress=False)
    assert scores["fid"] == pytest.approx(tfgan_math.frechet_distance(real_acts, fake_acts), rel=1e-9)
    kid, kid_std = tfgan_math.kernel_distance(real_acts, fake_acts, max_block_size=10)
    assert (scores["kid"], scores["kid_std"]) == pytest.approx((kid, kid_std), rel=1e-9)
    same = features.extract_features(model, _images(11, 30), progress=False)
    assert scores["fid"] > 5 * tfgan_math.frechet_distance(real_acts, same)  # shifted set is farther
    assert {k: scores[k] for k in ("n_real", "n_fake", "split", "feature_network")} == {
        "n_real": 40, "n_fake": 30, "split": "test", "feature_network": "fake_features"}


def test_score_against_cached_reference_equals_score_against_images(tmp_cache):
    model = _fake_feature_network()
    real, fake = _images(6, 25), _images(7, 25, offset=20.0)
    ref = features.reference_statistics("toy", "valid", 25, lambda n: real, 8, model=model, progress=False)
    with_ref = features.score_images(fake, ref, metrics=("fid",), model=model, progress=False)
    with_images = features.score_images(fake, real, metrics=("fid",), model=model, split="valid", progress=False)
    assert with_ref == pytest.approx(with_images)
    assert features.score_images(real, ref, metrics=("fid",), model=model)["fid"] == pytest.approx(0, abs=1e-6)
    with pytest.raises(GranError, match="come from"):
        features.score_images(fake, ref, metrics=("fid",), model=_fake_feature_network(name="other"))


def test_inception_score_needs_a_classifier_and_says_so():
    with pytest.raises(GranError, match="classifier="):
        features.score_images(_images(8, 4), _images(9, 4))
    with pytest.raises(GranError, match="Unknown metrics"):
        features.score_images(_images(8, 4), _images(9, 4), metrics=("fid", "precision"))
    with pytest.raises(GranError, match="No classifier"):
        features.score_images(_images(8, 4), metrics=("is",), classifier="/nonexistent/model.keras")


def test_inception_score_from_saved_keras_and_savedmodel_classifiers(tmp_path):
    classifier = _fake_classifier()
    fake = _images(10, 40)
    logits = classifier.predict_on_batch(fake[..., None])
    expected = [tfgan_math.classifier_score(part) for part in np.split(logits, 4)]
    classifier.save(tmp_path / "clf.keras")
    classifier.export(str(tmp_path / "clf_savedmodel"), verbose=False)
    for path in (tmp_path / "clf.keras", tmp_path / "clf_savedmodel"):
        scores = features.score_images(fake, metrics=("is",), classifier=str(path), is_splits=4, progress=False)
        assert scores["is"] == pytest.approx(np.mean(expected), rel=1e-5)
        assert scores["is_std"] == pytest.approx(np.std(expected), rel=1e-4)
        assert (scores["n_real"], scores["n_fake"], scores["is_splits"]) == (0, 40, 4)
    assert 1.0 <= scores["is"] <= 5.0
