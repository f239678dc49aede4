"""The BRC paper's CIFAR10 configs (DCGAN, LSGAN, SNGAN, each ± BRC) train on mocked CIFAR10."""
import gin
import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from gran_tf import config
from gran_tf.models.spectral_norm import SpectralNorm
from gran_tf.training.trainer import Trainer
from gran_tf.training.updaters.alternating import Alternating
from gran_tf.training.updaters.brc import BRC

BASELINES = ("cifar10_dcgan", "cifar10_lsgan", "cifar10_sngan")
CONFIGS = BASELINES + tuple(f"{name}_brc" for name in BASELINES)
# Tracing cost grows with the D steps per G step, so 2 here (the shipped D_STEPS are checked
# below, and tests/gin/test_gin_configs.py trains each file with its own).
TINY_D_STEPS = 2
TINY = ["Trainer.batch_size = 4", "Trainer.eval_every = 0", f"D_STEPS = {TINY_D_STEPS}",
        "DCGANGenerator.kernels = (8, 4, 2, 3)", "DCGANGenerator.z_dim = 4",
        "DCGANDiscriminator.kernels = (2, 4, 4)"]


def tiny_trainer(name, tmp_path):
    config.parse([name], TINY)
    with tfds.testing.mock_data(num_examples=8):
        return Trainer(model_dir=str(tmp_path / name))


def values(variables):
    return [v.numpy().copy() for v in variables]


def moved(before, variables):
    return any(np.abs(a - v.numpy()).max() > 0 for a, v in zip(before, variables))


@pytest.mark.parametrize("name", CONFIGS)
def test_two_steps_on_mock_cifar10_move_both_players(name, tmp_path):
    trainer = tiny_trainer(name, tmp_path)
    assert isinstance(trainer.updater, BRC if name.endswith("_brc") else Alternating)
    assert trainer.updater.batches_per_step == TINY_D_STEPS
    g0, d0 = values(trainer.generator.trainable_variables), values(trainer.discriminator.trainable_variables)
    metrics = trainer.train_steps(2)
    assert {"d_loss", "g_loss"} <= set(metrics) and all(np.isfinite(v) for v in metrics.values())
    assert moved(g0, trainer.generator.trainable_variables)
    assert moved(d0, trainer.discriminator.trainable_variables)
    assert int(trainer.state.g_optimizer.iterations.numpy()) == 2
    assert int(trainer.state.d_optimizer.iterations.numpy()) == 2 * TINY_D_STEPS
    layers = trainer.discriminator.layers
    sn = [layer for layer in layers if isinstance(layer, SpectralNorm)]
    bn = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    if "sngan" in name:
        assert sorted(layer.layer.name for layer in sn) == ["conv0", "conv1", "conv2", "logit"] and not bn
    else:
        assert not sn and len(bn) == 2


@pytest.mark.parametrize("baseline", BASELINES)
def test_the_brc_file_only_switches_the_updater(baseline):
    bindings = {}
    for name in (baseline, baseline + "_brc"):
        bindings[name] = set(config.parse([name]).splitlines())
    assert bindings[baseline] - bindings[baseline + "_brc"] == {"Trainer.updater = @Alternating()"}
    assert bindings[baseline + "_brc"] - bindings[baseline] == {"Trainer.updater = @BRC()"}


def test_paper_lengths_d_steps_and_training_time_fid():
    expected = {"cifar10_dcgan": (200000, 2), "cifar10_lsgan": (200000, 2), "cifar10_sngan": (20000, 5)}
    for name, (steps, d_steps) in expected.items():
        config.parse([name])
        assert gin.query_parameter("Trainer.total_steps") == steps
        assert gin.query_parameter("%D_STEPS") == d_steps
        assert gin.query_parameter("Trainer.eval_metrics") == ["fid"]
        assert gin.query_parameter("Trainer.best_metric") == "inception/fid"
        assert gin.query_parameter("Trainer.eval_every") == gin.query_parameter("Trainer.eval_samples") == 10000
