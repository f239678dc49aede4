"""``python launch/density_grid.py`` in a checkout: the same command as ``gran-density-grid`` (gran_tf.cli.density_grid)."""
from gran_tf.cli.density_grid import run

if __name__ == "__main__":
    run()
