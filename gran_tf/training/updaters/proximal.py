"""ProxGAN (Farnia & Ozdaglar, 2020), the BRC paper's proximal baseline: the generator descends
ℓ_G at the discriminator's proximal response

    D̃(θ) = argmin_ω' ℓ_D(θ, ω') + (λ/2)‖ω' − ω‖²,

found by K steps of the D optimizer from the current ω. Its gradient treats D̃ as fixed
(Danskin's theorem for the proximal objective), so unlike Unrolled no second-order terms
are formed; λ → ∞ gives back the standard update.
"""
import gin
import tensorflow as tf

from gran_tf.settings import check_settings, integer, number, one_of
from gran_tf.training.updaters.base import LookAheadUpdater, global_mean
from gran_tf.training.updaters.functional import INNER_OPTIMIZERS, StatelessModel
from gran_tf.training.updaters.unrolled import look_ahead


@gin.register
class Proximal(LookAheadUpdater):
    """One ordinary D step, then a G step against the proximal response D̃.

    ``steps``: K inner steps; ``prox_weight``: λ; ``inner_optimizer``: "sgd" (plain descent
    at the D optimizer's learning rate) or "adam" (the D optimizer's Adam, functionally).
    No tape runs back through the K steps (their fakes are detached and D̃ is held fixed), so
    there is no ``remat`` option: Unrolled's would save nothing here.
    """

    def __init__(self, steps=5, prox_weight=1.0, inner_optimizer="sgd"):
        check_settings("Proximal", steps=(integer(1), steps), prox_weight=(number(minimum=0), prox_weight),
                       inner_optimizer=(one_of(*INNER_OPTIMIZERS), inner_optimizer))
        self.steps, self.prox_weight, self.inner_optimizer = int(steps), float(prox_weight), inner_optimizer

    def response(self, state, real, fake, step, stream):
        """D̃'s weights, held fixed, and its non-trainable state after the K proximal steps
        against ``fake``."""
        omega, non_trainable = look_ahead(state, real, fake, step, stream, self.steps, self.inner_optimizer,
                                          self.prox_weight)
        return [tf.stop_gradient(w) for w in omega], non_trainable

    def surrogate_loss(self, state, real, fake, step, stream):
        """ℓ_G(G(z), D̃), D̃ held fixed."""
        omega, non_trainable = self.response(state, real, tf.stop_gradient(fake), step, stream)
        d_tilde = StatelessModel(state.discriminator, omega, non_trainable)
        return global_mean(state.loss.g_loss(d_tilde(fake)), state)
