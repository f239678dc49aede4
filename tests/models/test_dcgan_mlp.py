import numpy as np
import pytest
import tensorflow as tf

from gran_tf.errors import ConfigError
from gran_tf.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator


@pytest.mark.parametrize("act,lo,hi", [("sigmoid", 0.0, 1.0), ("tanh", -1.0, 1.0)])
def test_dcgan_generator_shape_and_range(act, lo, hi):
    g = DCGANGenerator(image_shape=(16, 16, 3), kernels=(8, 4, 3), z_dim=7, filter_size=3, out_activation=act)
    x = g(tf.random.stateless_normal([3, 7], [0, 1]) * 10.0)
    assert x.shape == (3, 16, 16, 3)
    assert lo <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= hi


def test_dcgan_discriminator_gives_one_logit_per_example_and_uses_strided_convs():
    d = DCGANDiscriminator(image_shape=(16, 16, 3), kernels=(4, 8), filter_size=3, hidden=5)
    assert d(tf.zeros([6, 16, 16, 3])).shape == (6,)
    assert [c.strides for c in d.convs] == [(2, 2), (2, 2)]
    assert d.bns[0] is None and d.bns[1] is not None  # no BN on the input layer (DCGAN)


def test_mlp_models_map_between_latent_logit_and_data_space():
    g = MLPGenerator(image_shape=(3,), z_dim=4, hidden=(8, 8))
    d = MLPDiscriminator(image_shape=(3,), hidden=(8,), input_scale=0.25)
    x = g(tf.ones([5, 4]))
    assert x.shape == (5, 3) and d(x).shape == (5,)
    # input_scale multiplies the input before the first layer
    d_unscaled = MLPDiscriminator(image_shape=(3,), hidden=(8,), input_scale=1.0)
    d_unscaled.set_weights(d.get_weights())
    np.testing.assert_allclose(d(x), d_unscaled(0.25 * x), atol=1e-6)


def test_brc_rf_head_sees_the_batch_mean_and_variance_of_the_features():
    d = MLPDiscriminator(image_shape=(2,), hidden=(4,), feature_stats=True)
    x = tf.random.stateless_normal([6, 2], [1, 2])
    h = d.features(x).numpy()
    stats = np.concatenate([h, np.broadcast_to(h.mean(0), h.shape), np.broadcast_to(h.var(0), h.shape)], 1)
    w, b = d.head.get_weights()
    np.testing.assert_allclose(d(x).numpy(), stats @ w[:, 0] + b[0], rtol=1e-5, atol=1e-6)
    # a logit depends on the rest of its batch only through those statistics
    assert abs(float(d(x)[0] - d(x[:3])[0])) > 1e-6
    plain = MLPDiscriminator(image_shape=(2,), hidden=(4,))
    assert plain.head.get_weights()[0].shape == (4, 1) and w.shape == (12, 1)


def test_models_round_trip_through_keras_files(tmp_path):
    import keras

    g = DCGANGenerator(image_shape=(8, 8, 1), kernels=(4, 2, 1), z_dim=3, filter_size=3)
    path = str(tmp_path / "g.keras")
    g.save(path)
    loaded = keras.models.load_model(path)
    z = tf.random.stateless_normal([2, 3], [4, 4])
    np.testing.assert_allclose(g(z), loaded(z), atol=1e-6)
    d = MLPDiscriminator(image_shape=(2,), hidden=(4,), feature_stats=True)
    d.save(str(tmp_path / "d.keras"))
    loaded = keras.models.load_model(str(tmp_path / "d.keras"))
    np.testing.assert_allclose(d(z[:, :2]), loaded(z[:, :2]), atol=1e-6)


def test_unknown_names_are_config_errors():
    with pytest.raises(ConfigError):
        DCGANGenerator(image_shape=(8, 8, 1), kernels=(4, 2, 1), z_dim=3, out_activation="softmax")
    with pytest.raises(ConfigError):
        MLPGenerator(activation="swishy")
    with pytest.raises(ConfigError):
        DCGANGenerator(image_shape=(8, 8, 3), kernels=(4, 2, 1), z_dim=3)  # channels mismatch


def test_torch_default_init_draws_weights_and_biases_uniform_within_one_over_root_fan_in():
    """PyTorch nn.Linear's init (the BRC authors' networks): U(±1/√fan_in) for kernels and biases."""
    g = MLPGenerator(z_dim=256, hidden=(128, 128), activation="leaky_relu", init="torch_default")
    d = MLPDiscriminator(hidden=(128, 128), activation="leaky_relu", init="torch_default", feature_stats=True)
    fan_ins = {"generator": [256, 128, 128], "discriminator": [2, 128, 3 * 128]}
    for model in (g, d):
        dense = [w for w in model.weights if w.path.endswith("kernel") or w.path.endswith("bias")]
        kernels, biases = dense[0::2], dense[1::2]
        for fan_in, kernel, bias in zip(fan_ins[model.name], kernels, biases):
            bound = 1 / np.sqrt(fan_in)
            for w in (np.asarray(kernel), np.asarray(bias)):
                assert np.abs(w).max() <= bound
                assert w.size < 64 or np.abs(w).max() > 0.9 * bound  # the whole interval is used
            # uniform on ±b: standard deviation b/√3, here within 10% for ≥ 128 draws
            assert np.asarray(kernel).std() == pytest.approx(bound / np.sqrt(3), rel=0.1)


def test_leaky_relu_negative_slope_is_a_setting():
    for slope in (0.2, 0.01):
        g = MLPGenerator(z_dim=2, hidden=(2,), activation="leaky_relu", negative_slope=slope, init="glorot_uniform")
        leaky = g.net.layers[1]
        np.testing.assert_allclose(np.asarray(leaky(tf.constant([[-1.0, 2.0]]))), [[-slope, 2.0]], rtol=1e-6)
        assert MLPGenerator.from_config(g.get_config()).negative_slope == slope
