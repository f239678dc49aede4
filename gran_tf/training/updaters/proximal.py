"""ProxGAN (Farnia & Ozdaglar, 2020), the BRC paper's proximal baseline: the generator descends
ℓ_G at the discriminator's proximal response

    D̃(θ) = argmin_ω' ℓ_D(θ, ω') + (λ/2)‖ω' − ω‖²,

found by K steps of the D optimizer from the current ω. Its gradient treats D̃ as fixed
(Danskin's theorem for the proximal objective), so unlike Unrolled no second-order terms
are formed; λ → ∞ gives back the standard update.
"""
import gin
import tensorflow as tf

from gran_tf.errors import ConfigError
from gran_tf.training.updaters.base import Updater, d_step, global_mean, sample_z
from gran_tf.training.updaters.functional import StatelessModel
from gran_tf.training.updaters.unrolled import look_ahead


@gin.register
class Proximal(Updater):
    """One ordinary D step, then a G step against the proximal response D̃.

    ``steps``: K inner steps; ``prox_weight``: λ; ``inner_optimizer``: "sgd" (plain descent
    at the D optimizer's learning rate) or "adam" (the D optimizer's Adam, functionally).
    """

    def __init__(self, steps=5, prox_weight=1.0, inner_optimizer="sgd"):
        if int(steps) < 1:
            raise ConfigError(f"Proximal.steps must be >= 1, got {steps}")
        if float(prox_weight) < 0:
            raise ConfigError(f"Proximal.prox_weight must be >= 0, got {prox_weight}")
        self.steps, self.prox_weight, self.inner_optimizer = int(steps), float(prox_weight), inner_optimizer

    def step(self, state, batches, step):
        real = batches[0][0]
        d_loss = d_step(state, real, step, stream=0)
        g_loss = self.generator_step(state, real, step, stream=2)
        return {"d_loss": d_loss, "g_loss": g_loss}

    def generator_step(self, state, real, step, stream):
        g = state.generator
        z = sample_z(state, step, stream, tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = g(z, training=True)
            omega, non_trainable = look_ahead(state, real, tf.stop_gradient(fake), step, stream + 1, self.steps,
                                              self.inner_optimizer, self.prox_weight)
            d_tilde = StatelessModel(state.discriminator, [tf.stop_gradient(w) for w in omega], non_trainable)
            loss = global_mean(state.loss.g_loss(d_tilde(fake)), state)
        grads = tape.gradient(loss, g.trainable_variables)
        state.g_optimizer.apply_gradients(zip(grads, g.trainable_variables))
        return loss
