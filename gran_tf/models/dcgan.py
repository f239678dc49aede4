"""DCGAN building blocks: the up-sampling decoder, the strided-conv encoder, G and D.

The decoder is GRAN's f (one fully connected layer, then fractionally strided convolutions)
and the encoder its mirror image g (strided convolutions, then a fully connected layer);
a DCGAN generator is a decoder fed z directly (GRAN paper §3.1, Fig. 29).
"""
import functools

import keras
import tensorflow as tf
from keras import layers

from gran_tf.errors import ConfigError
from gran_tf.models.registry import configurable_model
from gran_tf.models.spectral_norm import SpectralNorm
from gran_tf.settings import check_settings, flag, integer, number, widths


def batch_norm(name=None, synchronized=True):
    # synchronized: batch statistics over the global batch under tf.distribute, so a
    # mirrored run makes the same update as one device; a no-op without a strategy.
    return layers.BatchNormalization(synchronized=synchronized, momentum=0.9, epsilon=1e-5, name=name)


def start_size(image_shape, kernels):
    """Spatial size before the first transposed conv: image size / 2^(#upsamplings)."""
    n_up = len(kernels) - 1
    size = image_shape[0] / 2**n_up
    if image_shape[0] != image_shape[1] or size != int(size) or size < 1:
        raise ConfigError(
            f"image shape {tuple(image_shape)} cannot be reached from kernels {list(kernels)} "
            f"by {n_up} stride-2 upsamplings"
        )
    if kernels[-1] != image_shape[-1]:
        raise ConfigError(f"last kernel count {kernels[-1]} != image channels {image_shape[-1]}")
    return int(size)


def build_by_calling(model, input_shape):
    """Creates a subclassed model's variables by running it once on zeros (graph-safe later)."""
    model.call(keras.ops.zeros((1, *input_shape[1:])))
    model.built = True


def spectrally_normalised(layer, on):
    """``layer`` inside SpectralNorm when ``on``: evaluated with W/σ(W) (Miyato et al. 2018, eq. 8).

    Each training call takes one power-iteration step on the non-trainable u (Algorithm 1) and
    the gradient flows through σ(W); the kernel variable itself is never rescaled.
    """
    return SpectralNorm(layer, name=f"sn_{layer.name}") if on else layer


def strided_conv_stack(x, convs, bns, leak, training):
    """conv → BN (where present) → LeakyReLU, layer by layer (g and D share this shape)."""
    for conv, bn in zip(convs, bns):
        x = conv(x, training=training)
        if bn is not None:
            x = bn(x, training=training)
        x = keras.activations.leaky_relu(x, leak)
    return x


class Decoder(keras.Model):
    """f: FC to s x s x k0 (BN, ReLU), then 5x5 stride-2 transposed convs k0 → ... → channels.

    Hidden layers use BN + ReLU; the last layer is linear (the caller applies σ or tanh).
    ``sync_bn=False`` keeps per-replica BN statistics (needed inside a tf.while_loop, where
    TF cannot synchronise replicas).
    """

    def __init__(self, image_shape, kernels, filter_size=5, use_bn=True, sync_bn=True, name="decoder", **kw):
        super().__init__(name=name, **kw)
        self.image_shape = tuple(image_shape)
        self.kernels = list(kernels)
        s = start_size(image_shape, kernels)
        self.fc = layers.Dense(s * s * kernels[0], name="fc")
        self.fc_bn = batch_norm("fc_bn", sync_bn) if use_bn else None
        self.reshape = layers.Reshape((s, s, kernels[0]))
        self.deconvs, self.bns = [], []
        for i, k in enumerate(kernels[1:]):
            self.deconvs.append(
                layers.Conv2DTranspose(k, filter_size, strides=2, padding="same", name=f"deconv{i}")
            )
            last = i == len(kernels) - 2
            self.bns.append(batch_norm(f"bn{i}", sync_bn) if use_bn and not last else None)

    def build(self, input_shape):
        build_by_calling(self, input_shape)

    def call(self, h, training=False):
        x = self.fc(h)
        if self.fc_bn is not None:
            x = self.fc_bn(x, training=training)
        x = self.reshape(keras.activations.relu(x))
        for i, (deconv, bn) in enumerate(zip(self.deconvs, self.bns)):
            x = deconv(x)
            if i < len(self.deconvs) - 1:
                if bn is not None:
                    x = bn(x, training=training)
                x = keras.activations.relu(x)
        return x


class Encoder(keras.Model):
    """g: 5x5 stride-2 convs (LeakyReLU, BN after the first), then an FC layer.

    With ``tied=decoder``, conv i reuses the kernel of the decoder's mirror transposed conv
    (a Conv2DTranspose k_i→k_{i+1} kernel has shape (5, 5, k_{i+1}, k_i), exactly the shape of a
    Conv2D k_{i+1}→k_i kernel), keeping its own biases.
    """

    def __init__(self, image_shape, kernels, out_dim, filter_size=5, out_activation=None,
                 use_bn=True, sync_bn=True, tied=None, name="encoder", **kw):
        super().__init__(name=name, **kw)
        self.filters = list(reversed(kernels[:-1]))  # channels → ... → k0
        self.tied = tied
        self.convs, self.bns = [], []
        for i, k in enumerate(self.filters):
            if tied is None:
                self.convs.append(layers.Conv2D(k, filter_size, strides=2, padding="same", name=f"conv{i}"))
            else:
                self.convs.append(TiedConv2D(tied.deconvs[len(self.filters) - 1 - i], name=f"tied_conv{i}"))
            self.bns.append(batch_norm(f"bn{i}", sync_bn) if use_bn and i > 0 else None)
        self.flatten = layers.Flatten()
        self.fc = layers.Dense(out_dim, activation=out_activation, name="fc")

    def build(self, input_shape):
        build_by_calling(self, input_shape)

    def call(self, x, training=False):
        return self.fc(self.flatten(strided_conv_stack(x, self.convs, self.bns, 0.2, training)))


class TiedConv2D(layers.Layer):
    """A stride-2 conv whose kernel is a transposed conv's kernel (GRAN's tied f/g weights)."""

    def __init__(self, deconv, **kw):
        super().__init__(**kw)
        self.deconv = deconv

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(self.deconv.kernel.shape[-1],), initializer="zeros", name="bias")

    def call(self, x):
        y = keras.ops.conv(x, self.deconv.kernel, strides=2, padding="same")
        return y + self.bias


OUTPUT_ACTIVATIONS = {"sigmoid": keras.activations.sigmoid, "tanh": keras.activations.tanh, "linear": None}


def keras_activation(setting, name):
    """A Keras activation's name (``keras.activations.get`` knows it)."""
    try:
        keras.activations.get(name)
    except (ValueError, TypeError):
        raise ConfigError(f"{setting} must name a Keras activation, got {name!r}") from None
    return name


def activation_fn(name):
    if name not in OUTPUT_ACTIVATIONS:
        raise ConfigError(f"unknown output activation {name!r}; expected one of {sorted(OUTPUT_ACTIVATIONS)}")
    return OUTPUT_ACTIVATIONS[name]


@configurable_model
class DCGANGenerator(keras.Model):
    """x = act(f(z)), z ~ N(0, I); ``out_activation="sigmoid"`` for [0, 1] data, ``"tanh"`` for [-1, 1]."""

    def __init__(self, image_shape=(28, 28, 1), kernels=(80, 40, 1), z_dim=60, filter_size=5,
                 out_activation="sigmoid", name="generator", **kw):
        super().__init__(name=name, **kw)
        check_settings("DCGANGenerator", kernels=(widths, kernels), z_dim=(integer(1), z_dim),
                       filter_size=(integer(1), filter_size))
        self.image_shape, self.kernels, self.z_dim = tuple(image_shape), tuple(kernels), int(z_dim)
        self.filter_size, self.out_activation = filter_size, out_activation
        self.act = activation_fn(out_activation)
        self.decoder = Decoder(image_shape, kernels, filter_size)
        self.build((None, self.z_dim))

    def build(self, input_shape):
        self.decoder.build(input_shape)
        self.built = True

    @property
    def z_shape(self):
        return (self.z_dim,)

    def call(self, z, training=False):
        x = self.decoder(z, training=training)
        x = x if self.act is None else self.act(x)
        return tf.cast(x, self.variable_dtype)  # float32 images under mixed_bfloat16 too

    def get_config(self):
        return dict(image_shape=self.image_shape, kernels=self.kernels, z_dim=self.z_dim,
                    filter_size=self.filter_size, out_activation=self.out_activation, name=self.name)


@configurable_model
class DCGANDiscriminator(keras.Model):
    """Strided 5x5 convs (LeakyReLU 0.2, BN after the first), optional FC hidden layer, one logit.

    ``kernels`` are listed input-side first, e.g. (64, 128, 256) for 3 conv layers.
    ``spectral_norm=True`` wraps every conv and dense layer in spectral normalisation (SNGAN;
    Miyato et al.'s discriminators have no BN, so pair it with ``use_bn=False``).
    """

    def __init__(self, image_shape=(28, 28, 1), kernels=(40, 80), filter_size=5, hidden=0,
                 hidden_activation="tanh", use_bn=True, leak=0.2, spectral_norm=False, name="discriminator",
                 **kw):
        super().__init__(name=name, **kw)
        check_settings("DCGANDiscriminator", kernels=(widths, kernels), filter_size=(integer(1), filter_size),
                       hidden=(integer(0), hidden), hidden_activation=(keras_activation, hidden_activation),
                       use_bn=(flag, use_bn), leak=(number(minimum=0, below=1), leak),
                       spectral_norm=(flag, spectral_norm))
        self.image_shape, self.kernels = tuple(image_shape), tuple(kernels)
        self.filter_size, self.hidden, self.hidden_activation = filter_size, hidden, hidden_activation
        self.use_bn, self.leak, self.spectral_norm = use_bn, leak, bool(spectral_norm)
        sn = functools.partial(spectrally_normalised, on=self.spectral_norm)
        self.convs = [sn(layers.Conv2D(k, filter_size, strides=2, padding="same", name=f"conv{i}"))
                      for i, k in enumerate(kernels)]
        self.bns = [batch_norm(f"bn{i}") if use_bn and i > 0 else None for i in range(len(kernels))]
        self.flatten = layers.Flatten()
        self.fc = sn(layers.Dense(hidden, activation=hidden_activation, name="fc")) if hidden else None
        # float32 logits under any policy: the losses stay float32 with mixed_bfloat16.
        self.logit = sn(layers.Dense(1, name="logit", dtype="float32"))
        self.build((None, *self.image_shape))

    def build(self, input_shape):
        build_by_calling(self, input_shape)

    def call(self, x, training=False):
        x = self.flatten(strided_conv_stack(x, self.convs, self.bns, self.leak, training))
        if self.fc is not None:
            x = self.fc(x, training=training)
        return keras.ops.squeeze(self.logit(x, training=training), -1)

    def get_config(self):
        return dict(image_shape=self.image_shape, kernels=self.kernels, filter_size=self.filter_size,
                    hidden=self.hidden, hidden_activation=self.hidden_activation, use_bn=self.use_bn,
                    leak=self.leak, spectral_norm=self.spectral_norm, name=self.name)

