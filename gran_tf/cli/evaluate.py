"""Evaluate a trained run with named metrics; results go to the run directory.

    gran-evaluate --model_dir=runs/ring --metrics=modes
    gran-evaluate --model_dir=runs/mnist_gran3 --metrics=mnist_score,fid,kid --n_samples=2000

    gran-evaluate --model_dir=runs/ring --metrics=modes --checkpoint=best     # or =final, =2000
    gran-evaluate --model_dir=runs/ring --metrics=modes --samples=theirs.npy   # score given samples

    gran-evaluate --model_dir=runs/cifar10 --metrics=fid,kid,prdc --protocol=studiogan
    gran-evaluate --model_dir=runs/cifar10 --metrics=fid --fid_reference=fid_stats_cifar10_train.npz --n_samples=50000

FID-type scores (fid, kid, prdc) follow a protocol: ``--protocol=ttur`` (50k samples against the
whole train split) or ``studiogan`` (10k against the whole test split); ``--n_samples``,
``--n_real``, ``--split`` and ``--noquantize`` override its parts. Without a protocol: n_samples
(default 10k) against as many real images of --split. ``--fid_reference`` scores against a
statistics file (gran-fid-stats, TTUR, pytorch-fid) instead of the run's real images.

``--samples`` (a .npy array, or a .npz's array ``samples`` or only array, e.g. from
``gran-sample``) scores samples made elsewhere, another implementation's say, against the run's
data with the same evaluator: the JSON is printed and the run directory is left untouched.

Writes ``eval_<step>.json`` (results of several evaluations of one step are merged; the step is
the evaluated weights' own; ``networks`` names the classifier / feature network that judged, with
a sha256 of its weights) and appends to ``metrics.jsonl`` and TensorBoard (``eval/...``).
Records also say how FID-type scores were made (``protocols``: n_real, n_fake, split, quantize, the
reference's sha256). Metrics: modes (point data), stacked_modes, colored_js, mnist_score, pairwise,
fid, kid, prdc, is.
"""
import json

import tensorflow as tf
from absl import flags

from gran_tf import run_record
from gran_tf.cli.common import DATA_FLAG_HELP, absl_entry, positive
from gran_tf.eval import reference, run_metrics
from gran_tf.eval.loading import load_run
from gran_tf.eval.sample_files import load_samples
from gran_tf.rundir import RunDir

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "run directory to evaluate", required=True)
flags.DEFINE_list("metrics", ["modes"], "comma-separated metric names")
flags.DEFINE_integer("n_samples", None, "samples per metric (default: each metric's protocol size)")
flags.DEFINE_string("split", None, "real-data split to compare with (default: the protocol's, else test)")
flags.DEFINE_enum("protocol", None, sorted(reference.PROTOCOLS), "published FID protocol (sample counts, split)")
flags.DEFINE_integer("n_real", None, "real images for fid/kid/prdc (default: the protocol's, else n_samples)")
flags.DEFINE_bool("quantize", True, "round generated images to uint8 before the Inception network, as TTUR does")
flags.DEFINE_string("fid_reference", None, "score fid/kid/prdc against this statistics .npz (gran-fid-stats, TTUR)")
flags.DEFINE_bool("allow_repeats", False, "let FID's real images repeat when the split holds fewer than asked for")
flags.DEFINE_string("data_dir", None, "tensorflow-datasets directory for tfds image sets")
flags.DEFINE_string("checkpoint", "final", "weights to evaluate: final (export/), best (ckpt_best/) or a step")
flags.DEFINE_string("data", None, DATA_FLAG_HELP)
flags.DEFINE_string("samples", None, "score these samples (.npy, or .npz: 'samples' or its only array) against "
                                     "the run's data instead of the run's generator; writes nothing")


def fid_settings(n_samples):
    """EvalContext's FID settings from the flags, and the split the other metrics use."""
    protocol = reference.protocol(FLAGS.protocol, n_fake=n_samples, split=FLAGS.split, quantize=FLAGS.quantize,
                                  n_real=None if FLAGS.n_real is None else positive("--n_real", FLAGS.n_real))
    return protocol.split, {"fid_protocol": protocol, "fid_reference": FLAGS.fid_reference,
                            "allow_repeats": FLAGS.allow_repeats}


def score_given_samples(n_samples):
    run = run_record.read(RunDir(FLAGS.model_dir))
    split, fid = fid_settings(n_samples)
    samples = load_samples(FLAGS.samples, flag="--samples")
    ctx = run_metrics.GivenSamples(samples, run.data, seed=run.seed, n_samples=n_samples, split=split,
                                   data_dir=FLAGS.data_dir, **fid)
    values = run_metrics.evaluate(ctx, FLAGS.metrics)
    record = run_metrics.evaluation_record(ctx, values, samples=FLAGS.samples, data_of=FLAGS.model_dir, split=split)
    print(json.dumps(record, indent=2, sort_keys=True))


def merged(earlier, record):
    """An eval_<step>.json record over an earlier one of the same step: values replaced, the
    networks and protocols of both kept."""
    facts = {key: {**earlier.get(key, {}), **record.get(key, {})} for key in ("networks", "protocols")}
    return {**earlier, **record, **{key: value for key, value in facts.items() if value}}


def main():
    run_metrics.check_names(FLAGS.metrics)
    n_samples = None if FLAGS.n_samples is None else positive("--n_samples", FLAGS.n_samples)
    if FLAGS.samples:
        score_given_samples(n_samples)
        return
    run = load_run(FLAGS.model_dir, checkpoint=FLAGS.checkpoint, data=FLAGS.data)
    split, fid = fid_settings(n_samples)
    ctx = run.context(n_samples, split, FLAGS.data_dir, **fid)
    values = run_metrics.evaluate(ctx, FLAGS.metrics)
    step = run.step
    record = run_metrics.evaluation_record(ctx, values, step=step, checkpoint=run.checkpoint, split=split)
    run.run_dir.write_json(f"eval_{step}.json", merged(run.run_dir.read_json(f"eval_{step}.json") or {}, record))
    with tf.summary.create_file_writer(run.run_dir.path).as_default():
        run_metrics.record_evaluation(record, run.run_dir)
    print(json.dumps(record, indent=2, sort_keys=True))


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
