"""Spectral normalisation of the DCGAN discriminator (SNGAN, Miyato et al. 2018)."""
import keras
import numpy as np
import pytest

from gran_tf.models import DCGANDiscriminator

SMALL = dict(image_shape=(8, 8, 3), kernels=(4, 6), filter_size=3, hidden=5, use_bn=False)


def discriminator(seed=0, **kw):
    keras.utils.set_random_seed(seed)
    return DCGANDiscriminator(**{**SMALL, **kw})


def images(n=4, seed=0):
    return np.random.RandomState(seed).randn(n, 8, 8, 3).astype("float32")


def sn_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.SpectralNormalization)]


def top_singular_value(kernel):
    """σ(W) of a kernel reshaped to [-1, out], the matrix spectral normalisation divides by."""
    kernel = np.asarray(kernel)
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def test_every_conv_and_dense_layer_is_wrapped():
    d = discriminator(spectral_norm=True)
    wrapped = sorted(layer.layer.name for layer in sn_layers(d))
    assert wrapped == ["conv0", "conv1", "fc", "logit"]
    assert all(not layer.vector_u.trainable for layer in sn_layers(d))
    assert sn_layers(discriminator()) == []


def test_training_calls_drive_each_kernels_top_singular_value_to_one():
    d = discriminator(spectral_norm=True)
    for layer in sn_layers(d):
        layer.kernel.assign(5.0 * layer.kernel)  # start far from the unit sphere
    assert all(abs(top_singular_value(layer.kernel) - 1.0) > 0.5 for layer in sn_layers(d))
    x = images()
    for _ in range(50):
        d(x, training=True)
    for layer in sn_layers(d):
        assert abs(top_singular_value(layer.kernel) - 1.0) < 0.05, layer.name


def test_inference_calls_leave_kernels_and_u_untouched():
    d = discriminator(spectral_norm=True)
    before = [w.numpy() for w in d.weights]
    d(images(), training=False)
    for a, w in zip(before, d.weights):
        np.testing.assert_array_equal(a, w.numpy())
    d(images(), training=True)
    u_moved = [not np.array_equal(a, w.numpy()) for a, w in zip(before, d.weights) if "vector_u" in w.path]
    assert len(u_moved) == 4 and all(u_moved)


def test_spectral_norm_off_is_the_plain_discriminator():
    plain, off = discriminator(), discriminator(spectral_norm=False)
    assert [w.path for w in plain.weights] == [w.path for w in off.weights]
    for a, b in zip(plain.weights, off.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = images()
    for training in (False, True):
        np.testing.assert_array_equal(plain(x, training=training), off(x, training=training))
    assert off.get_config()["spectral_norm"] is False


def test_with_the_same_seed_sn_only_differs_once_it_normalises():
    plain, sn = discriminator(), discriminator(spectral_norm=True)
    x = images()
    np.testing.assert_allclose(plain(x), sn(x), rtol=1e-6, atol=1e-7)  # identical kernels at init
    assert not np.allclose(plain(x, training=True), sn(x, training=True), atol=1e-4)


@pytest.mark.parametrize("use_bn", [False, True])
def test_keras_file_round_trip_keeps_u_and_the_normalised_kernels(tmp_path, use_bn):
    d = discriminator(spectral_norm=True, use_bn=use_bn)
    x = images()
    for _ in range(3):
        d(x, training=True)
    path = str(tmp_path / "d.keras")
    d.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_config() == d.get_config() and len(sn_layers(loaded)) == 4
    assert [w.path for w in loaded.weights] == [w.path for w in d.weights]
    for a, b in zip(d.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(d(x), loaded(x), rtol=1e-6)
    # The restored u continues the power iteration exactly where the saved one stopped.
    np.testing.assert_allclose(d(x, training=True), loaded(x, training=True), rtol=1e-6)
