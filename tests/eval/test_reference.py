"""FID protocols, reference-statistics files (gran_tf's and TTUR's) and their cache."""
import hashlib
import json

import numpy as np
import pytest

from gran_tf.errors import ConfigError
from gran_tf.eval import reference, tfgan_math
from gran_tf.eval.reference import FeatureStatistics


def _stats(seed=0, n=30, dim=6, **info):
    return FeatureStatistics.from_features(np.random.default_rng(seed).normal(size=(n, dim)), **info)


def test_protocols_and_explicit_settings_over_them():
    assert reference.protocol("ttur") == reference.FidProtocol("ttur", 50_000, None, "train", True)
    assert reference.protocol("studiogan", quantize=False).as_dict() == {
        "name": "studiogan", "n_fake": 10_000, "n_real": None, "split": "test", "quantize": False}
    assert reference.protocol(n_fake=500) == reference.FidProtocol("custom", 500, 500, "test", True)
    assert reference.protocol(n_fake=500, n_real=200, split="train").n_real == 200
    with pytest.raises(ConfigError, match="unknown FID protocol 'clean'"):
        reference.protocol("clean")


def test_to_uint8_rounds_to_nearest_and_clips():
    np.testing.assert_array_equal(reference.to_uint8([-3.0, 0.49, 0.5001, 254.6, 300.0]), [0, 0, 1, 255, 255])
    np.testing.assert_array_equal(reference.to_pixels(np.array([-1.0, 0.0, 1.0]), (-1, 1)), [0.0, 127.5, 255.0])


def test_statistics_are_mean_and_unbiased_covariance_and_give_tfgan_fid():
    a, b = _stats(0), _stats(1, n=40)
    np.testing.assert_allclose(a.mu, a.features.astype(np.float64).mean(0))
    np.testing.assert_allclose(a.sigma, np.cov(a.features.astype(np.float64), rowvar=False))
    assert a.n == 30 and a.info == {"n": 30}
    fid = tfgan_math.frechet_distance_from_moments(a.mu, a.sigma, b.mu, b.sigma)
    assert fid == pytest.approx(tfgan_math.frechet_distance(a.features, b.features), rel=1e-9)


def test_save_and_load_round_trip_with_the_file_sha256(tmp_path):
    stats = _stats(split="train", network={"name": "net", "sha256": "ab"})
    saved = stats.save(tmp_path / "ref.npz")
    assert saved.sha256 == hashlib.sha256((tmp_path / "ref.npz").read_bytes()).hexdigest()
    loaded = FeatureStatistics.load(tmp_path / "ref.npz")
    np.testing.assert_array_equal(loaded.mu, stats.mu)
    np.testing.assert_array_equal(loaded.sigma, stats.sigma)
    np.testing.assert_array_equal(loaded.features, stats.features)
    assert (loaded.info, loaded.sha256, loaded.network_sha256) == (stats.info, saved.sha256, "ab")
    assert loaded.provenance() == {"path": str(tmp_path / "ref.npz"), "sha256": saved.sha256, "n": 30,
                                   "split": "train", "network": {"name": "net", "sha256": "ab"}}
    with np.load(tmp_path / "ref.npz") as npz:  # what TTUR's and pytorch-fid's loaders read
        np.testing.assert_array_equal(npz["mu"], stats.mu)
    mu_sigma_only = stats.without_features().save(tmp_path / "small.npz")
    assert FeatureStatistics.load(mu_sigma_only.path).features is None


def test_files_written_by_pytorch_fid_load(tmp_path):
    stats = _stats()
    np.savez_compressed(tmp_path / "pt.npz", mu=stats.mu.astype(np.float32), sigma=stats.sigma.astype(np.float32))
    loaded = FeatureStatistics.load(tmp_path / "pt.npz")
    assert loaded.info == {} and loaded.features is None and loaded.mu.dtype == np.float64
    np.testing.assert_allclose(loaded.sigma, stats.sigma, rtol=1e-6)


@pytest.mark.parametrize("write, message", [
    (None, "does not exist"),
    (lambda p: p.write_text("not an npz"), "not a readable .npz"),
    (lambda p: np.savez(p, mu=np.zeros(3)), "has no sigma"),
    (lambda p: np.savez(p, mu=np.zeros(3), sigma=np.zeros((2, 2))), "are not \\[D\\] and \\[D, D\\]"),
    (lambda p: np.savez(p, mu=np.full(2, np.nan), sigma=np.eye(2)), "NaN"),
    (lambda p: np.savez(p, mu=np.zeros(2), sigma=np.eye(2), gran_tf=np.array(json.dumps({"format": "x"}))),
     "older gran_tf format"),
])
def test_bad_files_are_one_config_error_line(tmp_path, write, message):
    path = tmp_path / "ref.npz"
    if write:
        write(path)
    with pytest.raises(ConfigError, match=message) as err:
        FeatureStatistics.load(path)
    assert "\n" not in str(err.value)


def test_cache_computes_once_per_key(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAN_TF_CACHE", str(tmp_path))
    calls = []

    def compute(seed):
        calls.append(seed)
        return _stats(seed)

    first = reference.cached({"data": "a", "n": 30}, lambda: compute(0))
    again = reference.cached({"n": 30, "data": "a"}, lambda: compute(1))  # same key, other order
    other = reference.cached({"data": "b", "n": 30}, lambda: compute(2))
    assert calls == [0, 2]
    np.testing.assert_array_equal(first.features, again.features)
    assert first.sha256 == again.sha256 != other.sha256
