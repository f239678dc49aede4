"""FID reference statistics of real images, in TTUR's ``.npz`` format (``mu``, ``sigma``) with
the features (for KID and precision/recall) and what they were computed from.

    gran-fid-stats --dataset=folder:/data/celeba --gin_param="image_folder.size=64" --out=celeba64_train.npz
    gran-fid-stats --dataset=cifar10 --split=train --out=cifar10_train.npz      # all 50k images
    gran-fid-stats --model_dir=runs/lsun_gran5 --split=test --n=10000 --out=lsun_test.npz
    gran-evaluate --model_dir=runs/lsun_gran5 --metrics=fid,kid --fid_reference=lsun_test.npz

The images are those the run's evaluation would read (a folder or array file at the training
resolution, a built-in split, a run's own data), rounded to uint8 as saved images are, through
the FID Inception network. ``--nofeatures`` writes mu and sigma only, as TTUR's files do.
"""
import json

from absl import flags

from gran_tf import config, run_record
from gran_tf.cli.common import DATA_FLAG_HELP, absl_entry, positive
from gran_tf.data import DataRecord
from gran_tf.errors import ConfigError
from gran_tf.eval import reference
from gran_tf.eval.features import default_feature_network, feature_statistics
from gran_tf.eval.loading import with_data
from gran_tf.rundir import RunDir

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "a built-in dataset, folder:PATH or array:PATH (as Trainer.dataset)")
flags.DEFINE_string("model_dir", None, "or: the run whose data to use")
flags.DEFINE_string("out", None, "the .npz file to write", required=True)
flags.DEFINE_string("split", "train", "the split to use (TTUR's statistics are of the train split)")
flags.DEFINE_integer("n", None, "images to use (default: all of the split)")
flags.DEFINE_integer("seed", 0, "which images when --n is less than the split")
flags.DEFINE_multi_string("gin_param", [], "gin bindings of the data, e.g. image_folder.size=64")
flags.DEFINE_string("data_dir", None, "tensorflow-datasets directory for tfds image sets")
flags.DEFINE_string("data", None, DATA_FLAG_HELP)
flags.DEFINE_bool("features", True, "keep the features (KID and precision/recall need them)")
flags.DEFINE_bool("quantize", True, "round images to uint8 before the network")
flags.DEFINE_bool("allow_repeats", False, "let images repeat when --n exceeds the split")


def chosen_data():
    """The DataRecord of --dataset (under --gin_param) or of --model_dir's run."""
    if bool(FLAGS.dataset) == bool(FLAGS.model_dir):
        raise ConfigError("give exactly one of --dataset and --model_dir")
    if FLAGS.model_dir:
        return with_data(run_record.read(RunDir(FLAGS.model_dir)), FLAGS.data).data
    config.parse((), FLAGS.gin_param)
    return DataRecord.current(FLAGS.dataset)


def main():
    if not FLAGS.out.endswith(".npz"):
        raise ConfigError(f"--out must name a .npz file, got {FLAGS.out}")
    data = chosen_data()
    if data.spec.kind != "image":
        raise ConfigError(f"FID statistics need image data; {data.name!r} holds {data.spec.kind}")
    n = positive("--n", FLAGS.n) if FLAGS.n is not None else data.split_size(FLAGS.split)
    if n is None:
        raise ConfigError(f"the size of the {FLAGS.split} split of {data.name!r} is unknown: give --n")
    images = data.real(n, FLAGS.seed, split=FLAGS.split, data_dir=FLAGS.data_dir, allow_repeats=FLAGS.allow_repeats)
    stats = feature_statistics(reference.to_pixels(images, data.value_range), default_feature_network(),
                               FLAGS.quantize, desc=f"{data.name}/{FLAGS.split}", data=data.identity(),
                               split=FLAGS.split, seed=FLAGS.seed)
    stats = (stats if FLAGS.features else stats.without_features()).save(FLAGS.out)
    print(json.dumps({"out": FLAGS.out, **stats.provenance()}, indent=2, sort_keys=True))


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
