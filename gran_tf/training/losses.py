"""GAN losses as functions of discriminator logits, selectable in gin.

Each loss gives per-example terms (shape [B]) so that a replica can average them over the
*global* batch. ``penalty`` is the hook for terms that need D itself (WGAN-GP).
All sigmoid losses use D(x) = σ(logit).
"""
import gin
import tensorflow as tf

from gran_tf.settings import number_setting


def softplus(x):
    return tf.nn.softplus(x)


class GANLoss:
    """ℓ_D(real_logits, fake_logits) and ℓ_G(fake_logits), per example."""

    name = "gan"
    zero_sum = False

    def d_loss(self, real_logits, fake_logits):
        raise NotImplementedError

    def g_loss(self, fake_logits):
        raise NotImplementedError

    def penalty(self, d_fn, real, fake, seed):
        """Extra per-example D loss needing D itself (default none)."""
        del d_fn, fake, seed
        return tf.zeros(tf.shape(real)[:1], real.dtype)


class SigmoidCrossEntropyD(GANLoss):
    def d_loss(self, real_logits, fake_logits):
        # -log D(x) - log(1 - D(G(z)))   (paper Eq. 1, discriminator side)
        return softplus(-real_logits) + softplus(fake_logits)


@gin.register
class Minimax(SigmoidCrossEntropyD):
    """Zero-sum game of Eq. 1: G minimises log(1 - D(G(z)))."""

    name = "minimax"
    zero_sum = True

    def g_loss(self, fake_logits):
        return -softplus(fake_logits)  # log(1 - σ(l)) = -softplus(l)


@gin.register
class NonSaturating(SigmoidCrossEntropyD):
    """Eq. 2: G maximises log D(G(z))."""

    name = "non_saturating"

    def g_loss(self, fake_logits):
        return softplus(-fake_logits)  # -log σ(l)


@gin.register
class LeastSquares(GANLoss):
    """LSGAN (a, b, c) = (0, 1, 1): ½(D(x)-1)² + ½D(G(z))², G: ½(D(G(z))-1)²."""

    name = "least_squares"

    def d_loss(self, real_logits, fake_logits):
        return 0.5 * tf.square(real_logits - 1.0) + 0.5 * tf.square(fake_logits)

    def g_loss(self, fake_logits):
        return 0.5 * tf.square(fake_logits - 1.0)


@gin.register
class Hinge(GANLoss):
    """D: max(0, 1 - D(x)) + max(0, 1 + D(G(z))); G: -D(G(z))."""

    name = "hinge"

    def d_loss(self, real_logits, fake_logits):
        return tf.nn.relu(1.0 - real_logits) + tf.nn.relu(1.0 + fake_logits)

    def g_loss(self, fake_logits):
        return -fake_logits


@gin.register
class Wasserstein(GANLoss):
    """WGAN critic loss D(G(z)) - D(x) with the gradient penalty λ(‖∇D(x̂)‖ - 1)² (WGAN-GP)."""

    name = "wasserstein"

    def __init__(self, gp_weight=10.0):
        self.gp_weight = number_setting("Wasserstein.gp_weight", gp_weight, minimum=0)

    def d_loss(self, real_logits, fake_logits):
        return fake_logits - real_logits

    def g_loss(self, fake_logits):
        return -fake_logits

    def penalty(self, d_fn, real, fake, seed):
        if not self.gp_weight:
            return super().penalty(d_fn, real, fake, seed)
        shape = tf.concat([tf.shape(real)[:1], tf.ones([tf.rank(real) - 1], tf.int32)], 0)
        eps = tf.random.stateless_uniform(shape, seed, dtype=real.dtype)
        x_hat = eps * real + (1.0 - eps) * fake
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            logits = d_fn(x_hat)
        grad = tape.gradient(logits, x_hat)
        norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=tf.range(1, tf.rank(grad))) + 1e-12)
        return self.gp_weight * tf.square(norm - 1.0)
