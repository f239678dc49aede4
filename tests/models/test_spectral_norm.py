"""Spectral normalisation of the DCGAN discriminator (SNGAN, Miyato et al. 2018)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from gran_tf.errors import ConfigError
from gran_tf.models import DCGANDiscriminator
from gran_tf.models.spectral_norm import SpectralNorm

SMALL = dict(image_shape=(8, 8, 3), kernels=(4, 6), filter_size=3, hidden=5, use_bn=False)
HAS_GPU = bool(tf.config.list_physical_devices("GPU"))


def discriminator(seed=0, **kw):
    keras.utils.set_random_seed(seed)
    return DCGANDiscriminator(**{**SMALL, **kw})


def images(n=4, seed=0):
    return np.random.RandomState(seed).randn(n, 8, 8, 3).astype("float32")


def sn_layers(model):
    return [layer for layer in model.layers if isinstance(layer, SpectralNorm)]


def as_matrix(kernel):
    kernel = np.asarray(kernel)
    return kernel.reshape(-1, kernel.shape[-1])


def unit(x):
    return x / (np.linalg.norm(x) + 1e-12)


def numpy_power_iteration(kernel, u, steps):
    """Miyato et al.'s Algorithm 1 in numpy: returns σ = vᵀWu and the new u."""
    w = as_matrix(kernel).astype("float64")
    u = np.asarray(u, dtype="float64")
    for _ in range(steps):
        v = unit(u @ w.T)
        u = unit(v @ w)
    return (v @ w @ u.T).item(), u


def top_singular_value(matrix):
    return np.linalg.svd(matrix, compute_uv=False)[0]


def test_every_conv_and_dense_layer_is_wrapped_with_a_unit_non_trainable_u():
    d = discriminator(spectral_norm=True)
    assert sorted(layer.layer.name for layer in sn_layers(d)) == ["conv0", "conv1", "fc", "logit"]
    assert sorted(layer.name for layer in sn_layers(d)) == ["sn_conv0", "sn_conv1", "sn_fc", "sn_logit"]
    for layer in sn_layers(d):
        assert not layer.u.trainable and layer.u.shape == (1, layer.layer.kernel.shape[-1])
        np.testing.assert_allclose(np.linalg.norm(layer.u.numpy()), 1.0, rtol=1e-6)
    assert sorted(w.name for w in d.trainable_weights) == sorted(w.name for w in discriminator().trainable_weights)
    assert sn_layers(discriminator()) == []


DENSE = dict(cls=keras.layers.Dense, args=(3,), kw=dict(activation="tanh"), x_shape=(2, 5))
CONV = dict(cls=keras.layers.Conv2D, args=(3, 3), kw=dict(strides=2, padding="same", activation="relu"),
            x_shape=(2, 6, 6, 2))
DILATED = dict(cls=keras.layers.Conv2D, args=(2, 2), kw=dict(dilation_rate=2, use_bias=False), x_shape=(1, 7, 7, 3))
CHANNELS_FIRST = dict(cls=keras.layers.Conv2D, args=(3, 3), kw=dict(data_format="channels_first"),
                      x_shape=(2, 2, 6, 6))
LAYERS = [pytest.param(DENSE, id="dense"), pytest.param(CONV, id="conv"), pytest.param(DILATED, id="dilated"),
          pytest.param(CHANNELS_FIRST, id="channels_first",
                       marks=pytest.mark.skipif(not HAS_GPU, reason="NCHW conv needs a GPU"))]


def wrapped(spec, power_iterations=1, dtype="float32", seed=0):
    """A built SpectralNorm around ``spec``'s layer, with a non-zero bias, and an input for it."""
    keras.utils.set_random_seed(seed)
    layer = SpectralNorm(spec["cls"](*spec["args"], dtype=dtype, **spec["kw"]), power_iterations=power_iterations)
    x = np.random.RandomState(seed).randn(*spec["x_shape"]).astype(dtype)
    layer.build(x.shape)
    if layer.layer.use_bias:
        layer.layer.bias.assign(np.linspace(-0.5, 0.5, layer.layer.bias.shape[0]))
    return layer, x


@pytest.mark.parametrize("power_iterations", [1, 3])
@pytest.mark.parametrize("spec", LAYERS)
def test_output_is_the_wrapped_layer_evaluated_at_w_over_sigma(spec, power_iterations):
    sn, x = wrapped(spec, power_iterations)
    kernel, u0 = sn.layer.kernel.numpy(), sn.u.numpy()
    sigma, u1 = numpy_power_iteration(kernel, u0, power_iterations)
    plain = spec["cls"].from_config(sn.layer.get_config())
    plain.build(x.shape)
    plain.set_weights([kernel / sigma] + sn.layer.get_weights()[1:])  # W_SN = W/σ(W), eq. (8)
    np.testing.assert_allclose(sn(x, training=False), plain(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(sn.u.numpy(), u0)
    np.testing.assert_allclose(sn(x, training=True), plain(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sn.u.numpy(), u1, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(sn.layer.kernel.numpy(), kernel)


@pytest.mark.parametrize("spec", LAYERS[:2])
def test_gradient_differentiates_through_sigma_with_u_and_v_fixed(spec):
    sn, x = wrapped(spec, dtype="float64")
    kernel_var, u0 = sn.layer.kernel, sn.u.numpy()
    probe = np.random.RandomState(1).randn(*sn.compute_output_shape(x.shape))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(sn(x, training=True) * probe)
    grad = tape.gradient(loss, kernel_var.value).numpy()

    # The explicit reparametrisation: W/(vᵀWu) with the u, v of this call as constants (eq. 12).
    kernel = tf.constant(kernel_var.numpy())
    w = kernel.numpy().reshape(-1, kernel.shape[-1])
    v, u = tf.constant(unit(u0 @ w.T)), tf.constant(sn.u.numpy())
    plain = spec["cls"].from_config(sn.layer.get_config())
    plain.build(x.shape)
    with tf.GradientTape() as tape:
        tape.watch(kernel)
        sigma = tf.reduce_sum(tf.matmul(v, tf.reshape(kernel, w.shape)) * u)
        loss_explicit = tf.reduce_sum(sn.apply_wrapped(x, kernel / sigma) * probe)
    expected = tape.gradient(loss_explicit, kernel).numpy()
    np.testing.assert_allclose(loss, loss_explicit, rtol=1e-12)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-12)

    # Central finite differences of the same expression in a few coordinates.
    def explicit_loss(k):
        s = (v.numpy() @ k.reshape(w.shape) @ u.numpy().T).item()
        plain.set_weights([k / s] + sn.layer.get_weights()[1:])
        return float(np.sum(plain(x).numpy() * probe))

    h = 1e-6
    for index in [(0,) * kernel.ndim, tuple(n - 1 for n in kernel.shape)]:
        step = np.zeros(kernel.shape)
        step[index] = h
        fd = (explicit_loss(kernel.numpy() + step) - explicit_loss(kernel.numpy() - step)) / (2 * h)
        np.testing.assert_allclose(grad[index], fd, rtol=1e-6, atol=1e-9)

    # Holding σ constant, as a projection's gradient does, gives a different gradient.
    with tf.GradientTape() as tape:
        tape.watch(kernel)
        loss_const_sigma = tf.reduce_sum(sn.apply_wrapped(x, kernel / tf.stop_gradient(sigma)) * probe)
    assert not np.allclose(grad, tape.gradient(loss_const_sigma, kernel).numpy(), rtol=1e-3)


def test_training_calls_bring_the_top_singular_value_of_w_sn_to_one_without_touching_w():
    d = discriminator(spectral_norm=True)
    for layer in sn_layers(d):
        layer.layer.kernel.assign(5.0 * layer.layer.kernel)  # far from the unit sphere
    trainable = [w.numpy() for w in d.trainable_weights]
    x = images()
    for _ in range(50):
        d(x, training=True)
    for a, w in zip(trainable, d.trainable_weights):
        np.testing.assert_array_equal(a, w.numpy())
    for layer in sn_layers(d):
        kernel = layer.layer.kernel.numpy()
        assert abs(top_singular_value(as_matrix(kernel)) - 1.0) > 0.5, layer.name
        sigma, _ = numpy_power_iteration(kernel, layer.u.numpy(), 1)  # the σ the next call divides by
        assert abs(top_singular_value(as_matrix(kernel / sigma)) - 1.0) < 0.02, layer.name


def test_inference_calls_use_u_without_storing_it():
    d = discriminator(spectral_norm=True)
    before = [w.numpy() for w in d.weights]
    x = images()
    inference = d(x, training=False)
    for a, w in zip(before, d.weights):
        np.testing.assert_array_equal(a, w.numpy())
    np.testing.assert_array_equal(inference, d(x, training=True))  # same σ; training also stores u
    moved = {layer.name: not np.array_equal(a, layer.u.numpy())
             for layer in sn_layers(d) for a, w in zip(before, d.weights) if w is layer.u}
    # The logit layer's u is 1x1: a unit scalar, a fixed point of the power iteration.
    assert moved == {"sn_conv0": True, "sn_conv1": True, "sn_fc": True, "sn_logit": False}


def test_spectral_norm_off_is_the_plain_discriminator():
    plain, off = discriminator(), discriminator(spectral_norm=False)
    assert [w.path for w in plain.weights] == [w.path for w in off.weights]
    for a, b in zip(plain.weights, off.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = images()
    for training in (False, True):
        np.testing.assert_array_equal(plain(x, training=training), off(x, training=training))
    assert off.get_config()["spectral_norm"] is False


def test_with_the_same_seed_sn_wraps_the_plain_discriminators_kernels():
    plain, sn = discriminator(), discriminator(spectral_norm=True)
    originals = {layer.name: layer for layer in plain.layers}
    for layer in sn_layers(sn):
        for a, b in zip(layer.layer.get_weights(), originals[layer.layer.name].get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("use_bn", [False, True])
def test_keras_file_round_trip_keeps_outputs_and_u(tmp_path, use_bn):
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
    np.testing.assert_array_equal(d(x), loaded(x))
    # The restored u continues the power iteration exactly where the saved one stopped.
    np.testing.assert_array_equal(d(x, training=True), loaded(x, training=True))
    for a, b in zip(sn_layers(d), sn_layers(loaded)):
        np.testing.assert_array_equal(a.u.numpy(), b.u.numpy())


def test_stateless_call_and_tf_function_match_eager_training_calls(float32_paths):
    stateless, compiled, eager = (discriminator(spectral_norm=True) for _ in range(3))
    x = images()
    u0 = [layer.u.numpy() for layer in sn_layers(stateless)]
    out, non_trainable = stateless.stateless_call(
        [v.value for v in stateless.trainable_variables], [v.value for v in stateless.non_trainable_variables],
        x, training=True)
    for u, layer in zip(u0, sn_layers(stateless)):
        np.testing.assert_array_equal(layer.u.numpy(), u)  # the variable is untouched
    compiled_out = tf.function(lambda x: compiled(x, training=True))(x)
    eager_out = eager(x, training=True)
    # Three code paths, so float32 kernels may sum in other orders (graph rewrites, oneDNN):
    # agreement to ~1e-5 is what float32 allows here. The bugs this guards against (a skipped or
    # doubled power iteration, u not returned) move u by orders of magnitude more: see the
    # last assertion and test_training_calls_bring_the_top_singular_value_of_w_sn_to_one.
    np.testing.assert_allclose(out, eager_out, **float32_paths)
    np.testing.assert_allclose(compiled_out, eager_out, **float32_paths)
    new_u = dict(zip([v.path for v in stateless.non_trainable_variables], non_trainable))
    for s, c, e in zip(sn_layers(stateless), sn_layers(compiled), sn_layers(eager), strict=True):
        np.testing.assert_allclose(new_u[s.u.path], e.u.numpy(), **float32_paths)
        np.testing.assert_allclose(c.u.numpy(), e.u.numpy(), **float32_paths)
    assert np.abs(new_u[sn_layers(stateless)[0].u.path] - u0[0]).max() > 1e-3


def test_mirrored_replicas_assign_the_same_u_as_one_device(float32_paths):
    assert len(tf.config.list_logical_devices("CPU")) >= 2, "conftest sets up two logical CPUs"
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = discriminator(spectral_norm=True)
    single = discriminator(spectral_norm=True)
    batches = strategy.experimental_distribute_values_from_function(
        lambda ctx: images(2, seed=ctx.replica_id_in_sync_group))
    tf.function(lambda b: strategy.run(lambda x: mirrored(x, training=True), (b,)))(batches)
    single(images(2), training=True)
    for m, s in zip(sn_layers(mirrored), sn_layers(single)):
        replicas = [r.numpy() for r in m.u.value.values]
        assert len(replicas) == 2
        np.testing.assert_array_equal(replicas[0], replicas[1])  # one value, assigned to both
        # Mirrored vs one device: the same math in other kernels' summation orders (u is a unit
        # vector, so atol is ~8 float32 ulps of its largest entries).
        np.testing.assert_allclose(replicas[0], s.u.numpy(), **float32_paths)


@pytest.mark.parametrize("layer", [keras.layers.Conv2DTranspose(2, 3), keras.layers.Conv1D(2, 3),
                                   keras.layers.Embedding(4, 2)])
def test_other_layer_types_are_a_config_error(layer):
    with pytest.raises(ConfigError, match="Dense or Conv2D"):
        SpectralNorm(layer)


def test_power_iterations_must_be_positive():
    with pytest.raises(ConfigError, match="power_iterations"):
        SpectralNorm(keras.layers.Dense(2), power_iterations=0)
