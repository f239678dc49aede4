import keras
import numpy as np
import pytest
import tensorflow as tf

from gran_tf.errors import ConfigError
from gran_tf.models.mlp import MLPDiscriminator, MLPGenerator
from gran_tf.training.losses import NonSaturating
from gran_tf.training.updaters import GANState, Proximal, Unrolled
from gran_tf.training.updaters.base import d_objective
from gran_tf.training.updaters.functional import StatelessModel, gradients
from gran_tf.training.updaters.unrolled import look_ahead


def test_without_the_proximal_term_it_is_first_order_unrolling(sgd_ring_trainer, float32_paths, weights):
    prox = sgd_ring_trainer("prox", updater=Proximal(steps=3, prox_weight=0.0))
    unrolled = sgd_ring_trainer("unrolled", updater=Unrolled(
        steps=3, second_order=False, inner_optimizer="sgd", objective="generator", simultaneous=False))
    prox.train_steps(2), unrolled.train_steps(2)
    # Two updaters' code paths for one update (float32 tolerance); a proximal term that did not
    # vanish at weight 0, or a look-ahead from the wrong anchor, moves weights by far more.
    for a, b in zip(weights(prox), weights(unrolled)):
        np.testing.assert_allclose(a, b, **float32_paths)


def test_look_ahead_with_the_proximal_term_steps_from_the_anchor():
    # SGD at rate η with λ = 1/η: ω_{k+1} = ω_k − η(∇ℓ_D(ω_k) + λ(ω_k − ω)) = ω − η∇ℓ_D(ω_k).
    keras.utils.set_random_seed(1)
    g, d = MLPGenerator(image_shape=(2,), z_dim=2, hidden=(3,)), MLPDiscriminator(image_shape=(2,), hidden=(4,))
    eta = 0.5
    state = GANState(g, d, keras.optimizers.SGD(0.1), keras.optimizers.SGD(eta), NonSaturating(), 6, 0)
    real, fake = tf.random.stateless_normal([6, 2], [0, 1]), tf.random.stateless_normal([6, 2], [0, 2])
    omega, _ = look_ahead(state, real, fake, 0, 0, steps=3, inner_optimizer="sgd", prox_weight=1 / eta)

    def grad_at(w):
        w = [tf.convert_to_tensor(x) for x in w]
        with tf.GradientTape() as tape:
            tape.watch(w)
            loss = d_objective(state, StatelessModel(d, w, d.non_trainable_variables), real, fake, 0, 0)
        return gradients(tape, loss, w)

    anchor = [v.numpy() for v in d.trainable_variables]
    expected = anchor
    for _ in range(3):
        expected = [a - eta * gr.numpy() for a, gr in zip(anchor, grad_at(expected))]
    for a, b in zip(omega, expected):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-5, atol=1e-6)
    assert max(np.abs(a - b).max() for a, b in zip(expected, anchor)) > 1e-3


def test_bad_settings_are_config_errors():
    for kw in (dict(steps=0), dict(prox_weight=-1.0)):
        with pytest.raises(ConfigError):
            Proximal(**kw)
