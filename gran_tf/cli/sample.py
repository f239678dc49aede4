"""Draw samples from a trained run's exported generator.

    gran-sample --model_dir=runs/mnist_gran3 --n=64 --out=samples.png
    gran-sample --model_dir=runs/ring --n=2500 --out=samples.npz
    gran-sample --model_dir=runs/mnist_gran5 --n=8 --canvases --out=canvases.png   # GRAN paper Fig. 3

``.png`` writes an image grid (images) or a scatter over the data (points); ``.npz`` writes the
raw samples under the key ``samples`` (the format battle.py --samples_npz reads).
"""
import numpy as np
from absl import flags

from gran_tf import random_streams
from gran_tf.cli.common import DATA_FLAG_HELP, absl_entry, positive
from gran_tf.errors import ConfigError
from gran_tf.eval import plots
from gran_tf.eval.loading import load_run
from gran_tf.training.summaries import grid_of

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "run directory", required=True)
flags.DEFINE_integer("n", 64, "number of samples")
flags.DEFINE_integer("seed", 0, "latent seed")
flags.DEFINE_string("out", "samples.png", "output file: .png or .npz")
flags.DEFINE_string("checkpoint", "final", "weights: final (export/), best (ckpt_best/) or a step")
flags.DEFINE_string("data", None, DATA_FLAG_HELP)
flags.DEFINE_bool("canvases", False, "GRAN: one row per sample, the canvas σ(Σ_{s<=t} ΔC_s) after each drawing "
                  "step t = 1..T (a .png)")


def main():
    if not FLAGS.out.endswith((".png", ".npz")):
        raise ConfigError(f"--out must end in .png or .npz, got {FLAGS.out!r}")
    positive("--n", FLAGS.n)
    run = load_run(FLAGS.model_dir, checkpoint=FLAGS.checkpoint, data=FLAGS.data)
    if FLAGS.canvases:
        return write_canvases(run)
    ctx = run.context()
    ctx.seed = FLAGS.seed
    samples = ctx.samples(FLAGS.n)
    if FLAGS.out.endswith(".npz"):
        np.savez_compressed(FLAGS.out, samples=samples)
    elif ctx.spec.kind == "points":
        plots.scatter_over_data(samples, ctx.real(FLAGS.n), path=FLAGS.out)
    else:
        plots.save_png(grid_of(samples, "tanh" if run.data.pixel_range == "symmetric" else "sigmoid"), FLAGS.out)
    print(f"wrote {FLAGS.n} samples of {run.name} to {FLAGS.out}")


def write_canvases(run):
    """The drawing steps of FLAGS.n samples: row i holds sample i's canvases at t = 1..T."""
    if not hasattr(run.generator, "steps") or not FLAGS.out.endswith(".png"):
        raise ConfigError("--canvases needs a GRAN run and a .png --out")
    key = random_streams.key(FLAGS.seed, random_streams.SAMPLE_CLI)
    z = random_streams.standard_normal([FLAGS.n, *run.generator.z_shape], key)
    _, canvases = run.generator(z, training=False, return_canvases=True)  # [T, n, H, W, C]
    by_sample = np.swapaxes(np.asarray(canvases), 0, 1).reshape(-1, *canvases.shape[2:])
    plots.save_png(plots.image_grid(by_sample, nrow=run.generator.steps), FLAGS.out)
    print(f"wrote the {run.generator.steps} drawing steps of {FLAGS.n} samples of {run.name} to {FLAGS.out}")


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
