"""Fully connected G and D for the point datasets (ring, grid, cube)."""
import keras
from keras import layers

from gran_tf.errors import ConfigError
from gran_tf.models.registry import configurable_model
from gran_tf.settings import check_settings, flag, integer, number, one_of, widths

ACTIVATIONS = ("relu", "tanh", "leaky_relu", "elu")


INITIALIZERS = ("orthogonal", "glorot_uniform", "torch_default")


def activation_layer(name, negative_slope=0.2):
    """``negative_slope`` is leaky ReLU's (Keras' default 0.2, PyTorch's 0.01)."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")
    return layers.LeakyReLU(negative_slope) if name == "leaky_relu" else layers.Activation(name)


def dense_initializers(name, gain, fan_in):
    """(kernel, bias) initializers. "torch_default" is PyTorch's nn.Linear: weights and biases
    U(−1/√fan_in, 1/√fan_in); the others leave biases at zero (``gain`` scales "orthogonal")."""
    if name == "orthogonal":
        return keras.initializers.Orthogonal(gain=gain), "zeros"
    if name == "glorot_uniform":
        return keras.initializers.GlorotUniform(), "zeros"
    if name == "torch_default":
        bound = 1.0 / fan_in ** 0.5
        return keras.initializers.RandomUniform(-bound, bound), keras.initializers.RandomUniform(-bound, bound)
    raise ConfigError(f"unknown initializer {name!r}; expected one of {INITIALIZERS}")


def check_mlp_settings(owner, hidden, activation, init, gain, negative_slope, **more):
    """The settings an MLP generator and discriminator share, and ``more`` of its own."""
    check_settings(owner, hidden=(widths, hidden), activation=(one_of(*ACTIVATIONS), activation),
                   init=(one_of(*INITIALIZERS), init), gain=(number(above=0), gain),
                   negative_slope=(number(minimum=0), negative_slope), **more)


def output_dtype():
    """The output layer's dtype: under a mixed policy the variables' (float32: points and logits,
    hence the losses, stay float32), else the policy's own (float64 in the gradient checks)."""
    policy = keras.config.dtype_policy()
    return policy.variable_dtype if policy.compute_dtype != policy.variable_dtype else None


def mlp_layers(in_dim, hidden, out_dim, activation, init, gain, negative_slope, head_widening=1):
    """Dense + activation per hidden width, then a linear output layer; ``head_widening``: how
    many times wider the output layer's input is than the last hidden layer (BRC-Rf's stats)."""
    stack, fan_in = [], in_dim
    for i, width in enumerate(hidden):
        kernel, bias = dense_initializers(init, gain, fan_in)
        stack += [layers.Dense(width, kernel_initializer=kernel, bias_initializer=bias, name=f"dense{i}"),
                  activation_layer(activation, negative_slope)]
        fan_in = width
    kernel, bias = dense_initializers(init, gain, fan_in * head_widening)
    stack.append(layers.Dense(out_dim, kernel_initializer=kernel, bias_initializer=bias, name="out",
                              dtype=output_dtype()))
    return stack


@configurable_model
class MLPGenerator(keras.Model):
    """x = MLP(z): linear output in data space (2-D ring/grid, 3-D cube)."""

    out_activation = None  # linear: the samples are points in R^D

    def __init__(self, image_shape=(2,), z_dim=256, hidden=(128, 128), activation="relu",
                 init="orthogonal", gain=0.8, negative_slope=0.2, name="generator", **kw):
        super().__init__(name=name, **kw)
        check_mlp_settings("MLPGenerator", hidden, activation, init, gain, negative_slope, z_dim=(integer(1), z_dim))
        self.image_shape, self.z_dim, self.hidden = tuple(image_shape), int(z_dim), tuple(hidden)
        self.activation, self.init, self.gain, self.negative_slope = activation, init, gain, float(negative_slope)
        self.net = keras.Sequential(mlp_layers(self.z_dim, hidden, self.image_shape[-1], activation, init, gain,
                                               self.negative_slope), name="net")
        self.net.build((None, self.z_dim))
        self.built = True

    @property
    def z_shape(self):
        return (self.z_dim,)

    def call(self, z, training=False):
        return self.net(z, training=training)

    def get_config(self):
        return dict(image_shape=self.image_shape, z_dim=self.z_dim, hidden=self.hidden,
                    activation=self.activation, init=self.init, gain=self.gain,
                    negative_slope=self.negative_slope, name=self.name)


@configurable_model
class MLPDiscriminator(keras.Model):
    """logit = w · [h, stats] + b, h = MLP features of input_scale · x.

    ``feature_stats=True`` is BRC-Rf (BRC paper §3.1, reconstructed: its equation was lost):
    the classification layer also sees the mean and variance over the batch of the features
    h, so a batch of fakes with the wrong spread of features is told apart from real data.
    """

    def __init__(self, image_shape=(2,), hidden=(128,), activation="relu", input_scale=1.0,
                 init="orthogonal", gain=0.8, feature_stats=False, negative_slope=0.2, name="discriminator", **kw):
        super().__init__(name=name, **kw)
        check_mlp_settings("MLPDiscriminator", hidden, activation, init, gain, negative_slope,
                           input_scale=(number(above=0), input_scale), feature_stats=(flag, feature_stats))
        self.image_shape, self.hidden, self.activation = tuple(image_shape), tuple(hidden), activation
        self.input_scale, self.init, self.gain = float(input_scale), init, gain
        self.feature_stats, self.negative_slope = bool(feature_stats), float(negative_slope)
        *features, head = mlp_layers(self.image_shape[-1], hidden, 1, activation, init, gain, self.negative_slope,
                                     head_widening=3 if self.feature_stats else 1)
        self.features = keras.Sequential(features, name="features")
        self.head = head
        self.features.build((None, *self.image_shape))
        width = self.hidden[-1] if self.hidden else self.image_shape[-1]
        self.head.build((None, width * (3 if self.feature_stats else 1)))
        self.built = True

    def call(self, x, training=False):
        h = self.features(x * self.input_scale, training=training)
        if self.feature_stats:
            h = keras.ops.concatenate([h, *batch_feature_stats(h)], axis=-1)
        return keras.ops.squeeze(self.head(h), -1)

    def get_config(self):
        return dict(image_shape=self.image_shape, hidden=self.hidden, activation=self.activation,
                    input_scale=self.input_scale, init=self.init, gain=self.gain,
                    feature_stats=self.feature_stats, negative_slope=self.negative_slope, name=self.name)


def batch_feature_stats(h):
    """The batch mean and variance of features h [B, F], each broadcast back to [B, F]."""
    mean = keras.ops.mean(h, axis=0, keepdims=True)
    var = keras.ops.mean(keras.ops.square(h - mean), axis=0, keepdims=True)
    ones = keras.ops.ones_like(h)
    return mean * ones, var * ones
