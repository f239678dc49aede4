"""``python launch/fid_stats.py`` in a checkout: the same command as ``gran-fid-stats`` (gran_tf.cli.fid_stats)."""
from gran_tf.cli.fid_stats import run

if __name__ == "__main__":
    run()
