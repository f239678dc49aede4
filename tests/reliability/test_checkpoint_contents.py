"""Checkpoints hold every weight of both networks, not only what Keras 3 shows TF's tracking.

Keras 3 networks expose to ``tf.train.Checkpoint`` only the layers held directly as attributes;
layers held in lists (the DCGAN/GRAN BN layers, spectral-norm wrappers) had their trainable
weights saved only through the optimizers and their moving statistics not at all, so a resumed
BN network drifted from an uninterrupted one and ``--checkpoint=STEP`` evaluated stale BN layers.
"""
import numpy as np
import pytest
import tensorflow as tf

from gran_tf import config
from gran_tf.errors import RunDirError
from gran_tf.eval.loading import load_run
from gran_tf.training.trainer import Trainer

TINY_DCGAN = ["Trainer.batch_size = 4", "DCGANGenerator.kernels = (4, 2, 3)", "DCGANDiscriminator.kernels = (2, 4)",
              "Trainer.checkpoint_every = 3", "Trainer.log_every = 3", "Trainer.sample_every = 1000",
              "Trainer.eval_every = 0"]  # the stacked-modes classifier is not what these tests are about


def train(tmp_path, name, total_steps):
    config_str = config.parse(["stacked_mnist_dcgan"], TINY_DCGAN + [f"Trainer.total_steps = {total_steps}"])
    trainer = Trainer(model_dir=str(tmp_path / name))
    trainer.train(config_str)
    return trainer


def moving_statistics(model):
    return {w.path: w.numpy() for w in model.weights if "moving" in w.path}


def test_a_resumed_batch_normalised_dcgan_equals_an_uninterrupted_one(tmp_path, resumes_bit_exactly):
    straight, _ = resumes_bit_exactly(lambda name, steps: train(tmp_path, name, steps), steps=6)
    assert "discriminator/bn1/moving_mean" in moving_statistics(straight.discriminator)  # a BN layer held in a list


def test_evaluating_a_checkpoint_restores_its_batch_norm_statistics(tmp_path):
    three = train(tmp_path, "three", 3)
    six = train(tmp_path, "six", 6)
    at_3 = load_run(tmp_path / "six", checkpoint=3)
    for model, reference, final in ((at_3.generator, three.generator, six.generator),
                                    (at_3.discriminator, three.discriminator, six.discriminator)):
        restored, expected, later = moving_statistics(model), moving_statistics(reference), moving_statistics(final)
        assert len(expected) >= 2
        for path in expected:
            np.testing.assert_array_equal(restored[path], expected[path])
        assert any(not np.array_equal(restored[p], later[p]) for p in expected)


def network_only_checkpoint(trainer, path):
    """A checkpoint that holds the networks as Keras 3 shows them to TF's tracking, without the
    weights by path (as gran_tf wrote them before its run format 2)."""
    state = trainer.state
    return tf.train.Checkpoint(step=trainer.step, generator=trainer.generator, discriminator=trainer.discriminator,
                               g_optimizer=state.g_optimizer, d_optimizer=state.d_optimizer).write(path)


def test_a_checkpoint_without_every_weight_is_refused_by_training_and_evaluation(tmp_path, capsys):
    old = train(tmp_path, "old", 3)
    ckpt_dir = tmp_path / "old" / "ckpt"
    for f in ckpt_dir.glob("ckpt-3*"):
        f.unlink()
    network_only_checkpoint(old, str(ckpt_dir / "ckpt-3"))
    with pytest.raises(RunDirError, match="ckpt-3 does not hold every weight of the run's networks"):
        load_run(tmp_path / "old", checkpoint=3)
    with pytest.raises(RunDirError, match="no checkpoint in .* is readable"):
        train(tmp_path, "old", 6)
    assert "ckpt-3 is unreadable (AssertionError" in capsys.readouterr().out
