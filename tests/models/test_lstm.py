import keras
import numpy as np
import pytest
import tensorflow as tf

from gran_tf.errors import ConfigError
from gran_tf.models import LSTMGenerator

SHAPE, Z_DIM, UNITS = (5, 4, 2), 3, 6


def tiny_generator(**kw):
    keras.utils.set_random_seed(0)
    return LSTMGenerator(**{"image_shape": SHAPE, "z_dim": Z_DIM, "units": UNITS, **kw})


def latents(n, seed=1):
    return tf.random.stateless_normal([n, Z_DIM], [seed, 0])


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_rollout(g, z):
    """The generator written out in numpy: s = relu(A z + a), (h_0, c_0) = (s, s), x_{-1} = 0;
    per column i, f, g, o = split(W x_{t-1} + U h + b); c ← σ(f)c + σ(i)tanh(g);
    h ← σ(o)tanh(c); x_t = tanh(V h + v)."""
    cell = g.columns.cell
    kernel, recurrent, bias = (v.numpy() for v in cell.lstm.weights)
    out_kernel, out_bias = (v.numpy() for v in cell.out.weights)
    h = c = np.maximum(z @ g.initial_state.kernel.numpy() + g.initial_state.bias.numpy(), 0.0)
    column = np.zeros((z.shape[0], SHAPE[0] * SHAPE[2]))
    columns = []
    for _ in range(SHAPE[1]):
        i, f, cand, o = np.split(column @ kernel + h @ recurrent + bias, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(cand)
        h = sigmoid(o) * np.tanh(c)
        column = np.tanh(h @ out_kernel + out_bias)
        columns.append(column.reshape(-1, SHAPE[0], SHAPE[2]))
    return np.stack(columns, axis=2)  # [B, H, W, C]


@pytest.mark.parametrize("act,lo,hi", [("sigmoid", 0.0, 1.0), ("tanh", -1.0, 1.0)])
def test_output_shape_and_range(act, lo, hi):
    g = tiny_generator(out_activation=act)
    x = g(latents(3) * 10.0)
    assert x.shape == (3, *SHAPE) and g.z_shape == (Z_DIM,)
    assert lo <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= hi
    assert float(tf.math.reduce_std(x)) > 1e-3  # not a saturated constant


def test_generator_is_the_autoregressive_column_lstm():
    g = tiny_generator()
    z = latents(4)
    np.testing.assert_allclose(g(z), reference_rollout(g, z.numpy()), atol=1e-5)


def test_forget_bias_starts_at_one_and_recurrent_weights_are_xavier():
    g = tiny_generator()
    bias = g.columns.cell.lstm.bias.numpy()
    np.testing.assert_array_equal(bias[UNITS:2 * UNITS], 1.0)
    np.testing.assert_array_equal(np.delete(bias, np.s_[UNITS:2 * UNITS]), 0.0)
    limit = np.sqrt(6.0 / (UNITS + 4 * UNITS))  # Glorot uniform bound, not orthogonal
    assert np.abs(g.columns.cell.lstm.recurrent_kernel.numpy()).max() <= limit


def test_columns_are_causal_the_first_ones_ignore_how_many_follow():
    narrow = tiny_generator()
    wide = LSTMGenerator(image_shape=(SHAPE[0], SHAPE[1] + 3, SHAPE[2]), z_dim=Z_DIM, units=UNITS)
    wide.set_weights(narrow.get_weights())  # same weights: shapes do not depend on W
    z = latents(3)
    np.testing.assert_allclose(wide(z)[:, :, :SHAPE[1]], narrow(z), atol=1e-6)


def test_same_z_same_image_different_z_different_image():
    g = tiny_generator()
    z = latents(2)
    np.testing.assert_array_equal(g(z), g(z))
    x = g(z).numpy()
    assert np.abs(x[0] - x[1]).min(axis=(0, 2)).max() > 1e-4  # some column differs everywhere


def test_stateless_call_and_tf_function_match_the_eager_call():
    g = tiny_generator()
    z = latents(3)
    stateless, _ = g.stateless_call([v.value for v in g.trainable_variables],
                                    [v.value for v in g.non_trainable_variables], z)
    np.testing.assert_allclose(stateless, g(z), atol=1e-6)
    np.testing.assert_allclose(tf.function(g)(z), g(z), atol=1e-6)


def test_keras_file_round_trip_gives_the_same_images(tmp_path):
    g = tiny_generator(out_activation="sigmoid")
    path = str(tmp_path / "g.keras")
    g.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_config() == g.get_config()
    z = latents(2, seed=5)
    np.testing.assert_allclose(loaded(z), g(z), atol=1e-6)


def test_gradient_reaches_every_trainable_weight():
    g = tiny_generator()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(g(latents(3))[:, :, 1:]))  # columns after the first
    grads = tape.gradient(loss, g.trainable_variables)
    assert len(grads) == 7
    for v, grad in zip(g.trainable_variables, grads):
        assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0, v.path


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError):
        LSTMGenerator(image_shape=(28, 28))
    with pytest.raises(ConfigError):
        LSTMGenerator(units=0)
    with pytest.raises(ConfigError):
        LSTMGenerator(out_activation="softmax")
