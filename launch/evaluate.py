"""``python launch/evaluate.py`` in a checkout: the same command as ``gran-evaluate`` (gran_tf.cli.evaluate)."""
from gran_tf.cli.evaluate import run

if __name__ == "__main__":
    run()
