"""Train a GAN from gin files.

    gran-train                                  # the embedded default: GAN vs Unrolled GAN on the ring
    gran-train --gin_file=mnist_gran3 --model_dir=runs/mnist_gran3
    gran-train --gin_file=ring --gin_param="Trainer.total_steps=200"

Re-running with the same --model_dir resumes from its latest checkpoint.
"""
import os

from absl import flags

from gran_tf import config
from gran_tf.cli.common import absl_entry
from gran_tf.eval import run_metrics
from gran_tf.eval.density_grid import sample_steps, write_density_grid
from gran_tf.training.trainer import Trainer

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "gin files (a path, or the name of a shipped config, e.g. lsun_gran5); "
                                          "none: the embedded default, a GAN and an Unrolled GAN on the ring")
flags.DEFINE_multi_string("gin_param", [], "gin bindings, e.g. Trainer.total_steps=200")
flags.DEFINE_string("model_dir", None, "run directory (default: runs/<first gin file name>; for the embedded "
                                       "default, the folder of its two runs, runs/ring_demo)")

# The embedded default's two runs: (label, shipped config), drawn in this order.
DEMO_RUNS = (("GAN (K = 0)", "ring_demo_gan"), ("Unrolled GAN (K = 10)", "ring_demo_unrolled10"))


def default_model_dir(gin_files):
    name = os.path.splitext(os.path.basename(gin_files[0]))[0]
    return os.path.join("runs", name)


def train(gin_files, model_dir):
    """Trains (or resumes) one run; returns its Trainer, or None on a multi-worker non-chief."""
    config_str = config.parse(gin_files, FLAGS.gin_param)
    trainer = Trainer(model_dir=model_dir)
    if not trainer.role.writes:  # the chief reports
        trainer.train(config_str)
        return None
    print(f"run directory: {trainer.run_dir.path}", flush=True)
    metrics = trainer.train(config_str)
    print("final: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()), flush=True)
    return trainer


def mode_coverage_line(label, trainer):
    """'<label>: 8 of 8 modes covered, 62.1% of samples within 3σ of a mode' (VEEGAN protocol)."""
    ctx = run_metrics.EvalContext(trainer.generator, trainer.data, seed=trainer.seed)
    report = run_metrics.evaluate(ctx, ["modes"])
    return (f"{label}: {report['modes/modes_covered']:.0f} of {report['modes/num_modes']:.0f} modes covered, "
            f"{report['modes/hq_percent']:.1f}% of samples within 3σ of a mode")


def train_demo(out_dir):
    """The embedded default, the library's point in one picture: a GAN and an Unrolled GAN
    (K = 10) trained on the ring one after the other, their samples over training side by side
    in the Unrolled GAN paper's Figure 1 layout (``<out_dir>/figure1.png``)."""
    runs, lines = [], []
    for label, name in DEMO_RUNS:
        trainer = train([name], os.path.join(out_dir, name))
        if trainer is None:
            continue
        runs.append((label, trainer.run_dir))
        lines.append(mode_coverage_line(label, trainer))
    if not runs:
        return
    figure = write_density_grid(runs, sample_steps(runs[-1][1]), os.path.join(out_dir, "figure1.png"))
    print("\n".join(lines))
    print(f"the two runs' samples over training, side by side: {figure}")


def main():
    if not FLAGS.gin_file:
        train_demo(FLAGS.model_dir or os.path.join("runs", "ring_demo"))
        return
    trainer = train(FLAGS.gin_file, FLAGS.model_dir or default_model_dir(FLAGS.gin_file))
    if trainer is not None and trainer.spec.kind == "points":
        print(f"samples over the data: {os.path.join(trainer.run_dir.samples_dir, 'final.png')}")


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
