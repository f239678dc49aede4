"""Spectral normalisation as Miyato et al. (2018) define it: a reparametrisation W_SN = W/σ(W).

Keras's ``layers.SpectralNormalization`` instead assigns W/σ back into the trainable kernel on
each training call (a projection) and so never differentiates through σ(W).
"""
import keras
from keras import layers, ops

from gran_tf.errors import ConfigError

SUPPORTED_LAYERS = (layers.Dense, layers.Conv2D)


def l2_normalise(x, eps):
    """x/(‖x‖₂ + ε), the ``_l2normalize`` of Miyato et al.'s code."""
    return x / (ops.sqrt(ops.sum(ops.square(x))) + eps)


def power_iteration(w, u, steps, eps):
    """``steps`` rounds of Miyato et al.'s Algorithm 1 on w [in, out] from u [1, out].

    v ← uwᵀ/‖uwᵀ‖, u ← vw/‖vw‖; returns (u, v), both [1, ·], the top singular vector estimates.
    """
    for _ in range(steps):
        v = l2_normalise(ops.matmul(u, ops.transpose(w)), eps)
        u = l2_normalise(ops.matmul(v, w), eps)
    return u, v


@keras.saving.register_keras_serializable("gran_tf")
class SpectralNorm(layers.Wrapper):
    """A Dense or Conv2D layer evaluated with W_SN = W/σ(W) (Miyato et al. 2018, eq. 8).

    W is the wrapped layer's trainable kernel, read as a matrix [-1, out], and is never
    reassigned. σ(W) = vᵀWu (Algorithm 1) with u, v from ``power_iteration`` steps started at
    the non-trainable u [1, out] and held constant (stop_gradient), so the gradient flows
    through σ(W) as in eq. (12): ∂/∂W of W/(vᵀWu) with u, v fixed.

    Every call runs the power iteration from the stored u, as Miyato et al.'s code does; only
    ``training=True`` assigns the result back to u. In ``stateless_call`` u is part of the
    non-trainable state, so the new u comes back there and the variable is untouched. Under
    tf.distribute u is a mirrored variable with the default aggregation: every replica
    computes u from the same mirrored W and u, so the replicas assign the same value.
    """

    def __init__(self, layer, power_iterations=1, eps=1e-12, **kw):
        if type(layer) not in SUPPORTED_LAYERS:
            raise ConfigError(f"SpectralNorm wraps Dense or Conv2D layers, not {type(layer).__name__}")
        if int(power_iterations) < 1:
            raise ConfigError(f"SpectralNorm needs power_iterations >= 1, got {power_iterations}")
        kw.setdefault("dtype", layer.dtype_policy)
        super().__init__(layer, **kw)
        self.power_iterations, self.eps = int(power_iterations), float(eps)

    def build(self, input_shape):
        super().build(input_shape)
        out = self.layer.kernel.shape[-1]
        normal = keras.initializers.RandomNormal(stddev=1.0)  # seeded by keras.utils.set_random_seed
        self.u = self.add_weight(
            shape=(1, out), name="u", trainable=False,
            initializer=lambda shape, dtype: l2_normalise(normal(shape, dtype), self.eps),
        )

    def call(self, inputs, training=False):
        kernel = self.layer.kernel
        w = ops.reshape(kernel, (-1, kernel.shape[-1]))
        u, v = power_iteration(w, self.u, self.power_iterations, self.eps)
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        if training:
            self.u.assign(u)
        sigma = ops.sum(ops.matmul(v, w) * u)  # σ(W) ≈ vᵀWu (Algorithm 1)
        return self.apply_wrapped(inputs, kernel / sigma)  # W_SN = W/σ(W) (eq. 8)

    def apply_wrapped(self, x, kernel):
        """The wrapped layer's own computation, with ``kernel`` in place of its kernel."""
        layer = self.layer
        channels_first = isinstance(layer, layers.Conv2D) and layer.data_format == "channels_first"
        y = layer.convolution_op(x, kernel) if isinstance(layer, layers.Conv2D) else ops.matmul(x, kernel)
        if layer.use_bias:
            y = y + (ops.reshape(layer.bias, (-1, 1, 1)) if channels_first else layer.bias)
        return y if layer.activation is None else layer.activation(y)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations, "eps": self.eps}
