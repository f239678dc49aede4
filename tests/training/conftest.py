"""Helpers shared by the training tests: a tiny ring run."""
import pytest

from gran_tf import config
from gran_tf.training.trainer import Trainer
from gran_tf.training.updaters import BRC, Alternating, Proximal, Unrolled
from gran_tf.training.updaters.brc import lwcl_brc

# A ring run small enough for a unit test (batch 16, 8-unit MLPs).
# One step per call (the point configs ship loops of 50): tests that want loops ask for them.
TINY_RING = ["Trainer.batch_size = 16", "MLPGenerator.z_dim = 4", "MLPGenerator.hidden = (8,)",
             "MLPDiscriminator.hidden = (8,)", "Trainer.steps_per_loop = 1"]
# SGD at 0.05 for both players: unlike Adam, SGD is not invariant to the gradient's scale, so a
# wrong cross-replica loss scaling shows.
SGD = ["Trainer.g_optimizer = @g/keras.optimizers.SGD", "Trainer.d_optimizer = @d/keras.optimizers.SGD",
       "g/keras.optimizers.SGD.learning_rate = 0.05", "d/keras.optimizers.SGD.learning_rate = 0.05"]


# name -> (updater factory, D optimizer steps per training step)
UPDATERS = {
    "alternating": (lambda: Alternating(), 1),
    "alternating_n_disc2": (lambda: Alternating(n_disc=2), 2),
    "unrolled": (lambda: Unrolled(steps=2, inner_optimizer="sgd"), 1),
    "unrolled_sequential": (lambda: Unrolled(steps=2, inner_optimizer="sgd", objective="generator",
                                             simultaneous=False), 1),
    "proximal": (lambda: Proximal(steps=2, prox_weight=2.0), 1),
    # CG with λ = 0.1 keeps float32 rounding well below the tolerance; Neumann shares its
    # Hessian-vector products and mixed product, so it is covered by the cg case.
    **{f"brc_{name}": (lambda h=hessian, p=proximal: BRC(hessian=h, inner_steps=2, damping=0.1, solver_iters=3,
                                                         proximal=Proximal(steps=2, prox_weight=2.0) if p else None), 2)
       for name, hessian, proximal in [("outer_product", "outer_product", False), ("woodbury", "woodbury", False),
                                       ("cg", "cg", False), ("outer_product_proximal", "outer_product", True)]},
    # BRC as its authors run it: 1 committed D step + 2 look-ahead steps (their step count
    # committed, so 3 D optimizer iterations per step); ε large enough to matter
    "brc_lwcl": (lambda: lwcl_brc(look_ahead_steps=2, epsilon=1e-3, look_ahead_optimizer="sgd"), 3),
    "brc_lwcl_clip": (lambda: lwcl_brc(look_ahead_steps=None, inner_steps=2, coefficient_clip=0.1), 2),
    "brc_lwcl_look_ahead_only": (lambda: lwcl_brc(look_ahead_steps=2, look_ahead_optimizer="sgd", response=False), 3),
}


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


def pytest_generate_tests(metafunc):
    """A test taking ``updater_name`` runs once for each entry of ``UPDATERS``, unless it names
    its own entries with ``@pytest.mark.parametrize("updater_name", [...])``."""
    chosen = any("updater_name" in m.args[0] for m in metafunc.definition.iter_markers("parametrize"))
    if "updater_name" in metafunc.fixturenames and not chosen:
        metafunc.parametrize("updater_name", list(UPDATERS))


@pytest.fixture
def updater_case(updater_name):
    """(a factory of a fresh updater, D optimizer steps per training step) of ``updater_name``."""
    return UPDATERS[updater_name]
