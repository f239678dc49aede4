"""``python launch/fetch_weights.py`` in a checkout: the same command as ``gran-fetch-weights`` (gran_tf.cli.fetch_weights)."""
from gran_tf.cli.fetch_weights import run

if __name__ == "__main__":
    run()
