"""GANModel: Keras ``fit`` makes the Trainer's update (one step implementation), under every
updater, one device or mirrored, with steps_per_execution and XLA; Keras-native use."""
import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from gran_tf import config
from gran_tf.distribute import make_strategy
from gran_tf.errors import ConfigError
from gran_tf.models import Logits
from gran_tf.training.gan_model import GANModel, group_batches
from gran_tf.training.trainer import Trainer
from gran_tf.training.updaters import Alternating, Unrolled

STEPS = 2


def fit_steps(trainer, steps, **kw):
    """``trainer.gan.fit`` for ``steps`` training steps on the trainer's own (ungrouped) batches."""
    dataset = trainer.data.make_dataset(trainer.batch_size, trainer.seed)
    return trainer.gan.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, **kw)


def assert_same_weights(weights, a, b):
    for x, y in zip(weights(a), weights(b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_fit_makes_the_trainers_update_for_every_updater(sgd_ring_trainer, weights, updater_case):
    make_updater, d_steps = updater_case
    trainer = sgd_ring_trainer("trainer", updater=make_updater())
    trainer.train_steps(STEPS)
    fitted = sgd_ring_trainer("fit", updater=make_updater())
    fit_steps(fitted, STEPS)
    assert int(fitted.step.numpy()) == STEPS
    assert int(fitted.gan.d_optimizer.iterations.numpy()) == d_steps * STEPS
    assert int(fitted.gan.g_optimizer.iterations.numpy()) == STEPS
    assert_same_weights(weights, trainer, fitted)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_with_steps_per_execution_equals_the_trainers_loop(sgd_ring_trainer, weights, jit_compile):
    every = ["Trainer.log_every = 10", "Trainer.sample_every = 10", "Trainer.checkpoint_every = 10"]
    make = lambda name: sgd_ring_trainer(name, every, updater=Unrolled(steps=2, inner_optimizer="sgd"),  # noqa: E731
                                         steps_per_loop=10, jit_compile=jit_compile)
    trainer, fitted = make("trainer"), make("fit")
    assert fitted.gan.steps_per_execution == 10 and fitted.gan.jit_compile == jit_compile
    trainer.train_steps(20)
    fit_steps(fitted, 20)
    assert int(fitted.step.numpy()) == 20
    assert_same_weights(weights, trainer, fitted)


def test_fit_of_a_gran_equals_the_trainer(tmp_path, weights):
    params = ["Trainer.batch_size = 8", "GRANGenerator.kernels = (4, 2, 1)", "GRANGenerator.z_dim = 3",
              "GRANGenerator.steps = 2", "DCGANDiscriminator.kernels = (2, 4)", "DCGANDiscriminator.hidden = 3"]

    def make(name):
        config.parse(["mnist_gran3"], params)
        return Trainer(model_dir=str(tmp_path / name))
    trainer, fitted = make("trainer"), make("fit")
    trainer.train_steps(STEPS)
    fit_steps(fitted, STEPS)
    assert_same_weights(weights, trainer, fitted)


@pytest.mark.parametrize("updater_name", ["alternating_n_disc2", "unrolled", "brc_outer_product"])
def test_fit_mirrored_over_two_cpus_equals_one_device(sgd_ring_trainer, weights, updater_case):
    make_updater, _ = updater_case
    single = sgd_ring_trainer("single", updater=make_updater())
    single.train_steps(STEPS)
    mirrored = sgd_ring_trainer("mirrored", updater=make_updater(),
                                strategy=make_strategy("mirrored", devices=["/cpu:0", "/cpu:1"]))
    assert mirrored.gan.distribute_strategy.num_replicas_in_sync == 2
    history = fit_steps(mirrored, STEPS)
    assert np.isfinite(history.history["g_loss"]).all()
    for a, b in zip(weights(single), weights(mirrored), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_fit_reports_the_epoch_mean_of_the_step_losses(sgd_ring_trainer, float32_paths):
    trainer = sgd_ring_trainer("trainer")
    per_step = [trainer.train_steps(1) for _ in range(3)]
    history = fit_steps(sgd_ring_trainer("fit"), 3).history
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose(history[key][0], np.mean([m[key] for m in per_step]), **float32_paths)


def test_group_batches_keeps_the_order_and_drops_a_short_group():
    dataset = tf.data.Dataset.range(11).batch(2)  # 5 batches of 2, then one of 1
    groups = [tuple(b.numpy().tolist() for b in g) for g in group_batches(dataset, 2)]
    assert groups == [([0, 1], [2, 3]), ([4, 5], [6, 7])]  # the 1-example batch cannot join a group
    labelled = tf.data.Dataset.from_tensor_slices((np.arange(8.0), np.arange(8))).batch(2, drop_remainder=True)
    (x0, y0), (x1, y1) = next(iter(group_batches(labelled, 2)))
    assert x1.numpy().tolist() == [2.0, 3.0] and y1.numpy().tolist() == [2, 3]


def small_keras_gan(updater=None, seed=1):
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="g")
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                                      keras.layers.Dense(1)], name="d")
    gan = GANModel(generator, discriminator, updater=updater, seed=seed)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    return gan


def test_a_dense_1_discriminator_gives_logits_of_shape_b():
    gan = small_keras_gan()
    assert isinstance(gan.discriminator, Logits) and gan.discriminator.network.name == "d"
    assert gan.discriminator(np.zeros((5, 2), np.float32)).shape == (5,)
    # Near-zero initial logits: ℓ_D ≈ 2 log 2 per example (a [B, 1] + [B] broadcast would give B times that).
    history = gan.fit(np.zeros((16, 2), np.float32), batch_size=16, epochs=1, verbose=0)
    assert abs(history.history["d_loss"][0] - 2 * np.log(2)) < 0.5


def test_a_keras_sequential_gan_fits_unlabelled_batches_with_keras_callbacks(tmp_path):
    gan = small_keras_gan(Alternating(n_disc=2))
    assert gan.generator.z_shape == (4,)  # from the Sequential's input
    x = np.random.default_rng(0).normal(size=(100, 2)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(16)  # no labels; a partial last batch
    log, weights_file = tmp_path / "log.csv", tmp_path / "gan.weights.h5"
    callbacks = [keras.callbacks.CSVLogger(str(log)), keras.callbacks.TensorBoard(str(tmp_path / "tb")),
                 keras.callbacks.ModelCheckpoint(str(weights_file), save_weights_only=True)]
    gan.fit(dataset, epochs=2, verbose=0, callbacks=callbacks)
    # 6 full batches of 16 an epoch, 2 a step: 3 steps an epoch
    assert int(gan.step.numpy()) == 6
    assert int(gan.d_optimizer.iterations.numpy()) == 12 and int(gan.g_optimizer.iterations.numpy()) == 6
    rows = list(csv.DictReader(open(log)))
    assert [int(r["epoch"]) for r in rows] == [0, 1] and all(np.isfinite(float(r["d_loss"])) for r in rows)
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb" / "train").iterdir())
    assert gan(np.zeros((3, 4), np.float32)).shape == (3, 2)
    restored = small_keras_gan(Alternating(n_disc=2), seed=1)
    restored.load_weights(str(weights_file))
    assert int(restored.step.numpy()) == 6
    for a, b in zip(gan.weights, restored.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Arrays: batched (and shuffled) by fit, partial batches dropped: 5 batches of 20, 2 steps.
    gan.fit(x, batch_size=20, epochs=1, verbose=0)
    assert int(gan.step.numpy()) == 6 + 2


def test_backup_and_restore_resumes_a_preempted_fit_bit_exactly(ring_trainer, weights, tmp_path):
    """Keras' BackupAndRestore saves every weight of G and D, both optimizers and the step counter
    at epoch ends; a dataset whose epochs repeat the same batches then resumes bit-exactly."""
    def data(trainer):
        return trainer.data.make_dataset(trainer.batch_size, trainer.seed).take(4)

    straight = ring_trainer("straight")
    straight.gan.fit(data(straight), epochs=3, verbose=0)

    class Preempted(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("preempted")

    backup = str(tmp_path / "backup")
    first = ring_trainer("first")
    with pytest.raises(RuntimeError, match="preempted"):
        first.gan.fit(data(first), epochs=3, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup), Preempted()])
    resumed = ring_trainer("resumed")
    history = resumed.gan.fit(data(resumed), epochs=3, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup)])
    assert history.epoch == [2]  # only the epoch the preemption cut off
    assert int(resumed.step.numpy()) == 12
    assert int(resumed.gan.d_optimizer.iterations.numpy()) == int(straight.gan.d_optimizer.iterations.numpy())
    assert_same_weights(weights, straight, resumed)
    for a, b in zip(straight.gan.d_optimizer.variables, resumed.gan.d_optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # Adam's moments


def test_bad_settings_are_config_errors():
    gan = small_keras_gan()
    with pytest.raises(ConfigError, match="optimizers of their own"):
        opt = keras.optimizers.Adam()
        gan.compile(g_optimizer=opt, d_optimizer=opt)
    with pytest.raises(ConfigError, match="steps_per_execution must be an integer"):
        gan.compile(steps_per_execution=2.5)
    gan.compile(steps_per_execution=4)
    with pytest.raises(ConfigError, match=r"steps_per_epoch \(6\) is not a multiple of the model's "
                                          r"steps_per_execution \(4\)"):
        gan.fit(np.zeros([32, 2], np.float32), batch_size=4, steps_per_epoch=6, verbose=0)
    assert int(gan.step.numpy()) == 0
    with pytest.raises(ConfigError, match="GANModel.seed must be an integer"):
        GANModel(gan.generator, gan.discriminator, seed="a")
    with pytest.raises(ConfigError, match="Alternating.n_disc must be >= 1"):
        Alternating(n_disc=0)
    unknown = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ConfigError, match="latent_shape"):
        GANModel(unknown, gan.discriminator)
