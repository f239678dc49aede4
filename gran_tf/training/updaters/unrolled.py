"""Unrolled GAN (Metz et al.): the generator descends f(θG, θD^K), θD^K being K differentiable
steps of the discriminator's own optimizer from the current θD (docs/unrolled.md#method)."""
import dataclasses

import gin
import tensorflow as tf

from gran_tf.settings import check_settings, flag, integer, one_of
from gran_tf.training.updaters.base import LookAheadUpdater, d_objective, global_mean
from gran_tf.training.updaters.functional import (
    INNER_OPTIMIZERS, StatelessModel, cross_replica_sum, current_values, functional_optimizer, loss_scale,
    unscaled_gradients)


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

    ``remat=True`` keeps, of each unrolled step, only what it hands to the next (θD^k, the
    optimizer's moments, D's non-trainable state) and recomputes the step's activations and
    inner gradient in G's backward pass, one step at a time (``rematerialized``): step memory
    no longer grows with K's activations, for about one more forward-and-inner-gradient pass
    per step. The same gradient; nothing changes with ``second_order=False`` or ``steps=0``
    (no tape then runs back through the steps). docs/unrolled.md#memory.
    """

    def __init__(self, steps=5, second_order=True, inner_optimizer="adam", objective="value", simultaneous=True,
                 remat=False):
        check_settings("Unrolled", steps=(integer(0), steps), second_order=(flag, second_order),
                       inner_optimizer=(one_of(*INNER_OPTIMIZERS), inner_optimizer),
                       objective=(one_of(*OBJECTIVES), objective), simultaneous=(flag, simultaneous),
                       remat=(flag, remat))
        self.steps, self.second_order, self.inner_optimizer = int(steps), bool(second_order), inner_optimizer
        self.objective, self.simultaneous, self.remat = objective, bool(simultaneous), bool(remat)

    def surrogate_loss(self, state, real, fake, step, stream):
        """f_K (global-mean scaled) at fakes ``fake`` = G(z), differentiable in θG."""
        unroll_fake = fake if self.second_order else tf.stop_gradient(fake)
        omega, non_trainable = look_ahead(state, real, unroll_fake, step, stream, self.steps, self.inner_optimizer,
                                          remat=self.remat and self.second_order)
        d_k = StatelessModel(state.discriminator, omega, non_trainable)
        if self.objective == "value":
            # f(θG, θD^K) = E log D^K(x) + E log(1 − D^K(G(z))) = −ℓ_D, D's regulariser left out
            return -global_mean(state.loss.d_loss(d_k(real), d_k(fake)), state)
        return global_mean(state.loss.g_loss(d_k(fake)), state)


def look_ahead(state, real, fake, step, stream, steps, inner_optimizer, prox_weight=0.0, remat=False):
    """θD^{k+1} = θD^k − optimizer step on ∇ℓ_D(θD^k) + λ(θD^k − θD), k < K, on the same fakes,
    from θD^0 = θD; returns θD^K and D's non-trainable state after it.

    ``real`` is one batch for every step, or a list of K batches, one per step (BRC's LwCL mode).
    The gradient is all-reduced so each step is the global-batch step; the proximal term
    λ(θD^k − θD) (ProxGAN; 0 for Unrolled) is added once, after the reduction. With a
    constant ``fake`` nothing here depends on θG. ``remat``: each step's intermediates are
    recomputed in the backward pass instead of kept (``rematerialized``); only worth it where a
    tape differentiates through the steps (``fake`` depending on θG).
    """
    omega, non_trainable, _ = look_ahead_with_state(state, real, fake, step, stream, steps, inner_optimizer,
                                                    prox_weight, remat)
    return omega, non_trainable


def look_ahead_with_state(state, real, fake, step, stream, steps, inner_optimizer, prox_weight=0.0, remat=False):
    """``look_ahead``, also returning (the functional optimizer, its state after the K steps)."""
    d = state.discriminator
    optimizer = functional_optimizer(inner_optimizer, state.d_optimizer, d.trainable_variables)
    scale = loss_scale(state.d_optimizer)
    omega = start = current_values(d.trainable_variables)
    non_trainable = current_values(d.non_trainable_variables)
    opt_state = optimizer.initial_state() if steps else None
    reals = list(real) if isinstance(real, (list, tuple)) else [real] * steps

    def inner_step(omega, opt_state, non_trainable, fake, real_k):
        with tf.GradientTape() as tape:
            tape.watch(omega)
            d_fn = StatelessModel(d, omega, non_trainable)
            loss = d_objective(state, d_fn, real_k, fake, step, stream)
        grads = cross_replica_sum(unscaled_gradients(tape, loss, omega, scale))
        if prox_weight:
            grads = [g + prox_weight * (w - w0) for g, w, w0 in zip(grads, omega, start)]
        omega, opt_state = optimizer.update(omega, grads, opt_state)
        return omega, opt_state, d_fn.non_trainable

    for k in range(steps):
        if remat:
            omega, opt_state, non_trainable, fake = rematerialized_step(inner_step, omega, opt_state,
                                                                        non_trainable, fake, reals[k])
        else:
            omega, opt_state, non_trainable = inner_step(omega, opt_state, non_trainable, fake, reals[k])
    return omega, non_trainable, (optimizer, opt_state)


def rematerialized_step(inner_step, omega, opt_state, non_trainable, fake, real):
    """``inner_step(omega, opt_state, non_trainable, fake, real)`` through ``rematerialized``:
    its state and the fakes are the segment's inputs (so their gradients flow), the real batch a
    constant of it. One step per segment: a step hands on only θD-sized state, far smaller than
    its activations, so checkpointing every step keeps least and recomputes each step once.

    The fakes also pass through the step unchanged, returned for the next: their gradient then
    gathers step by step along the chain (one fakes-sized sum alive in the backward pass)
    instead of as K terms summed at the end."""
    n, state_flat, rebuild = len(omega), *flat_optimizer_state(opt_state)
    m = len(state_flat)

    def run(xs):
        omega, opt_state, non_trainable = inner_step(xs[:n], rebuild(xs[n:n + m]), xs[n + m:-1], xs[-1], real)
        return [*omega, *flat_optimizer_state(opt_state)[0], *non_trainable, xs[-1]]

    ys = rematerialized(run, [*omega, *state_flat, *non_trainable, fake])
    return ys[:n], rebuild(ys[n:n + m]), ys[n + m:-1], ys[-1]


def flat_optimizer_state(opt_state):
    """(tensors of a functional optimizer's state in a fixed order, their inverse: the state from
    such a list); the state is a dataclass of tensors and lists of them (``AdamMoments``) or a
    nest (SGD's ``()``)."""
    if not dataclasses.is_dataclass(opt_state):
        return tf.nest.flatten(opt_state), lambda xs: tf.nest.pack_sequence_as(opt_state, list(xs))
    names = [f.name for f in dataclasses.fields(opt_state)]
    parts = [getattr(opt_state, name) for name in names]
    return tf.nest.flatten(parts), lambda xs: type(opt_state)(**dict(zip(names, tf.nest.pack_sequence_as(
        parts, list(xs)))))


def rematerialized(fn, xs):
    """``fn(xs)`` (a list of tensors to a list of tensors) without keeping its intermediates for a
    tape: the gradient reaching its floating-point outputs is carried back to its floating-point
    inputs by running ``fn`` again, under a fresh tape, in the backward pass. Tapes ``fn`` opens
    itself stay live in both runs (``tf.recompute_grad`` stops them), so a gradient ``fn`` takes
    inside is differentiated too (second order). Integer inputs and outputs (step counts, RNG
    state) pass through as constants.

    ``fn`` must be deterministic in ``xs`` (stateless random draws only) and must not write to
    variables. Inside a ``tf.function`` (with or without XLA) the recomputation is made to wait
    for the incoming gradient, else the graph could run it early and keep its activations anyway.
    """
    xs = [tf.convert_to_tensor(x) for x in xs]
    differentiable = [x.dtype.is_floating for x in xs]
    constants = [None if d else tf.stop_gradient(x) for x, d in zip(xs, differentiable)]

    def all_inputs(floats):
        floats = iter(floats)
        return [next(floats) if d else c for d, c in zip(differentiable, constants)]

    forward = {}

    @tf.custom_gradient
    def segment(*floats):
        # stop_gradient: no enclosing tape records (and so keeps) fn's intermediates
        ys = fn(all_inputs([tf.stop_gradient(x) for x in floats]))
        forward["outputs"] = ys
        float_ys = [y for y in ys if y.dtype.is_floating]

        def grad_fn(*upstream, variables=None):
            upstream = [tf.zeros_like(y) if g is None else g for y, g in zip(float_ys, upstream)]
            again = [tf.identity(x) for x in floats]
            if not tf.executing_eagerly():
                again = after(upstream, again)
            variables = list(variables or [])
            with tf.GradientTape() as tape:
                tape.watch(again)
                recomputed = [y for y in fn(all_inputs(again)) if y.dtype.is_floating]
            grads = tape.gradient(recomputed, again + variables, output_gradients=upstream,
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return (grads[:len(again)], grads[len(again):]) if variables else grads

        return float_ys, grad_fn

    float_ys = iter(segment(*[x for x, d in zip(xs, differentiable) if d]))
    return [next(float_ys) if y.dtype.is_floating else tf.stop_gradient(y) for y in forward["outputs"]]


def after(signals, tensors):
    """``tensors``, unchanged (+ 0), but computed from every tensor of ``signals``: a data
    dependency, as in ``tf.recompute_grad`` (XLA ignores control dependencies). The 0 is the sum
    over the signals of min(|s|, 0), s one element of the signal (−inf for an empty one; NaN only
    when s is, and a NaN gradient flows on anyway), which neither Grappler nor XLA folds to a
    constant: folded, the recomputation would be the forward's ops on the forward's inputs,
    merged back into them (common subexpressions) and its activations kept after all.

    Every signal, not one: each incoming gradient then has a consumer besides the sum it flows
    into, so Grappler's arithmetic optimizer cannot flatten the chain of sums that carries a
    gradient through all the segments (the fakes') into one AddN of K terms at the end, which
    would keep every segment's term alive until then (measured: the whole of the saving)."""
    zeros = []
    for signal in signals:
        s = tf.cast(tf.reduce_max(tf.reshape(signal, [-1])[:1]), tf.float32)
        zeros.append(tf.minimum(tf.abs(s), tf.zeros_like(s)))
    zero = tf.add_n(zeros)
    return [t + tf.cast(zero, t.dtype) for t in tensors]
