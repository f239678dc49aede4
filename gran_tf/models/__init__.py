"""Networks: GRAN and DCGAN for images, MLPs for point data.

Every generator exposes ``z_shape`` (the shape of one latent sample, [z_dim] or
[T, z_dim] for GRAN with per-step z) and maps z to data space; every discriminator maps a
batch to logits of shape [B].
"""
from gran_tf.errors import ConfigError
from gran_tf.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gran_tf.models.gran import GRANGenerator, gran_architecture
from gran_tf.models.logits import Logits
from gran_tf.models.lstm import LSTMGenerator
from gran_tf.models.mlp import MLPDiscriminator, MLPGenerator

# A generator's ``out_activation`` -> the range of its samples.
OUTPUT_RANGES = {"sigmoid": "unit", "tanh": "symmetric", None: "real", "linear": "real"}


def output_range(generator):
    """"unit" ([0, 1], sigmoid), "symmetric" ([-1, 1], tanh) or "real" (linear) samples."""
    activation = getattr(generator, "out_activation", None)
    if activation not in OUTPUT_RANGES:
        raise ConfigError(f"{type(generator).__name__}.out_activation {activation!r} has no known range; "
                          f"expected one of {[a for a in OUTPUT_RANGES if a]}")
    return OUTPUT_RANGES[activation]


__all__ = ["DCGANDiscriminator", "DCGANGenerator", "GRANGenerator", "LSTMGenerator", "Logits",
           "MLPDiscriminator", "MLPGenerator", "OUTPUT_RANGES", "gran_architecture", "output_range"]
