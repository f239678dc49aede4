"""``python launch/sample.py`` in a checkout: the same command as ``gran-sample`` (gran_tf.cli.sample)."""
from gran_tf.cli.sample import run

if __name__ == "__main__":
    run()
