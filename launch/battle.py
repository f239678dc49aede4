"""``python launch/battle.py`` in a checkout: the same command as ``gran-battle`` (gran_tf.cli.battle)."""
from gran_tf.cli.battle import run

if __name__ == "__main__":
    run()
