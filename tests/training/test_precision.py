"""Trainer.precision = "mixed_bfloat16": bfloat16 compute with float32 weights, optimizer state,
logits and losses (the TPU-native policy; the CPU here has AVX512_BF16)."""
import keras
import numpy as np
import pytest

from gran_tf import config
from gran_tf.errors import ConfigError
from gran_tf.training.trainer import Trainer

TINY_GRAN = ["Trainer.batch_size = 8", "GRANGenerator.kernels = (4, 2, 1)", "GRANGenerator.z_dim = 3",
             "GRANGenerator.steps = 2", "DCGANDiscriminator.kernels = (2, 4)", "DCGANDiscriminator.hidden = 3"]


def trained(tmp_path, precision, steps=10):
    config.parse(["mnist_gran3"], TINY_GRAN + [f"Trainer.precision = '{precision}'"])
    trainer = Trainer(model_dir=str(tmp_path / precision))
    metrics = trainer.train_steps(steps)
    z = trainer.fixed_z()
    return trainer, metrics, trainer.generator(z).numpy(), trainer.discriminator(trainer.generator(z)).numpy()


def test_mixed_bfloat16_computes_in_bfloat16_keeps_float32_state_and_stays_close_to_float32(tmp_path):
    full, full_metrics, full_images, full_logits = trained(tmp_path, "float32")
    mixed, metrics, images, logits = trained(tmp_path, "mixed_bfloat16")
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored after building
    assert mixed.discriminator.convs[0].compute_dtype == "bfloat16"
    assert mixed.generator.f.compute_dtype == "bfloat16"
    state = mixed.state
    for v in (mixed.generator.weights + mixed.discriminator.weights + state.g_optimizer.variables
              + state.d_optimizer.variables):
        assert v.dtype in ("float32", "int64"), v.path
    assert images.dtype == np.float32 and logits.dtype == np.float32
    assert all(np.isfinite(list(metrics.values()))) and np.isfinite(images).all()
    # bfloat16 keeps 8 significand bits (relative rounding 2^-9 ≈ 0.2% per op): after 10 steps the
    # two runs differ, by about 1% of the losses and of the [0, 1] images at most.
    assert np.abs(images - full_images).max() > 0
    np.testing.assert_allclose(images, full_images, atol=0.03)
    np.testing.assert_allclose(logits, full_logits, atol=0.03, rtol=0.03)
    for name in ("d_loss", "g_loss"):
        assert metrics[name] == pytest.approx(full_metrics[name], rel=0.02)


def test_an_unknown_precision_is_refused(tmp_path):
    config.parse(["ring"], ["Trainer.precision = 'float16'"])
    with pytest.raises(ConfigError, match="Trainer.precision must be one of"):
        Trainer(model_dir=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
