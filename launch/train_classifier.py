"""``python launch/train_classifier.py`` in a checkout: the same command as ``gran-train-classifier`` (gran_tf.cli.train_classifier)."""
from gran_tf.cli.train_classifier import run

if __name__ == "__main__":
    run()
