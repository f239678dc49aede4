"""Sample files read back for gran-evaluate --samples and gran-battle --samples_npz: one loader."""
import numpy as np
import pytest

from gran_tf.errors import ConfigError, GranError
from gran_tf.eval.sample_files import load_samples


def test_npz_files_give_the_named_the_only_or_the_samples_array(tmp_path):
    x = np.random.default_rng(0).uniform(size=(6, 28, 28)).astype(np.float32)
    np.savez(tmp_path / "one.npz", anything=x)
    np.testing.assert_array_equal(load_samples(tmp_path / "one.npz", image_shape=(28, 28)), x)
    np.savez(tmp_path / "two.npz", samples=x, labels=np.arange(6))
    assert load_samples(tmp_path / "two.npz").shape == (6, 28, 28)
    np.savez(tmp_path / "ambiguous.npz", a=x, b=x)
    with pytest.raises(GranError, match="no array 'samples' .*a, b.*key="):
        load_samples(tmp_path / "ambiguous.npz")
    np.testing.assert_array_equal(load_samples(tmp_path / "ambiguous.npz", key="b"), x)


def test_npy_files_and_the_dtype(tmp_path):
    points = np.random.default_rng(1).normal(size=(50, 2))
    np.save(tmp_path / "points.npy", points)
    loaded = load_samples(str(tmp_path / "points.npy"))
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, points)  # as stored, unless a dtype is asked for
    assert load_samples(tmp_path / "points.npy", dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("write,kwargs,needle", [
    (lambda p: np.savez(p, samples=np.zeros((6, 28, 28))), {"image_shape": (28, 28, 1)}, "shape"),
    (lambda p: np.savez(p, samples=-np.ones((6, 4))), {"value_range": (0.0, 1.0)}, "range"),
    (lambda p: np.savez(p, samples=np.full((6, 4), np.nan)), {}, "NaN or inf"),
    (lambda p: np.savez(p, samples=np.zeros((0, 4))), {}, "non-empty"),
    (lambda p: np.savez(p, samples=np.zeros(4)), {}, "non-empty"),
    (lambda p: np.savez(p, samples=np.array([["a", "b"]])), {}, "not numbers"),
    (lambda p: p.write_bytes(b"not a zip"), {}, "not a readable"),
    (lambda p: None, {}, "no samples file"),
])
def test_bad_files_are_one_config_error_naming_the_flag(tmp_path, write, kwargs, needle):
    path = tmp_path / "bad.npz"
    write(path)
    with pytest.raises(ConfigError, match=needle) as err:
        load_samples(path, **kwargs)
    assert "--samples" not in str(err.value)
    with pytest.raises(ConfigError, match=needle) as err:
        load_samples(path, flag="--samples", **kwargs)
    assert str(err.value).startswith("--samples: ") and "key=" not in str(err.value)
