"""Evaluate a trained run with named metrics; results go to the run directory.

    gran-evaluate --model_dir=runs/ring --metrics=modes
    gran-evaluate --model_dir=runs/mnist_gran3 --metrics=mnist_score,fid,kid --n_samples=2000

    gran-evaluate --model_dir=runs/ring --metrics=modes --checkpoint=best     # or =final, =2000

Writes ``eval_<step>.json`` (results of several evaluations of one step are merged; the step is
the evaluated weights' own; ``networks`` names the classifier / feature network that judged, with
a sha256 of its weights) and appends to ``metrics.jsonl`` and TensorBoard (``eval/...``).
Metrics: modes (point data), stacked_modes, colored_js, mnist_score, pairwise, fid, kid, is.
"""
import json

from absl import flags

import tensorflow as tf

from gran_tf.cli.common import absl_entry, positive
from gran_tf.eval import run_metrics
from gran_tf.errors import RunDirError
from gran_tf.eval.loading import load_run

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "run directory to evaluate", required=True)
flags.DEFINE_list("metrics", ["modes"], "comma-separated metric names")
flags.DEFINE_integer("n_samples", None, "samples per metric (default: each metric's protocol size)")
flags.DEFINE_string("split", "test", "real-data split to compare with")
flags.DEFINE_string("data_dir", None, "tensorflow-datasets directory for tfds image sets")
flags.DEFINE_string("checkpoint", "final", "weights to evaluate: final (export/), best (ckpt_best/) or a step")


def main():
    run_metrics.check_names(FLAGS.metrics)
    n_samples = None if FLAGS.n_samples is None else positive("--n_samples", FLAGS.n_samples)
    run = load_run(FLAGS.model_dir, checkpoint=FLAGS.checkpoint)
    if run.step is None:
        raise RunDirError(f"{run.run_dir.path} does not record the step of its export; use --checkpoint=STEP")
    ctx = run.context(n_samples, FLAGS.split, FLAGS.data_dir)
    values = run_metrics.evaluate(ctx, FLAGS.metrics)
    step = run.step
    record = {"step": step, "checkpoint": run.checkpoint, "split": FLAGS.split,
              **{f"eval/{k}": v for k, v in values.items()}}
    if ctx.networks:  # which classifier / feature network judged, by content hash
        record["networks"] = ctx.networks
    earlier = run.run_dir.read_json(f"eval_{step}.json") or {}
    networks = {**earlier.get("networks", {}), **ctx.networks}
    run.run_dir.write_json(f"eval_{step}.json", {**earlier, **record, **({"networks": networks} if networks else {})})
    run.run_dir.append_metrics(record)
    with tf.summary.create_file_writer(run.run_dir.path).as_default():
        for k, v in values.items():
            tf.summary.scalar(f"eval/{k}", v, step=step)
    print(json.dumps(record, indent=2, sort_keys=True))


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
