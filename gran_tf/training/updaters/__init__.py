"""Generator-update rules. A new rule is one file here plus its gin line."""
from gran_tf.training.updaters.alternating import Alternating
from gran_tf.training.updaters.base import GANState, Updater
from gran_tf.training.updaters.brc import BRC
from gran_tf.training.updaters.proximal import Proximal
from gran_tf.training.updaters.unrolled import Unrolled

__all__ = ["Alternating", "BRC", "GANState", "Proximal", "Unrolled", "Updater"]
