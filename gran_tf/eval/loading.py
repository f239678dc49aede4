"""Reading a trained run back: its exported networks and the data it was trained on."""
import dataclasses
import os
import re

import keras
import numpy as np
import tensorflow as tf

import gran_tf.models  # noqa: F401  (registers the model classes for keras.models.load_model)
from gran_tf import run_record, storage
from gran_tf.data.arrays import read_array_file
from gran_tf.errors import ConfigError, RunDirError
from gran_tf.eval import run_metrics
from gran_tf.rundir import RunDir, checkpoint_steps, network_checkpoint, restore_networks


@dataclasses.dataclass
class LoadedRun:
    name: str
    run_dir: RunDir
    generator: keras.Model
    discriminator: keras.Model
    record: run_record.RunRecord  # who the run is: its data, seed, models (run.json)
    step: int = None  # the training step of the weights (None: unknown, a run exported before steps were recorded)
    checkpoint: str = "final"  # which weights: "final" (export/), "best" (ckpt_best/) or "ckpt-N"

    @property
    def data(self):
        return self.record.data

    @property
    def seed(self):
        return self.record.seed

    def context(self, n_samples=None, split="test", data_dir=None, **fid):
        """The EvalContext of this run (``fid``: EvalContext's FID settings)."""
        return run_metrics.EvalContext(self.generator, self.data, seed=self.seed, n_samples=n_samples, split=split,
                                       data_dir=data_dir, plot_dir=self.run_dir.samples_dir, **fid)

    def d_probability(self, x):
        """P(real | x) = σ(D(x)) in inference mode (the GAM battle's discriminator)."""
        return 1.0 / (1.0 + np.exp(-np.asarray(self.discriminator(x, training=False), np.float64)))


def parse_checkpoint(value):
    """``final``, ``best`` or a step number (``1000``, ``ckpt-1000``); a ConfigError otherwise."""
    text = str(value).strip()
    if text in ("final", "best"):
        return text
    match = re.fullmatch(r"(?:ckpt-)?(\d+)", text)
    if not match:
        raise ConfigError(f"checkpoint must be final, best or a step number, got {value!r}")
    return int(match.group(1))


def load_run(path, name=None, checkpoint="final", data=None):
    """Loads ``export/{generator,discriminator}.keras`` and the run record (``run.json``). Reads
    nothing from the global gin state.

    ``checkpoint``: "final" keeps the exported weights; "best" restores ``ckpt_best/`` (kept by
    ``Trainer.best_metric``) and a step number ``ckpt/ckpt-<step>`` into the exported networks.
    ``data``: for a run trained on an array given from Python, that array (or its .npy/.npz file).
    """
    checkpoint = parse_checkpoint(checkpoint)
    run_dir = RunDir(path)
    record = with_data(run_record.read(run_dir), data)  # not a run, or another run format: refused here
    exports = [os.path.join(run_dir.export_dir, name) for name in ("generator.keras", "discriminator.keras", "export.json")]
    missing = [p for p in exports if not storage.exists(p)]
    if missing:
        raise RunDirError(f"{run_dir.path} is not a finished gran_tf run (missing {missing[0]})")
    generator, discriminator = (keras.models.load_model(p) for p in exports[:2])
    if checkpoint == "final":
        step, label = run_dir.read_json(os.path.join("export", "export.json"))["step"], "final"
    else:
        step, label = _restore_weights(run_dir, generator, discriminator, checkpoint)
    return LoadedRun(name or os.path.basename(run_dir.path.rstrip("/")), run_dir, generator, discriminator,
                     record, step, label)


def distinct_names(paths):
    """Each run directory's shortest trailing path (``seed0``, else ``ring/seed0``, ...) that tells
    it apart from the others: sweep layouts ``<out>/<config>/seed<k>`` share basenames."""
    parts = [os.path.abspath(p).rstrip(os.sep).split(os.sep) for p in paths]
    if len({tuple(p) for p in parts}) < len(parts):
        raise ConfigError("a run directory is given twice (a run cannot be compared with itself)")
    for k in range(1, max(map(len, parts)) + 1):
        names = ["/".join(p[-k:]) for p in parts]
        if len(set(names)) == len(names):
            return names


def with_data(record, data):
    """``record`` with the array of its in-memory data given again (an array or a file of it)."""
    if data is None:
        return record
    if isinstance(data, str):
        data, _ = read_array_file(data)
    return dataclasses.replace(record, data=record.data.with_source(data))


def load_runs(paths, checkpoint="final", same_data=False, data=None):
    """``load_run`` of each path, named by ``distinct_names``; ``checkpoint`` is one for all, or a
    list of one per path (runs compared at equal wall-clock time). ``same_data``: refuse
    (ConfigError, one line saying what differs) runs trained on different data."""
    checkpoints = list(checkpoint) if isinstance(checkpoint, (list, tuple)) else [checkpoint] * len(paths)
    if len(checkpoints) != len(paths):
        raise ConfigError(f"{len(checkpoints)} checkpoints given for {len(paths)} runs")
    runs = [load_run(path, name=name, checkpoint=ckpt, data=data)
            for path, name, ckpt in zip(paths, distinct_names(paths), checkpoints)]
    if same_data:
        run_record.same_data([r.record for r in runs], [r.name for r in runs])
    return runs


def _restore_weights(run_dir, generator, discriminator, checkpoint):
    """Restores the networks' weights of one checkpoint; returns (its step, its label)."""
    if checkpoint == "best":
        path = tf.train.latest_checkpoint(run_dir.join("ckpt_best"))
        if not path:
            raise RunDirError(f"{run_dir.path} has no best checkpoint (train with Trainer.best_metric)")
    else:
        path = os.path.join(run_dir.ckpt_dir, f"ckpt-{checkpoint}")
        if not storage.exists(path + ".index"):
            kept = checkpoint_steps(run_dir.ckpt_dir)
            raise RunDirError(f"{run_dir.path} has no checkpoint at step {checkpoint} (kept: {kept or 'none'})")
    step = tf.Variable(0, dtype=tf.int64)
    # Every weight of both networks comes from the checkpoint; the optimizers' slots stay behind.
    try:
        restore_networks(network_checkpoint(generator, discriminator, step=step), path)
    except AssertionError as err:
        reason = " ".join(str(err).split())[:120]
        raise RunDirError(f"{path} does not hold every weight of the run's networks ({reason})") from None
    return int(step.numpy()), "best" if checkpoint == "best" else os.path.basename(path)
