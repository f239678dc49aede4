"""gran_tf: GRAN generators, game-aware GAN training and quantitative GAN evaluation."""

__version__ = "0.1.0"
