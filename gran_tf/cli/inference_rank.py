"""Inference via optimisation across models (Unrolled paper): every model reconstructs the same
real images by L-BFGS on z; prints each model's mean MSE and its "percent best rank" (the share
of images it reconstructs best).

    gran-inference-rank --models runs/mnist_gran1 --models runs/mnist_gran3 --n=100
"""
import json

from absl import flags

from gran_tf import storage
from gran_tf.cli.common import absl_entry, positive
from gran_tf.errors import ConfigError
from gran_tf.eval.inference import percent_best_rank
from gran_tf.eval.loading import load_runs
from gran_tf.eval.run_metrics import reconstruct

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("models", [], "run directories (at least two, trained on the same data)")
flags.DEFINE_integer("n", 100, "real images to reconstruct")
flags.DEFINE_string("split", "test", "split the images come from (the paper reconstructs training images)")
flags.DEFINE_integer("restarts", 3, "L-BFGS random restarts per image, the best kept (the paper's 3)")
flags.DEFINE_integer("seed", 0, "seed of the L-BFGS starting points (restart r uses seed + r); "
                     "the images are drawn with the first run's training seed")
flags.DEFINE_string("checkpoint", "final", "each run's weights: final (export/), best (ckpt_best/) or a step")
flags.DEFINE_string("out", None, "JSON file for the results (default: inference_rank.json in the first run)")


def main():
    if len(FLAGS.models) < 2:
        raise ConfigError("give at least two --models")
    positive("--n", FLAGS.n)
    positive("--restarts", FLAGS.restarts)
    runs = load_runs(FLAGS.models, FLAGS.checkpoint, same_data=True)
    targets = runs[0].context(split=FLAGS.split).real(FLAGS.n)
    mse = {run.name: reconstruct(run.generator, targets, FLAGS.seed, FLAGS.restarts).mse for run in runs}
    ranks = percent_best_rank(mse)
    print("| model | mean MSE | percent best rank |\n|---|---|---|")
    for name, values in mse.items():
        print(f"| {name} | {values.mean():.5f} | {ranks[name]:.1f} |")
    record = {"n": FLAGS.n, "split": FLAGS.split, "restarts": FLAGS.restarts, "seed": FLAGS.seed,
              "mean_mse": {k: float(v.mean()) for k, v in mse.items()},
              "percent_best_rank": ranks}
    path = FLAGS.out or runs[0].run_dir.join("inference_rank.json")
    storage.write_text(path, json.dumps(record, indent=2, sort_keys=True))
    print("wrote", path)


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
