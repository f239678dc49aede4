"""``python launch/inference_rank.py`` in a checkout: the same command as ``gran-inference-rank`` (gran_tf.cli.inference_rank)."""
from gran_tf.cli.inference_rank import run

if __name__ == "__main__":
    run()
