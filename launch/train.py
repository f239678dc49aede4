"""``python launch/train.py`` in a checkout: the same command as ``gran-train`` (gran_tf.cli.train)."""
from gran_tf.cli.train import run

if __name__ == "__main__":
    run()
