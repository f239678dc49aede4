"""The updater seam: how G and D move in one training step.

An updater runs inside the replica context (``strategy.run``) and knows nothing about the
strategy: per-example losses are averaged over the *global* batch, so the optimizers'
cross-replica SUM of gradients equals the single-device gradient. Shared pieces live here:
latent sampling, the D loss at given weights, the standard D and G steps.
"""
import dataclasses

import keras
import tensorflow as tf

from gran_tf import random_streams
from gran_tf.training.updaters.functional import loss_scale


@dataclasses.dataclass
class GANState:
    """Everything an updater acts on. ``seed`` and the step make every draw reproducible."""

    generator: keras.Model
    discriminator: keras.Model
    g_optimizer: keras.optimizers.Optimizer
    d_optimizer: keras.optimizers.Optimizer
    loss: object
    global_batch_size: int
    seed: int


def draw_seed(state, step, stream):
    """The stateless seed of one random draw: the run seed, then the step, then the draw's stream
    within the step, folded in one after the other, so that no two (step, stream) pairs share a
    seed however many streams a step uses."""
    run_key = tf.constant(random_streams.key(state.seed, random_streams.UPDATERS), tf.int64)
    step_key = tf.random.experimental.stateless_fold_in(run_key, tf.cast(step, tf.int64))
    return tf.random.experimental.stateless_fold_in(step_key, tf.cast(stream, tf.int64))


def replica_slice(global_tensor, local_batch):
    """This replica's rows of a tensor drawn for the whole global batch.

    Drawing globally and slicing makes a mirrored run see exactly the latents of a
    single-device run with the same global batch.
    """
    ctx = tf.distribute.get_replica_context()
    start = ctx.replica_id_in_sync_group * local_batch if ctx is not None else 0
    return global_tensor[start:start + local_batch]


def sample_z(state, step, stream, local_batch):
    z = random_streams.standard_normal([state.global_batch_size, *state.generator.z_shape],
                                       draw_seed(state, step, stream))
    return replica_slice(z, local_batch)


def global_mean(per_example, state):
    """Σ_i ℓ_i / global batch: summing this over replicas gives the global mean."""
    return tf.nn.compute_average_loss(per_example, global_batch_size=state.global_batch_size)


def d_objective(state, d_fn, real, fake, step, stream):
    """ℓ_D (global-mean scaled) of a discriminator ``d_fn`` on real and fake batches."""
    per_example = state.loss.d_loss(d_fn(real), d_fn(fake))
    per_example += state.loss.penalty(d_fn, real, fake, draw_seed(state, step, stream))
    return global_mean(per_example, state)


def d_step(state, real, step, stream):
    """One ordinary discriminator update on ``real`` and fresh fakes; returns ℓ_D."""
    z = sample_z(state, step, stream, tf.shape(real)[0])
    return d_update(state, real, tf.stop_gradient(state.generator(z, training=True)), step, stream + 1)


def scaled_gradients(tape, loss, variables, optimizer):
    """∇ loss times the optimizer's loss scale (mixed float16: ``LossScaleOptimizer``, whose
    ``apply_gradients`` divides it out and skips steps with non-finite gradients; 1 otherwise),
    the scale seeded as the output gradient so the tape needs nothing more."""
    scale = loss_scale(optimizer)
    if scale is None:
        return tape.gradient(loss, variables)
    return tape.gradient(loss, variables, output_gradients=tf.cast(scale, loss.dtype))


def d_update(state, real, fake, step, stream):
    """One ordinary discriminator update on ``real`` and the given fakes; returns ℓ_D."""
    d = state.discriminator
    with tf.GradientTape() as tape:
        loss = d_objective(state, lambda x: d(x, training=True), real, fake, step, stream)
    grads = scaled_gradients(tape, loss, d.trainable_variables, state.d_optimizer)
    state.d_optimizer.apply_gradients(zip(grads, d.trainable_variables))
    return loss


def g_step(state, local_batch, step, stream):
    """One ordinary generator update on ℓ_G; returns ℓ_G."""
    z = sample_z(state, step, stream, local_batch)
    g = state.generator
    with tf.GradientTape() as tape:
        fake_logits = state.discriminator(g(z, training=True), training=True)
        loss = global_mean(state.loss.g_loss(fake_logits), state)
    grads = scaled_gradients(tape, loss, g.trainable_variables, state.g_optimizer)
    state.g_optimizer.apply_gradients(zip(grads, g.trainable_variables))
    return loss


class Updater:
    """Base class: ``step(state, batches, step) -> dict of per-replica scalar metrics``.

    ``batches_per_step`` real batches (each ``(x, label)``) arrive per call. Metrics are
    global-mean scaled, so the trainer reduces them across replicas with SUM.
    """

    batches_per_step = 1
    metric_names = ("d_loss", "g_loss")  # the keys of ``step``'s dict (GANModel's Keras metrics)
    loss_scaling = True  # scales its losses for LossScaleOptimizers (mixed float16)

    def step(self, state, batches, step):
        raise NotImplementedError


class LookAheadUpdater(Updater):
    """A G step on ``surrogate_loss``, a loss against some look-ahead discriminator built from
    the real batch, beside one ordinary D step (Unrolled, Proximal).

    ``simultaneous``: both players move from the same (θG, θD) on one minibatch, the D step
    seeing the very fakes the look-ahead sees (Unrolled GAN Eqs. 10–11); otherwise D steps first
    on its own fakes and the look-ahead starts from the updated D.
    """

    simultaneous = False

    def step(self, state, batches, step):
        real = batches[0][0]
        if self.simultaneous:
            return self.simultaneous_step(state, real, step)
        d_loss = d_step(state, real, step, stream=0)
        z = sample_z(state, step, 2, tf.shape(real)[0])
        g_loss, g_grads, _ = self.generator_gradient(state, real, z, step, stream=3)
        self.apply_generator(state, g_grads)
        return {"d_loss": d_loss, "g_loss": g_loss}

    def simultaneous_step(self, state, real, step):
        z = sample_z(state, step, 0, tf.shape(real)[0])
        g_loss, g_grads, fake = self.generator_gradient(state, real, z, step, stream=1)
        d_loss = d_update(state, real, tf.stop_gradient(fake), step, stream=1)
        self.apply_generator(state, g_grads)
        return {"d_loss": d_loss, "g_loss": g_loss}

    def generator_gradient(self, state, real, z, step, stream):
        """(surrogate loss, its gradient in θG (times G's loss scale), the fakes G(z)) at the
        current (θG, θD)."""
        g = state.generator
        with tf.GradientTape() as tape:
            fake = g(z, training=True)
            loss = self.surrogate_loss(state, real, fake, step, stream)
        return loss, scaled_gradients(tape, loss, g.trainable_variables, state.g_optimizer), fake

    @staticmethod
    def apply_generator(state, grads):
        state.g_optimizer.apply_gradients(zip(grads, state.generator.trainable_variables))

    def surrogate_loss(self, state, real, fake, step, stream):
        """The generator's loss (global-mean scaled) for fakes ``fake`` = G(z), differentiable
        in θG through them."""
        raise NotImplementedError
