"""The standard GAN update: n_disc discriminator steps, then one generator step."""
import gin
import tensorflow as tf

from gran_tf.settings import integer_setting
from gran_tf.training.updaters.base import Updater, d_step, g_step


@gin.register
class Alternating(Updater):
    def __init__(self, n_disc=1):
        self.n_disc = integer_setting("Alternating.n_disc", n_disc, 1)

    @property
    def batches_per_step(self):
        return self.n_disc

    def step(self, state, batches, step):
        d_losses = [d_step(state, x, step, stream=2 * i) for i, (x, _) in enumerate(batches)]
        g_loss = g_step(state, tf.shape(batches[0][0])[0], step, stream=2 * self.n_disc)
        return {"d_loss": d_losses[-1], "g_loss": g_loss}
