"""GRAN: the generative recurrent adversarial network's generator (Im et al. 2016, §3.1).

For t = 1..T (Algorithm 1):
    z_t ~ p(Z)                          (5)  once, or fresh every step (``z_mode``)
    h_c,t = g(ΔC_{t-1}),  h_c,1 = 0     (6)
    h_z,t = tanh(W z_t + b)             (7)
    ΔC_t  = f([h_z,t, h_c,t])           (8)
C = σ(Σ_t ΔC_t)                         (9)
f is a DCGAN decoder, g its mirror-image encoder (optionally with tied conv kernels).
"""
import gin
import keras
import tensorflow as tf
from keras import layers

from gran_tf.errors import ConfigError
from gran_tf.models.registry import configurable_model
from gran_tf.models.dcgan import Decoder, Encoder
from gran_tf.settings import check_settings, flag, integer, optional, widths

Z_MODES = ("shared", "per_step")

# Fig. 29 of the paper: kernels bottom→top, 5x5 filters, |z|.
ARCHITECTURES = {
    "mnist": dict(image_shape=(28, 28, 1), kernels=(80, 40, 1), z_dim=60),
    "cifar10": dict(image_shape=(32, 32, 3), kernels=(1024, 512, 216, 3), z_dim=100),
    "lsun": dict(image_shape=(64, 64, 3), kernels=(1024, 512, 216, 128, 3), z_dim=100),
    # ImageNet 64x64: the LSUN architecture with 3x the kernels.
    "imagenet64": dict(image_shape=(64, 64, 3), kernels=(3072, 1536, 648, 384, 3), z_dim=100),
}


@gin.configurable
def gran_architecture(name):
    """The paper's kernel/z table for ``name`` (mnist, cifar10, lsun, imagenet64)."""
    if name not in ARCHITECTURES:
        raise ConfigError(f"unknown GRAN architecture {name!r}; expected one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


@configurable_model
class GRANGenerator(keras.Model):
    """C = σ(Σ_{t=1..T} ΔC_t) with ΔC_t = f([tanh(W z_t + b), g(ΔC_{t-1})]).

    Input z has shape [B, z_dim] for ``z_mode="shared"`` and [B, T, z_dim] for ``"per_step"``
    (``z_shape`` tells which). ``call(z, return_canvases=True)`` also returns the canvases
    σ(Σ_{s<=t} ΔC_s) for t = 1..T, shaped [T, B, H, W, C].
    """

    out_activation = "sigmoid"  # the canvas C = σ(Σ ΔC_t), Eq. 9: [0, 1] images

    def __init__(self, image_shape=(28, 28, 1), kernels=(80, 40, 1), z_dim=60, steps=3,
                 z_mode="shared", hz_dim=None, hc_dim=None, filter_size=5, tied_weights=False,
                 name="generator", **kw):
        super().__init__(name=name, **kw)
        if z_mode not in Z_MODES:
            raise ConfigError(f"unknown z_mode {z_mode!r}; expected one of {Z_MODES}")
        check_settings("GRANGenerator", kernels=(widths, kernels), z_dim=(integer(1), z_dim), steps=(integer(1), steps),
                       hz_dim=(optional(integer(1)), hz_dim), hc_dim=(optional(integer(1)), hc_dim),
                       filter_size=(integer(1), filter_size), tied_weights=(flag, tied_weights))
        self.image_shape, self.kernels = tuple(image_shape), tuple(kernels)
        self.z_dim, self.steps, self.z_mode = int(z_dim), int(steps), z_mode
        self.hz_dim = int(hz_dim or z_dim)
        self.hc_dim = int(hc_dim or z_dim)
        self.filter_size, self.tied_weights = filter_size, bool(tied_weights)
        self.w_z = layers.Dense(self.hz_dim, activation="tanh", name="w_z")  # Eq. 7
        # f and g run inside a tf.while_loop, where TF cannot synchronise BN statistics
        # across replicas: under a multi-replica strategy their BN uses per-replica batches.
        self.f = Decoder(image_shape, kernels, filter_size, sync_bn=False, name="f")  # Eq. 8
        self.g = Encoder(image_shape, kernels, self.hc_dim, filter_size, out_activation="tanh",
                         sync_bn=False, tied=self.f if tied_weights else None, name="g")  # Eq. 6
        self.build((None, *self.z_shape))

    @property
    def z_shape(self):
        return (self.z_dim,) if self.z_mode == "shared" else (self.steps, self.z_dim)

    def build(self, input_shape):
        # Variables must exist before the tf.while_loop body runs.
        self.w_z.build((None, self.z_dim))
        self.f.build((None, self.hz_dim + self.hc_dim))
        self.g.build((None, *self.image_shape))
        self.built = True

    def _h_z(self, z, t):
        z_t = z if self.z_mode == "shared" else z[:, t]  # Eq. 5
        return self.w_z(z_t)

    def call(self, z, training=False, return_canvases=False):
        batch = tf.shape(z)[0]
        h_z_shared = self._h_z(z, 0) if self.z_mode == "shared" else None

        def body(t, total, delta_prev, canvases):
            h_c = tf.cond(
                t > 0,
                lambda: self.g(delta_prev, training=training),
                lambda: tf.zeros([batch, self.hc_dim], delta_prev.dtype),  # h_c,1 = 0
            )
            h_z = h_z_shared if h_z_shared is not None else self._h_z(z, t)
            delta = self.f(tf.concat([h_z, h_c], axis=-1), training=training)
            total = total + tf.cast(delta, total.dtype)
            return t + 1, total, delta, canvases.write(t, tf.sigmoid(total))

        # The sum Σ ΔC_t is kept in the variables' dtype (float32 under mixed_bfloat16 too).
        shape = tf.concat([[batch], self.image_shape], 0)
        total, delta = tf.zeros(shape, self.variable_dtype), tf.zeros(shape, self.compute_dtype)
        canvases = tf.TensorArray(self.variable_dtype, size=self.steps, element_shape=[None, *self.image_shape])
        _, total, _, canvases = tf.while_loop(
            lambda t, *_: t < self.steps, body, (tf.constant(0), total, delta, canvases),
            maximum_iterations=self.steps,
        )
        image = tf.sigmoid(total)  # Eq. 9
        return (image, canvases.stack()) if return_canvases else image

    def get_config(self):
        return dict(image_shape=self.image_shape, kernels=self.kernels, z_dim=self.z_dim,
                    steps=self.steps, z_mode=self.z_mode, hz_dim=self.hz_dim, hc_dim=self.hc_dim,
                    filter_size=self.filter_size, tied_weights=self.tied_weights, name=self.name)
