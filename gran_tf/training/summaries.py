"""What the trainer shows in TensorBoard and in ``samples/``: image grids, GRAN canvases,
scatter plots of point samples over the data."""
import math
import os

import numpy as np
import tensorflow as tf

from gran_tf import storage
from gran_tf.eval import plots
from gran_tf.eval.modes import assign_modes

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


def point_samples(trainer, n=_N_POINTS):
    z = tf.random.stateless_normal([n, *trainer.generator.z_shape], [trainer.seed, 2**31 - 2])
    fake = np.asarray(generate(trainer.generator, z))
    mixture = trainer.data.mixture()
    real, _ = mixture.sample(n, seed=trainer.seed)
    return fake, np.asarray(real), mixture.means


def write_samples(trainer, step):
    """Logs samples at ``step``: a grid (images), or a scatter over the data and the points
    themselves (``samples/points_<step>.npy``, for density plots)."""
    if trainer.spec.kind == "points":
        fake, real, means = point_samples(trainer)
        image = plots.figure_to_rgb(plots.scatter_over_data_figure(fake, real, means))
        tf.summary.image("samples", image[None], step=step)
        record_mode_occupancy(trainer, step, fake, means)
        storage.save_with(lambda f: np.save(f, fake), os.path.join(trainer.run_dir.samples_dir, f"points_{step:08d}.npy"))
        return
    output = getattr(trainer.generator, "out_activation", "sigmoid")
    z = trainer.fixed_z()
    if hasattr(trainer.generator, "steps"):  # GRAN: the canvas after each drawing step t
        images, canvases = generate(trainer.generator, z, return_canvases=True)
        for t, canvas in enumerate(np.asarray(canvases), start=1):
            tf.summary.image(f"canvas/step_{t}", grid_of(canvas, output)[None], step=step)
    else:
        images = generate(trainer.generator, z)
    grid = grid_of(images, output)
    tf.summary.image("samples", grid[None], step=step)
    plots.save_png(grid, os.path.join(trainer.run_dir.samples_dir, f"samples_{step:08d}.png"))


def record_mode_occupancy(trainer, step, fake, means):
    """Appends the fraction of samples nearest each mode at ``step`` to mode_occupancy.jsonl
    (the data of the mode-hopping plot)."""
    nearest, _ = assign_modes(fake, means, trainer.data.mixture().std)
    occupancy = np.bincount(nearest, minlength=len(means)) / len(nearest)
    trainer.run_dir.append_record(OCCUPANCY_FILE, {"step": step, "occupancy": occupancy.tolist()})


def save_final_plot(trainer):
    """The end-of-run pictures of point data: samples over the data (final.png) and the mode
    occupancy over training (mode_occupancy.png, where mode hopping shows)."""
    if trainer.spec.kind != "points":
        return None
    fake, real, means = point_samples(trainer)
    records = trainer.run_dir.read_records(OCCUPANCY_FILE)
    if records:
        plots.mode_occupancy_plot([r["occupancy"] for r in records], [r["step"] for r in records],
                                  os.path.join(trainer.run_dir.samples_dir, "mode_occupancy.png"))
    return plots.scatter_over_data(fake, real, means, path=os.path.join(trainer.run_dir.samples_dir, "final.png"))
