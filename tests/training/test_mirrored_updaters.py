"""Every updater, and a batch-normalised DCGAN, under MirroredStrategy over two CPUs gives the
numbers of one device."""
import numpy as np
import tensorflow as tf

from gran_tf import config
from gran_tf.distribute import make_strategy
from gran_tf.training.trainer import Trainer
from gran_tf.training.updaters import Unrolled
from gran_tf.training.updaters.brc import lwcl_brc

STEPS = 2
# GRAN's f and g keep per-replica BN statistics (no cross-replica sync inside a while loop), so
# the exact equivalence of a conv model is checked on DCGAN, whose BN layers are synchronised.
DCGAN_MNIST = ["Trainer.batch_size = 8", "Trainer.generator = @DCGANGenerator", "DCGANGenerator.kernels = (4, 2, 1)",
               "DCGANGenerator.z_dim = 3", "DCGANDiscriminator.kernels = (2, 4)", "DCGANDiscriminator.hidden = 3",
               "Trainer.g_optimizer = @g/keras.optimizers.SGD", "Trainer.d_optimizer = @d/keras.optimizers.SGD",
               "g/keras.optimizers.SGD.learning_rate = 0.05", "d/keras.optimizers.SGD.learning_rate = 0.05"]
def assert_mirrored_equals_single(make, weights, d_steps):
    """``make(name, **trainer_kwargs)`` builds a fresh Trainer; trains one on one device and one
    mirrored over two CPUs for STEPS steps and compares losses and weights."""
    assert len(tf.config.list_logical_devices("CPU")) >= 2, "conftest sets up two logical CPUs"
    single = make("single")
    single_metrics = single.train_steps(STEPS)
    mirrored = make("mirrored", strategy=make_strategy("mirrored", devices=["/cpu:0", "/cpu:1"]))
    assert mirrored.strategy.num_replicas_in_sync == 2
    mirrored_metrics = mirrored.train_steps(STEPS)
    for key in single_metrics:  # conftest's float32_paths: some metrics are near 0 (BRC's at ~2e-3)
        np.testing.assert_allclose(single_metrics[key], mirrored_metrics[key], rtol=1e-5, atol=1e-6)
    initial = weights(make("initial"))
    assert max(np.abs(a - b).max() for a, b in zip(initial, weights(single))) > 1e-3  # training moved them
    for a, b in zip(weights(single), weights(mirrored)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # Look-ahead copies never step the real optimizers: d_steps D updates and one G update per step.
    for trainer in (single, mirrored):
        assert int(trainer.state.d_optimizer.iterations.numpy()) == d_steps * STEPS
        assert int(trainer.state.g_optimizer.iterations.numpy()) == STEPS


def test_every_updater_mirrored_over_two_cpus_equals_one_device(sgd_ring_trainer, weights, updater_case):
    make_updater, d_steps = updater_case
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


def test_rematerialized_unrolled_with_adam_mirrored_over_two_cpus_equals_one_device(ring_trainer, weights):
    """Unrolled.remat: each step's recompute, all-reduce included, runs in G's backward pass, on
    every replica in the same order."""
    def make(run, **kw):
        fast = ["g/keras.optimizers.Adam.learning_rate = 0.01", "d/keras.optimizers.Adam.learning_rate = 0.01"]
        return ring_trainer(run, fast, updater=Unrolled(steps=2, remat=True), **kw)
    assert_mirrored_equals_single(make, weights, d_steps=1)
