"""``python launch/sweep.py`` in a checkout: the same command as ``gran-sweep`` (gran_tf.cli.sweep)."""
from gran_tf.cli.sweep import run

if __name__ == "__main__":
    run()
