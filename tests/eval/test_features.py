"""Feature extraction, scores on features (FID, KID, IS, prdc) and their provenance, with tiny fake networks."""
import keras
import numpy as np
import pytest

from gran_tf.errors import GranError
from gran_tf.eval import features, tfgan_math
from gran_tf.eval.reference import FeatureStatistics, to_uint8


def _fake_classifier(classes=5):
    images = keras.Input(shape=(8, 8, 1))
    x = keras.layers.Flatten()(images)
    out = keras.layers.Dense(classes, kernel_initializer=keras.initializers.RandomNormal(seed=1))(x / 64.0)
    return keras.Model(images, out, name="fake_classifier")


def _images(seed, n, size=8, channels=None, offset=0.0):
    rng = np.random.default_rng(seed)
    shape = (n, size, size) + ((channels,) if channels else ())
    return np.clip(rng.uniform(0, 200, size=shape) + offset, 0, 255).astype(np.float32)


def test_extract_features_in_batches_equals_one_call(fake_feature_network):
    model = fake_feature_network()
    images = _images(0, 23, channels=3)
    batched = features.extract_features(model, images, batch_size=5, progress=False)
    assert batched.shape == (23, 12) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, np.asarray(model(images)), rtol=1e-5, atol=1e-6)


def test_extract_features_accepts_grey_without_channel_axis(fake_feature_network):
    model = fake_feature_network()
    grey = _images(1, 6)
    np.testing.assert_allclose(features.extract_features(model, grey, progress=False),
                               features.extract_features(model, grey[..., None], progress=False))
    with pytest.raises(GranError, match="shape"):
        features.extract_features(model, np.zeros((2, 8, 8, 2)))


def test_score_images_matches_tfgan_math_and_records_provenance(fake_feature_network):
    model = fake_feature_network()
    real, fake = _images(4, 40), _images(5, 30, offset=100.0)
    scores = features.score_images(fake, real, metrics=("fid", "kid"), model=model, split="test", quantize=False,
                                   kid_block_size=10, progress=False)
    real_acts = features.extract_features(model, real, progress=False)
    fake_acts = features.extract_features(model, fake, progress=False)
    # FID from mu/sigma (float64) vs TF-GAN's from activations: the same math, other round-off.
    assert scores["fid"] == pytest.approx(tfgan_math.frechet_distance(real_acts, fake_acts), rel=1e-7)
    kid, kid_std = tfgan_math.kernel_distance(real_acts, fake_acts, max_block_size=10)
    assert (scores["kid"], scores["kid_std"]) == pytest.approx((kid, kid_std), rel=1e-9)
    same = features.extract_features(model, _images(11, 30), progress=False)
    assert scores["fid"] > 5 * tfgan_math.frechet_distance(real_acts, same)  # shifted set is farther
    assert {k: scores[k] for k in ("n_real", "n_fake", "split", "feature_network")} == {
        "n_real": 40, "n_fake": 30, "split": "test", "feature_network": "fake_features"}


def test_quantize_rounds_both_sets_to_uint8_before_the_network(fake_feature_network):
    model = fake_feature_network()
    real, fake = _images(4, 40) + 0.4, _images(5, 30, offset=50.0) + 0.3  # fractional grey levels
    quantized = features.score_images(fake, real, metrics=("fid",), model=model, progress=False)
    by_hand = features.score_images(to_uint8(fake), to_uint8(real), metrics=("fid",), model=model,
                                    quantize=False, progress=False)
    assert quantized["fid"] == by_hand["fid"]  # the same kernels on the same uint8 inputs
    unrounded = features.score_images(fake, real, metrics=("fid",), model=model, quantize=False, progress=False)
    assert unrounded["fid"] != pytest.approx(quantized["fid"], rel=1e-6)


def test_score_against_statistics_equals_score_against_their_images(tmp_path, fake_feature_network):
    model = fake_feature_network()
    real, fake = _images(6, 25), _images(7, 25, offset=20.0)
    stats = features.feature_statistics(real, model, progress=False, split="valid").save(tmp_path / "ref.npz")
    with_ref = features.score_images(fake, stats, metrics=("fid", "kid", "prdc"), model=model, progress=False)
    with_images = features.score_images(fake, real, metrics=("fid", "kid", "prdc"), model=model, split="valid",
                                        progress=False)
    numbers = ("fid", "kid", "precision", "recall", "density", "coverage", "n_real", "n_fake")
    assert {k: with_ref[k] for k in numbers} == pytest.approx({k: with_images[k] for k in numbers}, rel=1e-9)
    assert with_ref["split"] == with_images["split"] == "valid"
    assert features.score_images(real, stats, metrics=("fid",), model=model)["fid"] == pytest.approx(0, abs=1e-6)
    with pytest.raises(GranError, match="come from fake_features"):
        features.score_images(fake, stats, metrics=("fid",), model=fake_feature_network(name="other"))


def test_a_ttur_file_without_features_gives_fid_and_refuses_kid(tmp_path, fake_feature_network):
    model = fake_feature_network()
    real, fake = _images(6, 25), _images(7, 25, offset=20.0)
    acts = features.extract_features(model, to_uint8(real), progress=False).astype(np.float64)
    np.savez(tmp_path / "ttur.npz", mu=acts.mean(0), sigma=np.cov(acts, rowvar=False))  # TTUR's fid.py layout
    ttur = FeatureStatistics.load(tmp_path / "ttur.npz")
    assert ttur.info == {} and ttur.n is None
    fid = features.score_images(fake, ttur, metrics=("fid",), model=model, progress=False)["fid"]
    assert fid == pytest.approx(features.score_images(fake, real, metrics=("fid",), model=model)["fid"], rel=1e-9)
    with pytest.raises(GranError, match="hold only mu and sigma"):
        features.score_images(fake, ttur, metrics=("kid",), model=model)


def test_prdc_of_a_set_against_itself_and_against_a_far_set(fake_feature_network):
    model = fake_feature_network()
    real = _images(4, 40)
    same = features.score_images(real, real, metrics=("prdc",), model=model, progress=False)
    assert (same["precision"], same["recall"], same["coverage"]) == (1.0, 1.0, 1.0)
    far = features.score_images(real * 0.0, real, metrics=("prdc",), model=model, progress=False)
    assert far["precision"] == 0.0 and far["coverage"] == 0.0


def test_inception_score_needs_a_classifier_and_says_so():
    with pytest.raises(GranError, match="classifier="):
        features.score_images(_images(8, 4), _images(9, 4), metrics=("fid", "is"))
    with pytest.raises(GranError, match="Unknown metrics"):
        features.score_images(_images(8, 4), _images(9, 4), metrics=("fid", "precision"))
    with pytest.raises(GranError, match="No classifier"):
        features.score_images(_images(8, 4), metrics=("is",), classifier="/nonexistent/model.keras")


def test_inception_score_from_saved_keras_and_savedmodel_classifiers(tmp_path):
    classifier = _fake_classifier()
    fake = _images(10, 40)
    logits = classifier.predict_on_batch(to_uint8(fake)[..., None].astype(np.float32))  # quantised, as scored
    expected = [tfgan_math.classifier_score(part) for part in np.split(logits, 4)]
    classifier.save(tmp_path / "clf.keras")
    classifier.export(str(tmp_path / "clf_savedmodel"), verbose=False)
    for path in (tmp_path / "clf.keras", tmp_path / "clf_savedmodel"):
        scores = features.score_images(fake, metrics=("is",), classifier=str(path), is_splits=4, progress=False)
        assert scores["is"] == pytest.approx(np.mean(expected), rel=1e-5)
        assert scores["is_std"] == pytest.approx(np.std(expected), rel=1e-4)
        assert (scores["n_real"], scores["n_fake"], scores["is_splits"]) == (0, 40, 4)
    assert 1.0 <= scores["is"] <= 5.0
