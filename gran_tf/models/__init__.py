"""Networks: GRAN and DCGAN for images, MLPs for point data.

Every generator exposes ``z_shape`` (the shape of one latent sample, [z_dim] or
[T, z_dim] for GRAN with per-step z) and maps z to data space; every discriminator maps a
batch to logits of shape [B].
"""
from gran_tf.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gran_tf.models.gran import GRANGenerator, gran_architecture
from gran_tf.models.lstm import LSTMGenerator
from gran_tf.models.mlp import MLPDiscriminator, MLPGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "GRANGenerator", "LSTMGenerator",
           "MLPDiscriminator", "MLPGenerator", "gran_architecture"]
