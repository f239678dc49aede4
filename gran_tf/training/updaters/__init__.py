"""Generator-update rules. A new rule is one file here plus its gin line."""
from gran_tf.training.updaters.alternating import Alternating
from gran_tf.training.updaters.base import GANState, Updater

__all__ = ["Alternating", "GANState", "Updater"]
