"""What the trainer shows in TensorBoard and in ``samples/``: image grids, GRAN canvases,
scatter plots of point samples over the data, the run's settings as HParams."""
import ast
import dataclasses
import math
import os
import re

import numpy as np
import tensorflow as tf

from gran_tf import random_streams, storage
from gran_tf.data.synthetic import POINT_DATASETS
from gran_tf.eval import plots, run_metrics
from gran_tf.eval.modes import mode_occupancy

_N_POINTS = 2500  # points drawn for scatter plots (the VEEGAN/PacGAN evaluation size)
OCCUPANCY_FILE = "mode_occupancy.jsonl"


def generate(generator, z, **kw):
    return generator(z, training=False, **kw)


def to_unit_range(images, output):
    """Generator images → [0, 1] for display (tanh generators produce [-1, 1])."""
    return (images + 1.0) / 2.0 if output == "tanh" else images


def grid_of(images, output):
    images = np.asarray(to_unit_range(images, output))
    return plots.image_grid(images, nrow=int(math.ceil(math.sqrt(len(images)))))


@dataclasses.dataclass
class SampleSource:
    """What sample pictures are drawn from: the generator, its run's data record (None: data
    known only as images), seed and run directory; ``n_samples`` images in a grid. ``output``:
    the generator's output activation ("tanh": [-1, 1] images), default its ``out_activation``."""

    generator: object
    data: object
    seed: int
    run_dir: object
    n_samples: int = 64
    output: str = None

    @property
    def output_activation(self):
        return self.output or getattr(self.generator, "out_activation", None) or "sigmoid"

    @property
    def points(self):
        return self.data is not None and self.data.spec.kind == "points"

    def fixed_z(self):
        """The grid's latents: the same at every step of a run."""
        key = random_streams.key(self.seed, random_streams.SAMPLE_GRID)
        return random_streams.standard_normal([self.n_samples, *self.generator.z_shape], key)


def point_samples(source, n=_N_POINTS):
    key = random_streams.key(source.seed, random_streams.POINT_SAMPLES)
    z = random_streams.standard_normal([n, *source.generator.z_shape], key)
    fake = np.asarray(generate(source.generator, z))
    data = source.data
    if data.name in POINT_DATASETS:
        real = np.asarray(data.mixture().sample(n, seed=source.seed)[0])
    else:
        real = data.real(n, source.seed, split="train")
    return fake, real, data.mixture().means if data.has_mixture else None


def write_samples(source, step):
    """Logs samples at ``step``: a grid (images), or a scatter over the data and the points
    themselves (``samples/points_<step>.npy``, for density plots)."""
    if source.points:
        fake, real, means = point_samples(source)
        image = plots.figure_to_rgb(plots.scatter_over_data_figure(fake, real, means))
        tf.summary.image("samples", image[None], step=step)
        if means is not None:
            record_mode_occupancy(source, step, fake, means)
        storage.save_with(lambda f: np.save(f, fake), os.path.join(source.run_dir.samples_dir, f"points_{step:08d}.npy"))
        return
    output = source.output_activation
    z = source.fixed_z()
    if hasattr(source.generator, "steps"):  # GRAN: the canvas after each drawing step t
        images, canvases = generate(source.generator, z, return_canvases=True)
        for t, canvas in enumerate(np.asarray(canvases), start=1):
            tf.summary.image(f"canvas/step_{t}", grid_of(canvas, output)[None], step=step)
    else:
        images = generate(source.generator, z)
    grid = grid_of(images, output)
    tf.summary.image("samples", grid[None], step=step)
    plots.save_png(grid, os.path.join(source.run_dir.samples_dir, f"samples_{step:08d}.png"))


def record_mode_occupancy(source, step, fake, means):
    """Appends the fraction of samples nearest each mode at ``step`` to mode_occupancy.jsonl
    (the data of the mode-hopping plot)."""
    occupancy = mode_occupancy(fake, means)
    source.run_dir.append_record(OCCUPANCY_FILE, {"step": step, "occupancy": occupancy.tolist()})


def save_final_plot(source):
    """The end-of-run pictures of point data: samples over the data (final.png) and the mode
    occupancy over training (mode_occupancy.png, where mode hopping shows)."""
    if not source.points:
        return None
    fake, real, means = point_samples(source)
    records = source.run_dir.read_records(OCCUPANCY_FILE)
    if records:
        plots.mode_occupancy_plot([r["occupancy"] for r in records], [r["step"] for r in records],
                                  os.path.join(source.run_dir.samples_dir, "mode_occupancy.png"))
    return plots.scatter_over_data(fake, real, means, path=os.path.join(source.run_dir.samples_dir, "final.png"))


def evaluate_and_record(generator, data, seed, metrics, step, n_samples=None, run_dir=None, fid_reference=None):
    """A training-time evaluation of ``generator`` on its run's ``data`` (FID against
    ``fid_reference`` statistics when given): the values, as TensorBoard scalars ``eval/<name>``
    and (with ``run_dir``) a metrics.jsonl record naming the judging networks and protocols."""
    ctx = run_metrics.EvalContext(generator, data, seed=seed, n_samples=n_samples, fid_reference=fid_reference)
    values = run_metrics.evaluate(ctx, metrics)
    run_metrics.record_evaluation(run_metrics.evaluation_record(ctx, values, step=step), run_dir)
    return values


GIN_BINDING = re.compile(r"^([\w./]+)\s*=\s*(.*)$", re.S)


def gin_bindings(config_str):
    """{binding: value} of a gin config string (``gin.config_str()``): numbers, booleans and
    strings as themselves, anything else (tuples, references, None) as its gin text."""
    statements, values = [], {}
    for line in config_str.splitlines():
        if line[:1].isspace() and statements:
            statements[-1] = statements[-1].rstrip("\\ ") + " " + line.strip()  # a value gin wrapped
        elif line.strip() and not line.lstrip().startswith(("#", "import ", "include ")):
            statements.append(line.strip())
    for statement in statements:
        match = GIN_BINDING.match(statement)
        if not match:
            continue
        try:
            value = ast.literal_eval(match[2])
        except (ValueError, SyntaxError):
            value = None
        values[match[1]] = value if isinstance(value, (bool, int, float, str)) else " ".join(match[2].split())
    return values


def write_hparams(config_str, trial_id):
    """The run's gin bindings as TensorBoard HParams, so that ``tensorboard --logdir <sweep>``
    compares runs by any setting (K, seeds, losses) in its HParams dashboard."""
    from tensorboard.plugins.hparams import api as hparams_api

    hparams_api.hparams(gin_bindings(config_str), trial_id=trial_id)
