"""Every updater, and a batch-normalised DCGAN, under MirroredStrategy over two CPUs gives the
numbers of one device."""
import numpy as np
import pytest
import tensorflow as tf

from gran_tf import config
from gran_tf.distribute import make_strategy
from gran_tf.training.trainer import Trainer
from gran_tf.training.updaters import BRC, Alternating, Proximal, Unrolled
from gran_tf.training.updaters.brc import lwcl_brc

STEPS = 2
# GRAN's f and g keep per-replica BN statistics (no cross-replica sync inside a while loop), so
# the exact equivalence of a conv model is checked on DCGAN, whose BN layers are synchronised.
DCGAN_MNIST = ["Trainer.batch_size = 8", "Trainer.generator = @DCGANGenerator", "DCGANGenerator.kernels = (4, 2, 1)",
               "DCGANGenerator.z_dim = 3", "DCGANDiscriminator.kernels = (2, 4)", "DCGANDiscriminator.hidden = 3",
               "Trainer.g_optimizer = @g/keras.optimizers.SGD", "Trainer.d_optimizer = @d/keras.optimizers.SGD",
               "g/keras.optimizers.SGD.learning_rate = 0.05", "d/keras.optimizers.SGD.learning_rate = 0.05"]
# name -> (updater factory, D optimizer steps per training step)
UPDATERS = {
    "alternating": (lambda: Alternating(), 1),
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


def assert_mirrored_equals_single(make, weights, d_steps):
    """``make(name, **trainer_kwargs)`` builds a fresh Trainer; trains one on one device and one
    mirrored over two CPUs for STEPS steps and compares losses and weights."""
    assert len(tf.config.list_logical_devices("CPU")) >= 2, "conftest sets up two logical CPUs"
    single = make("single")
    single_metrics = single.train_steps(STEPS)
    mirrored = make("mirrored", strategy=make_strategy("mirrored", devices=["/cpu:0", "/cpu:1"]))
    assert mirrored.strategy.num_replicas_in_sync == 2
    mirrored_metrics = mirrored.train_steps(STEPS)
    for key in single_metrics:
        np.testing.assert_allclose(single_metrics[key], mirrored_metrics[key], rtol=1e-5)
    initial = weights(make("initial"))
    assert max(np.abs(a - b).max() for a, b in zip(initial, weights(single))) > 1e-3  # training moved them
    for a, b in zip(weights(single), weights(mirrored)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # Look-ahead copies never step the real optimizers: d_steps D updates and one G update per step.
    for trainer in (single, mirrored):
        assert int(trainer.state.d_optimizer.iterations.numpy()) == d_steps * STEPS
        assert int(trainer.state.g_optimizer.iterations.numpy()) == STEPS


@pytest.mark.parametrize("name", list(UPDATERS))
def test_every_updater_mirrored_over_two_cpus_equals_one_device(sgd_ring_trainer, weights, name):
    make_updater, d_steps = UPDATERS[name]
    assert_mirrored_equals_single(lambda run, **kw: sgd_ring_trainer(run, updater=make_updater(), **kw), weights, d_steps)


def test_a_batch_normalised_dcgan_mirrored_over_two_cpus_equals_one_device(tmp_path, weights):
    def make(run, **kw):
        config.parse(["mnist_gran3"], DCGAN_MNIST)
        return Trainer(model_dir=str(tmp_path / run), **kw)
    assert_mirrored_equals_single(make, weights, d_steps=1)


def test_lwcl_brc_with_committed_adam_moments_mirrored_over_two_cpus_equals_one_device(ring_trainer, weights):
    """Adam look-ahead whose moments are written back to D's optimizer from the replica context."""
    def make(run, **kw):
        fast = ["g/keras.optimizers.Adam.learning_rate = 0.01", "d/keras.optimizers.Adam.learning_rate = 0.01"]
        return ring_trainer(run, fast, updater=lwcl_brc(look_ahead_steps=2), **kw)
    assert_mirrored_equals_single(make, weights, d_steps=3)
