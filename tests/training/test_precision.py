"""Trainer.precision = "mixed_bfloat16" and "mixed_float16": low-precision compute with float32 weights, optimizer state,
logits and losses (the TPU-native policy; the CPU here has AVX512_BF16)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

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


@pytest.fixture(scope="module")
def float32_run(tmp_path_factory):
    """The float32 run both mixed precisions are compared with: (trainer, metrics, images, logits)."""
    return trained(tmp_path_factory.mktemp("float32"), "float32")


def test_mixed_bfloat16_computes_in_bfloat16_keeps_float32_state_and_stays_close_to_float32(tmp_path, float32_run):
    full, full_metrics, full_images, full_logits = float32_run
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


def test_mixed_float16_scales_the_losses_and_stays_close_to_float32(tmp_path, float32_run):
    full, full_metrics, full_images, full_logits = float32_run
    mixed, metrics, images, logits = trained(tmp_path, "mixed_float16")
    assert mixed.discriminator.convs[0].compute_dtype == "float16" and mixed.generator.f.compute_dtype == "float16"
    state = mixed.state
    assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in (state.g_optimizer, state.d_optimizer))
    assert all(w.dtype == "float32" for w in mixed.generator.weights + mixed.discriminator.weights)
    assert all(np.isfinite(list(metrics.values()))) and np.isfinite(images).all()
    # A step whose scaled gradients overflow float16 is skipped and its scale halved; from 2^15
    # this run needs at most two such halvings (one here, in G's first step).
    assert all(o.dynamic_scale.numpy() >= 2.0 ** 13 for o in (state.g_optimizer, state.d_optimizer))
    # float16 keeps 11 significand bits (2^-12 relative per op), 8x finer than bfloat16: despite a
    # skipped step the 10 steps stay within the bfloat16 test's bounds (measured: 0.004, 0.5%).
    np.testing.assert_allclose(images, full_images, atol=0.03)
    np.testing.assert_allclose(logits, full_logits, atol=0.03, rtol=0.03)
    for name in ("d_loss", "g_loss"):
        assert metrics[name] == pytest.approx(full_metrics[name], rel=0.02)


def test_mixed_float16_unrolled_inner_steps_unscale_their_gradients(tmp_path):
    runs = {}
    for precision in ("float32", "mixed_float16"):
        config.parse(["ring_unrolled5"], [f"Trainer.precision = '{precision}'"])
        trainer = Trainer(model_dir=str(tmp_path / precision))
        runs[precision] = trainer, trainer.train_steps(5)
    (mixed, metrics), (_, full_metrics) = runs["mixed_float16"], runs["float32"]
    assert mixed.state.d_optimizer.dynamic_scale.numpy() == 2.0 ** 15  # no step skipped
    # MLPs with float32 output layers: the look-ahead's float16 hidden layers, its gradients
    # scaled by 2^15 and divided back, move the losses by float16 rounding only.
    for name in ("d_loss", "g_loss"):
        assert metrics[name] == pytest.approx(full_metrics[name], rel=1e-3)


def test_an_overflowing_step_is_skipped_and_the_scale_halved():
    from gran_tf.training.gan_model import GANModel
    from gran_tf.training.trainer import dtype_policy
    from gran_tf.models import MLPDiscriminator, MLPGenerator
    from gran_tf.training.updaters import Alternating

    with dtype_policy("mixed_float16"):
        gan = GANModel(MLPGenerator(image_shape=(2,), z_dim=2, hidden=(8,)),
                       MLPDiscriminator(image_shape=(2,), hidden=(8,)), updater=Alternating(), seed=0)
        # 2^40 times any gradient of order one exceeds float16's 65504 in the backward pass.
        gan.compile(g_optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(), initial_scale=2.0 ** 40),
                    d_optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(), initial_scale=2.0 ** 40))
    before = [w.numpy() for w in gan.discriminator.trainable_weights]
    gan.update(tf.constant(np.random.default_rng(0).normal(size=(16, 2)), tf.float32))
    assert gan.d_optimizer.dynamic_scale.numpy() == 2.0 ** 39
    for old, new in zip(before, gan.discriminator.trainable_weights):
        np.testing.assert_array_equal(old, new.numpy())


def test_brc_refuses_loss_scaling():
    from gran_tf.models import MLPDiscriminator, MLPGenerator
    from gran_tf.training.gan_model import GANModel
    from gran_tf.training.updaters import BRC

    gan = GANModel(MLPGenerator(image_shape=(2,), z_dim=2, hidden=(8,)), MLPDiscriminator(image_shape=(2,), hidden=(8,)),
                   updater=BRC(), seed=0)
    with pytest.raises(ConfigError, match="BRC does not scale its losses"):
        gan.compile(g_optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam()), d_optimizer="adam")


def test_mixed_float16_resumes_bit_exactly_loss_scales_included(tmp_path, resumes_bit_exactly):
    def train(name, total_steps):
        config_str = config.parse(["mnist_gran3"], TINY_GRAN + ["Trainer.precision = 'mixed_float16'",
                                                                f"Trainer.total_steps = {total_steps}",
                                                                "Trainer.checkpoint_every = 3"])
        trainer = Trainer(model_dir=str(tmp_path / name))
        trainer.train(config_str)
        return trainer

    straight, resumed = resumes_bit_exactly(train, steps=6)
    for a, b in zip((straight.state.g_optimizer, straight.state.d_optimizer),
                    (resumed.state.g_optimizer, resumed.state.d_optimizer)):
        assert a.dynamic_scale.numpy() == b.dynamic_scale.numpy()
