"""``gran_tf.evaluate``: the named metrics of a generator, as ``gran-evaluate`` computes them."""
from gran_tf.eval import run_metrics
from gran_tf.training.callbacks import data_record


def evaluate(generator, data, metrics, seed=0, n_samples=None, split="test"):
    """``{"<metric>/<key>": value}`` for ``metrics`` (``modes``, ``fid``, ``kid``, ``mnist_score``,
    ``pairwise``, ...) of ``generator`` against ``data`` (a dataset's name, a ``DataRecord``, or
    a NumPy array or tf.data.Dataset of examples), drawing ``n_samples`` samples (the metric's protocol size by default) with
    ``seed``."""
    ctx = run_metrics.EvalContext(generator, data_record(data), seed=seed, n_samples=n_samples, split=split)
    return run_metrics.evaluate(ctx, tuple(metrics))
