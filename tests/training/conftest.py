"""Helpers shared by the training tests: a tiny ring run."""
import pytest

from gran_tf import config
from gran_tf.training.trainer import Trainer

# A ring run small enough for a unit test (batch 16, 8-unit MLPs).
TINY_RING = ["Trainer.batch_size = 16", "MLPGenerator.z_dim = 4", "MLPGenerator.hidden = (8,)",
             "MLPDiscriminator.hidden = (8,)"]
# SGD at 0.05 for both players: unlike Adam, SGD is not invariant to the gradient's scale, so a
# wrong cross-replica loss scaling shows.
SGD = ["Trainer.g_optimizer = @g/keras.optimizers.SGD", "Trainer.d_optimizer = @d/keras.optimizers.SGD",
       "g/keras.optimizers.SGD.learning_rate = 0.05", "d/keras.optimizers.SGD.learning_rate = 0.05"]


def tiny_ring_factory(tmp_path, sgd):
    def make(name, params=(), gin_file="ring", **kw):
        config.parse([gin_file], TINY_RING + (SGD if sgd else []) + list(params))
        return Trainer(model_dir=str(tmp_path / name), **kw)
    return make


@pytest.fixture
def ring_trainer(tmp_path):
    """``ring_trainer(name, params=(), gin_file="ring", **trainer_kwargs)``: a Trainer of the tiny
    ring (Adam, as in ring.gin) in ``tmp_path/name``, with extra gin ``params``."""
    return tiny_ring_factory(tmp_path, sgd=False)


@pytest.fixture
def sgd_ring_trainer(tmp_path):
    """``ring_trainer`` with SGD for both players."""
    return tiny_ring_factory(tmp_path, sgd=True)
