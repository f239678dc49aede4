"""Train a GAN from gin files.

    gran-train                                  # the embedded default (ring)
    gran-train --gin_file=mnist_gran3 --model_dir=runs/mnist_gran3
    gran-train --gin_file=ring --gin_param="Trainer.total_steps=200"

Re-running with the same --model_dir resumes from its latest checkpoint.
"""
import os

from absl import flags

from gran_tf import config
from gran_tf.cli.common import absl_entry
from gran_tf.training.trainer import Trainer

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", ["ring.gin"], "gin files (a path, or the name of a shipped config, e.g. lsun_gran5)")
flags.DEFINE_multi_string("gin_param", [], "gin bindings, e.g. Trainer.total_steps=200")
flags.DEFINE_string("model_dir", None, "run directory (default: runs/<first gin file name>)")


def default_model_dir(gin_files):
    name = os.path.splitext(os.path.basename(gin_files[0]))[0]
    return os.path.join("runs", name)


def main():
    config_str = config.parse(FLAGS.gin_file, FLAGS.gin_param)
    model_dir = FLAGS.model_dir or default_model_dir(FLAGS.gin_file)
    trainer = Trainer(model_dir=model_dir)
    if not trainer.role.writes:  # a multi-worker non-chief: the chief reports
        trainer.train(config_str)
        return
    print(f"run directory: {trainer.run_dir.path}", flush=True)
    metrics = trainer.train(config_str)
    print("final: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()), flush=True)
    if trainer.spec.kind == "points":
        print(f"samples over the data: {os.path.join(trainer.run_dir.samples_dir, 'final.png')}")


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
