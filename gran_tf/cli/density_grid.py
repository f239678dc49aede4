"""Heatmaps of point runs' samples over training, one row per run (the Unrolled GAN paper's
Figure 1 layout), from the ``samples/points_<step>.npy`` a point run keeps at each sample step.

    gran-density-grid --run "K = 0=runs/ring_k/ring_unrolled0/seed0" \
        --run "K = 10=runs/ring_k/ring_unrolled10/seed0" --steps 5000,10000,15000,20000,25000 \
        --out docs/figures/ring_figure1.png

The data panel is drawn from the first run's record; all runs must share their data.
"""
from absl import flags

from gran_tf.cli.common import absl_entry
from gran_tf.errors import ConfigError
from gran_tf.eval.density_grid import write_density_grid
from gran_tf.rundir import RunDir

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("run", [], "LABEL=RUN_DIR, one per row")
flags.DEFINE_list("steps", [], "training steps to show (each run must have samples/points_<step>.npy)")
flags.DEFINE_float("extent", 2.6, "the panels show [-extent, extent]^2")
flags.DEFINE_integer("n_data", 2500, "data points in the data panel")
flags.DEFINE_string("out", "density_grid.png", "output PNG")


def parse_run(text):
    label, sep, path = text.rpartition("=")  # the label may hold "=" ("K = 10"), the path not
    if not sep or not label or not path:
        raise ConfigError(f"--run must be LABEL=RUN_DIR, got {text!r}")
    return label, RunDir(path)


def main():
    if not FLAGS.run or not FLAGS.steps:
        raise ConfigError("give at least one --run LABEL=RUN_DIR and --steps")
    runs = [parse_run(text) for text in FLAGS.run]
    write_density_grid(runs, [int(s) for s in FLAGS.steps], FLAGS.out, FLAGS.extent, FLAGS.n_data)
    print("wrote", FLAGS.out)


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
