import numpy as np
import pytest
import tensorflow as tf

from gran_tf.training.losses import Hinge, LeastSquares, Minimax, NonSaturating, Wasserstein

REAL = tf.constant([2.0, -1.0, 0.5])
FAKE = tf.constant([-0.5, 1.5, 0.0])


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def test_sigmoid_losses_match_their_probability_forms():
    d_real, d_fake = sigmoid(REAL), sigmoid(FAKE)
    expected_d = -np.log(d_real) - np.log(1 - d_fake)  # Eq. 1, D side
    for loss in (Minimax(), NonSaturating()):
        np.testing.assert_allclose(loss.d_loss(REAL, FAKE), expected_d, rtol=1e-5)
    np.testing.assert_allclose(Minimax().g_loss(FAKE), np.log(1 - d_fake), rtol=1e-5)
    np.testing.assert_allclose(NonSaturating().g_loss(FAKE), -np.log(d_fake), rtol=1e-5)  # Eq. 2


def test_minimax_and_non_saturating_generator_gradients_point_the_same_way():
    logits = tf.Variable([-3.0, 0.0, 3.0])
    grads = []
    for loss in (Minimax(), NonSaturating()):
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(loss.g_loss(logits))
        grads.append(tape.gradient(value, logits).numpy())
    assert np.all(np.sign(grads[0]) == np.sign(grads[1])) and np.all(grads[0] < 0)
    # ... but the minimax gradient vanishes where D rejects the fakes (saturation)
    assert abs(grads[0][0]) < 0.05 < abs(grads[1][0])


def test_least_squares_and_hinge_closed_forms():
    r, f = REAL.numpy(), FAKE.numpy()
    np.testing.assert_allclose(LeastSquares().d_loss(REAL, FAKE), 0.5 * (r - 1) ** 2 + 0.5 * f**2)
    np.testing.assert_allclose(LeastSquares().g_loss(FAKE), 0.5 * (f - 1) ** 2)
    np.testing.assert_allclose(Hinge().d_loss(REAL, FAKE), np.maximum(0, 1 - r) + np.maximum(0, 1 + f))
    np.testing.assert_allclose(Hinge().g_loss(FAKE), -f)


@pytest.mark.parametrize("w", [[3.0, 4.0], [0.3, 0.4]])
def test_gradient_penalty_of_a_linear_critic_is_exact(w):
    # D(x) = w·x has ‖∇D‖ = ‖w‖ everywhere, so the penalty is λ(‖w‖ - 1)² per example.
    w = tf.constant(w)
    critic = lambda x: tf.linalg.matvec(x, w)  # noqa: E731
    real = tf.random.stateless_normal([4, 2], [0, 1])
    fake = tf.random.stateless_normal([4, 2], [0, 2])
    penalty = Wasserstein(gp_weight=10.0).penalty(critic, real, fake, tf.constant([1, 2], tf.int64))
    np.testing.assert_allclose(penalty, np.full(4, 10.0 * (np.linalg.norm(w) - 1) ** 2), rtol=1e-4)
    np.testing.assert_allclose(Wasserstein().d_loss(REAL, FAKE), FAKE - REAL)
