"""Every shipped gin file parses, builds its trainer and takes a finite training step.

Widths are shrunk (the paper's 1024-kernel nets are too big for a unit test), unroll and
inner-loop lengths capped at 2 (the same code as any K) and the tfds image sets mocked;
everything else is the file as shipped.
"""
import os

import gin
import numpy as np
import pytest

from gran_tf import config
from gran_tf.smoke import image_configs, offline_trainer, shipped_configs, shrunk_bindings
from gran_tf.errors import ConfigError
from gran_tf.training.trainer import Trainer

GIN_FILES = [f"{name}.gin" for name in shipped_configs()]


def test_the_configs_the_issue_names_are_shipped():
    expected = {"ring.gin", "grid.gin", "cube.gin", "lsun_kitchen_gran3.gin", "imagenet64_gran3.gin",
                "stacked_mnist_dcgan.gin"}
    expected |= {f"{d}_gran{t}.gin" for d in ("mnist", "cifar10", "lsun") for t in (1, 3, 5)}
    assert expected <= set(GIN_FILES)


def train_shrunk(gin_file, model_dir, steps, extra=()):
    """The shipped file with every width shrunk (tfds sets mocked, folders given eight random
    photos): metrics after ``steps``."""
    with offline_trainer(gin_file, model_dir, extra) as trainer:
        return trainer.train_steps(steps)


@pytest.mark.parametrize("gin_file", GIN_FILES)
def test_gin_file_builds_and_trains_one_step(gin_file, tmp_path, private_cache):
    metrics = train_shrunk(gin_file, str(tmp_path / "run"), 1)
    assert all(np.isfinite(v) for v in metrics.values())


@pytest.mark.slow
@pytest.mark.parametrize("gin_file", GIN_FILES)
def test_gin_file_trains_under_xla_in_a_two_step_loop(gin_file, tmp_path, private_cache):
    """TPUStrategy compiles the replica step with XLA: this is the nearest TPU check on a CPU
    (static shapes, no XLA-unsupported op in any updater, model or loss)."""
    metrics = train_shrunk(gin_file, str(tmp_path / "run"), 4, ["Trainer.jit_compile = True",
                                                                 "Trainer.steps_per_loop = 2"])
    assert all(np.isfinite(v) for v in metrics.values())


def test_the_tpu_overlay_fits_every_image_config():
    """Its steps_per_loop divides every interval of every image config (else the Trainer refuses)."""
    images = image_configs()
    assert {"mnist_gran3", "lsun_gran5", "imagenet64_gran3", "stacked_mnist_dcgan"} <= set(images)
    assert "ring" not in images and "tpu" not in images and images == sorted(images)
    for gin_file in images:
        config.parse([gin_file, "tpu"])
        loop = gin.query_parameter("Trainer.steps_per_loop")
        assert loop == 100 and gin.query_parameter("Trainer.precision") == "mixed_bfloat16"
        assert gin.query_parameter("make_strategy.name") == "tpu"
        for name in ("log_every", "sample_every", "checkpoint_every", "eval_every"):
            try:
                every = gin.query_parameter(f"Trainer.{name}")
            except ValueError:  # left at the Trainer's default
                every = {"log_every": 100, "sample_every": 500, "checkpoint_every": 1000, "eval_every": 0}[name]
            assert every % loop == 0, (gin_file, name, every)


def test_the_tpu_overlay_trains_in_loops_of_100_steps_in_bfloat16(tmp_path):
    """Everything tpu.gin sets but the TPU itself, on the CPU: a shrunk GRAN run of two loops."""
    config.parse(["mnist_gran1", "tpu"])
    params = [*shrunk_bindings(), "make_strategy.name = 'default'", "Trainer.total_steps = 200",
              "Trainer.log_every = 100", "Trainer.sample_every = 100", "Trainer.checkpoint_every = 100"]
    config_str = config.parse(["mnist_gran1", "tpu"], params)
    trainer = Trainer(model_dir=str(tmp_path / "run"))
    metrics = trainer.train(config_str)
    assert all(np.isfinite(v) for v in metrics.values())
    assert trainer.discriminator.convs[0].compute_dtype == "bfloat16"
    assert [r["step"] for r in trainer.run_dir.read_metrics()] == [100, 200]
    assert sorted(os.listdir(tmp_path / "run" / "samples")) == ["samples_00000100.png", "samples_00000200.png"]


def test_malformed_gin_and_unknown_names_are_config_errors():
    with pytest.raises(ConfigError):
        config.parse(["ring"], ["Trainer.batch_size = = 3"])
    with pytest.raises(ConfigError):
        config.parse(["ring"], ["Trainer.no_such_parameter = 3"])
    with pytest.raises(ConfigError):
        config.parse(["ring"], ["Trainer.generator = @NoSuchGenerator"])
    with pytest.raises(ConfigError):
        config.parse(["no_such_file.gin"])
