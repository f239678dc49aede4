"""``gran_tf.evaluate``: the named metrics of a generator, as ``gran-evaluate`` computes them."""
from gran_tf.eval import reference, run_metrics
from gran_tf.training.callbacks import data_record


def evaluate(generator, data, metrics, seed=0, n_samples=None, split="test", protocol=None, fid_reference=None):
    """``{"<metric>/<key>": value}`` for ``metrics`` (``modes``, ``fid``, ``kid``, ``prdc``,
    ``mnist_score``, ``pairwise``, ...) of ``generator`` against ``data`` (a dataset's name, a
    ``DataRecord``, or a NumPy array or tf.data.Dataset of examples), drawing ``n_samples``
    samples (the metric's protocol size by default) with ``seed``. FID-type scores follow
    ``protocol`` (``"ttur"``, ``"studiogan"``; default n_samples against as many of ``split``) or
    compare with ``fid_reference``, a statistics file."""
    fid_protocol = reference.protocol(protocol, n_fake=n_samples, split=split if protocol is None else None)
    ctx = run_metrics.EvalContext(generator, data_record(data), seed=seed, n_samples=n_samples, split=fid_protocol.split,
                                  fid_protocol=fid_protocol, fid_reference=fid_reference)
    return run_metrics.evaluate(ctx, tuple(metrics))
