"""Reading a trained run back: its exported networks and the data it was trained on."""
import dataclasses
import os

import gin
import keras
import numpy as np

import gran_tf.models  # noqa: F401  (registers the model classes for keras.models.load_model)
from gran_tf import config
from gran_tf.errors import RunDirError
from gran_tf.eval import run_metrics
from gran_tf.rundir import RunDir


@dataclasses.dataclass
class LoadedRun:
    name: str
    run_dir: RunDir
    generator: keras.Model
    discriminator: keras.Model
    dataset: str
    pixel_range: str
    seed: int

    def context(self, n_samples=None, split="test", data_dir=None):
        return run_metrics.EvalContext(self.generator, self.dataset, self.pixel_range, seed=self.seed,
                                       n_samples=n_samples, split=split, data_dir=data_dir,
                                       plot_dir=self.run_dir.samples_dir)

    def d_probability(self, x):
        """P(real | x) = σ(D(x)) in inference mode (the GAM battle's discriminator)."""
        return 1.0 / (1.0 + np.exp(-np.asarray(self.discriminator(x, training=False), np.float64)))


def load_run(path, name=None):
    """Loads ``export/{generator,discriminator}.keras`` and the dataset settings of a run."""
    run_dir = RunDir(path)
    config_file = run_dir.join("config.gin")
    exports = [os.path.join(run_dir.export_dir, f"{m}.keras") for m in ("generator", "discriminator")]
    missing = [p for p in [config_file, *exports] if not os.path.exists(p)]
    if missing:
        raise RunDirError(f"{run_dir.path} is not a finished gran_tf run (missing {missing[0]})")
    config.parse([config_file])
    dataset = gin.query_parameter("Trainer.dataset")
    seed = _bound("Trainer.seed", 0)
    pixel_range = run_metrics.bound_pixel_range()
    generator, discriminator = (keras.models.load_model(p) for p in exports)
    return LoadedRun(name or os.path.basename(run_dir.path.rstrip("/")), run_dir, generator, discriminator,
                     dataset, pixel_range, seed)


def _bound(key, default):
    try:
        return gin.query_parameter(key)
    except ValueError:
        return default
