"""The Unrolled GAN paper's Figure 1 layout for point runs: heatmaps of each run's samples over
training, from the ``samples/points_<step>.npy`` a point run keeps at each sample step
(``gran-density-grid``; the embedded default of ``gran-train``)."""
import io
import os

import numpy as np

from gran_tf import run_record, storage
from gran_tf.errors import ConfigError, RunDirError
from gran_tf.eval import plots


def points_at(run_dir, step):
    path = run_dir.join("samples", f"points_{step:08d}.npy")
    if not storage.exists(path):
        raise RunDirError(f"{run_dir.path} has no samples at step {step} ({path} is missing)")
    return np.load(io.BytesIO(storage.read_bytes(path)))


def sample_steps(run_dir):
    """The steps at which a point run kept its samples, in order."""
    names = storage.glob(run_dir.join("samples", "points_*.npy"))
    return sorted(int(os.path.basename(name)[len("points_"):-len(".npy")]) for name in names)


def write_density_grid(runs, steps, out, extent=2.6, n_data=2500):
    """The figure of ``runs`` [(label, RunDir)] at ``steps``, written to ``out`` (a PNG path)."""
    if not out.endswith(".png"):
        raise ConfigError(f"the density grid must be a .png file, got {out!r}")
    records = [run_record.read(run_dir) for _, run_dir in runs]
    run_record.same_data(records, [label for label, _ in runs])
    if records[0].data.spec.kind != "points" or records[0].data.spec.shape != (2,):
        raise ConfigError(f"density grids need 2-D point data, not {records[0].data.name}")
    rows = [(label, [(step, points_at(run_dir, step)) for step in steps]) for label, run_dir in runs]
    data, _ = records[0].data.mixture().sample(n_data, seed=records[0].seed + 1)
    return plots.save_figure(plots.density_grid_figure(rows, np.asarray(data), (-extent, extent)), out)
