"""``Logits``: a discriminator ending in ``Dense(1)`` (logits [B, 1], as in keras-io's GANs) seen
as gran_tf's discriminators are, with logits of shape [B]; the network's weights are its own."""
import keras


@keras.saving.register_keras_serializable(package="gran_tf")
class Logits(keras.Model):
    def __init__(self, network, name=None, **kwargs):
        super().__init__(name=name or network.name, **kwargs)
        self.network = network

    def call(self, x, training=False):
        return keras.ops.squeeze(self.network(x, training=training), axis=-1)

    def get_config(self):
        return {**super().get_config(), "network": keras.saving.serialize_keras_object(self.network)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        network = keras.saving.deserialize_keras_object(config.pop("network"))
        return cls(network, **{k: v for k, v in config.items() if k in ("name",)})


def as_logits(discriminator, example):
    """``discriminator`` itself when it maps ``example`` to [B] logits; wrapped in ``Logits``
    when to [B, 1]; a ValueError for any other output shape."""
    shape = tuple(discriminator(example).shape)
    if len(shape) == 1:
        return discriminator
    if len(shape) == 2 and shape[1] == 1:
        logits = Logits(discriminator)
        logits(example)  # built, as Keras' stateless calls need
        return logits
    raise ValueError(f"discriminator {discriminator.name!r} gives outputs of shape {shape}; "
                     "expected logits of shape [B] or [B, 1]")
