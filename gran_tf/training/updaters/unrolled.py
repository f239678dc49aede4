"""Unrolled GAN (Metz et al.): the generator descends f(θG, θD^K), θD^K being K differentiable
steps of the discriminator's own optimizer from the current θD (docs/unrolled.md#method)."""
import gin
import tensorflow as tf

from gran_tf.errors import ConfigError
from gran_tf.training.updaters.base import LookAheadUpdater, d_objective, global_mean
from gran_tf.training.updaters.functional import (
    StatelessModel, cross_replica_sum, current_values, functional_optimizer, loss_scale, unscaled_gradients)


OBJECTIVES = ("value", "generator")


@gin.register
class Unrolled(LookAheadUpdater):
    """The generator descends f_K(θG, θD) = f(θG, θD^K(θG, θD)) (Eq. 9); D takes one ordinary step.

    ``objective``: "value" makes f the GAN value function −ℓ_D, the data term E log D^K(x)
    included (the paper's surrogate; G's loss ``g_loss`` is then unused); "generator" makes it
    G's own loss ℓ_G(G(z), θD^K). ``simultaneous``: both players step from the same (θG, θD)
    on one minibatch (Eqs. 10–11); otherwise D steps first and the unroll starts from the
    updated D. ``second_order=False`` treats θD^K as a constant of θG (the paper's appendix B
    ablation); ``inner_optimizer`` is "adam" (the D optimizer's Adam with its current moments,
    step count and learning rate) or "sgd" (plain descent at the D optimizer's learning rate).
    ``steps=0`` is the standard GAN update with that objective.
    """

    def __init__(self, steps=5, second_order=True, inner_optimizer="adam", objective="value", simultaneous=True):
        if int(steps) < 0:
            raise ConfigError(f"Unrolled.steps must be >= 0, got {steps}")
        if objective not in OBJECTIVES:
            raise ConfigError(f"Unrolled.objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
        self.steps, self.second_order, self.inner_optimizer = int(steps), bool(second_order), inner_optimizer
        self.objective, self.simultaneous = objective, bool(simultaneous)

    def surrogate_loss(self, state, real, fake, step, stream):
        """f_K (global-mean scaled) at fakes ``fake`` = G(z), differentiable in θG."""
        unroll_fake = fake if self.second_order else tf.stop_gradient(fake)
        omega, non_trainable = look_ahead(state, real, unroll_fake, step, stream, self.steps, self.inner_optimizer)
        d_k = StatelessModel(state.discriminator, omega, non_trainable)
        if self.objective == "value":
            # f(θG, θD^K) = E log D^K(x) + E log(1 − D^K(G(z))) = −ℓ_D, D's regulariser left out
            return -global_mean(state.loss.d_loss(d_k(real), d_k(fake)), state)
        return global_mean(state.loss.g_loss(d_k(fake)), state)


def look_ahead(state, real, fake, step, stream, steps, inner_optimizer, prox_weight=0.0):
    """θD^{k+1} = θD^k − optimizer step on ∇ℓ_D(θD^k) + λ(θD^k − θD), k < K, on the same fakes,
    from θD^0 = θD; returns θD^K and D's non-trainable state after it.

    ``real`` is one batch for every step, or a list of K batches, one per step (BRC's LwCL mode).
    The gradient is all-reduced so each step is the global-batch step; the proximal term
    λ(θD^k − θD) (ProxGAN; 0 for Unrolled) is added once, after the reduction. With a
    constant ``fake`` nothing here depends on θG.
    """
    omega, non_trainable, _ = look_ahead_with_state(state, real, fake, step, stream, steps, inner_optimizer,
                                                    prox_weight)
    return omega, non_trainable


def look_ahead_with_state(state, real, fake, step, stream, steps, inner_optimizer, prox_weight=0.0):
    """``look_ahead``, also returning (the functional optimizer, its state after the K steps)."""
    d = state.discriminator
    optimizer = functional_optimizer(inner_optimizer, state.d_optimizer, d.trainable_variables)
    scale = loss_scale(state.d_optimizer)
    omega = start = current_values(d.trainable_variables)
    non_trainable = current_values(d.non_trainable_variables)
    opt_state = optimizer.initial_state() if steps else None
    reals = list(real) if isinstance(real, (list, tuple)) else [real] * steps
    for k in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(omega)
            d_fn = StatelessModel(d, omega, non_trainable)
            loss = d_objective(state, d_fn, reals[k], fake, step, stream)
        grads = cross_replica_sum(unscaled_gradients(tape, loss, omega, scale))
        if prox_weight:
            grads = [g + prox_weight * (w - w0) for g, w, w0 in zip(grads, omega, start)]
        non_trainable = d_fn.non_trainable
        omega, opt_state = optimizer.update(omega, grads, opt_state)
    return omega, non_trainable, (optimizer, opt_state)
