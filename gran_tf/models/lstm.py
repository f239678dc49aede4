"""The Unrolled GAN paper's "pathological" recurrent generator (Metz et al. 2017, §3.2, app. C).

An LSTM writes an image one column per step (W = 28 steps for MNIST): z sets its initial
state, and each step's hidden state is projected to one column of H·C pixels. It is trained
against a convolutional discriminator, a mismatched pair that collapses without unrolling.
"""
import keras
from keras import layers

from gran_tf.errors import ConfigError
from gran_tf.models.dcgan import activation_fn, build_by_calling
from gran_tf.models.registry import configurable_model
from gran_tf.settings import check_settings, integer

class ColumnCell(layers.Layer):
    """One drawing step: (h, c) ← LSTM(x_{t-1}, (h, c)); x_t = act(W_out h + b_out).

    The state carries the last emitted column x_{t-1} (zeros before the first), which is the
    LSTM's input: the image is autoregressive over columns. The per-step RNN input is unused
    (its length only sets the number of steps).
    """

    def __init__(self, units, column_size, out_activation, **kw):
        super().__init__(**kw)
        self.column_size, self.act = column_size, activation_fn(out_activation)
        # Appendix C: all weights Xavier-initialised, LSTM forget bias 1.
        self.lstm = layers.LSTMCell(units, recurrent_initializer="glorot_uniform",
                                    unit_forget_bias=True, name="lstm")
        self.out = layers.Dense(column_size, name="out")
        self.state_size = [units, units, column_size]
        self.output_size = column_size

    def build(self, input_shape):
        self.lstm.build((None, self.column_size))
        self.out.build((None, self.lstm.units))

    def call(self, _, states):
        h, c, previous_column = states
        h, (h, c) = self.lstm(previous_column, [h, c])
        column = self.out(h)
        if self.act is not None:
            column = self.act(column)
        return column, [h, c, column]

@configurable_model
class LSTMGenerator(keras.Model):
    """x = the W columns an LSTM emits from z (Unrolled GAN paper's MNIST RNN generator).

    Appendix C: z → fully connected ``units`` with ReLU → the LSTM's initial state; the LSTM
    (``units`` wide) runs W = image_shape[1] steps; every step's activation is projected by a
    fully connected layer to one column (H·C outputs) with tanh; Xavier init, forget bias 1.
    The paper does not say what the LSTM reads at each step; here it reads the column it
    emitted at the previous step (zeros at t = 0), so column t is a deterministic function of
    z and columns < t. The one ReLU layer's output s is used as both h_0 and c_0.
    ``out_activation`` "tanh" for [-1, 1] data (the paper), "sigmoid" for [0, 1].
    """

    def __init__(self, image_shape=(28, 28, 1), z_dim=256, units=256, out_activation="tanh",
                 name="generator", **kw):
        super().__init__(name=name, **kw)
        check_settings("LSTMGenerator", z_dim=(integer(1), z_dim), units=(integer(1), units))
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ConfigError(f"LSTMGenerator needs image_shape (height, width, channels), got {image_shape}")
        self.image_shape, self.z_dim, self.units = tuple(image_shape), int(z_dim), int(units)
        self.out_activation = out_activation
        height, _, channels = self.image_shape
        self.initial_state = layers.Dense(self.units, activation="relu", name="initial_state")
        self.columns = layers.RNN(ColumnCell(self.units, height * channels, out_activation, name="cell"),
                                  return_sequences=True, name="columns")
        self.build((None, self.z_dim))

    def build(self, input_shape):
        build_by_calling(self, input_shape)

    @property
    def z_shape(self):
        return (self.z_dim,)

    def call(self, z, training=False):
        height, width, channels = self.image_shape
        batch = keras.ops.shape(z)[0]
        s = self.initial_state(z)
        steps = keras.ops.zeros((batch, width, 0), dtype=s.dtype)  # only its length W is read
        no_column = keras.ops.zeros((batch, height * channels), dtype=s.dtype)
        columns = self.columns(steps, initial_state=[s, s, no_column], training=training)  # [B, W, H·C]
        columns = keras.ops.reshape(columns, (-1, width, height, channels))
        return keras.ops.transpose(columns, (0, 2, 1, 3))  # [B, H, W, C]

    def get_config(self):
        return dict(image_shape=self.image_shape, z_dim=self.z_dim, units=self.units,
                    out_activation=self.out_activation, name=self.name)

