"""Named metrics of a trained GAN, shared by ``gran-evaluate`` and the trainer's
training-time evaluation (gin: ``Trainer.eval_metrics``).

A metric takes an :class:`EvalContext` (the generator, the dataset it was trained on, sample
counts) and returns a flat dict of numbers, keyed ``<metric>/<name>``.
"""
import math
import os

import gin
import numpy as np
import tensorflow as tf

from gran_tf import data as gdata
from gran_tf import random_streams
from gran_tf.errors import ConfigError
from gran_tf.eval import reference
from gran_tf.eval.features import SCORES, weights_digest

DEFAULT_N = {"modes": 2500, "stacked_modes": 25600}  # VEEGAN/PacGAN and Metz et al. protocols
_SAMPLE_BATCH = 500
METRIC_FUNCTIONS = {}  # name -> fn(EvalContext) -> {<name>/<key>: number}


def register(name):
    def decorate(fn):
        METRIC_FUNCTIONS[name] = fn
        return fn

    return decorate


class EvalContext:
    """What a metric needs to know about a run: its generator and its data (a ``DataRecord``:
    the run's own, never the global gin state's)."""

    def __init__(self, generator, data, seed=0, n_samples=None, split="test", data_dir=None, plot_dir=None,
                 fid_protocol=None, fid_reference=None, feature_network=None, allow_repeats=False):
        self.generator, self.data = generator, data
        self.seed, self.n_samples, self.split, self.data_dir = seed, n_samples, split, data_dir
        self.plot_dir = plot_dir  # where metrics that draw figures put their PNGs (None: no figures)
        self.spec = data.spec
        # FID & co.: a reference.FidProtocol (default: n_samples against as many of split), a
        # statistics file or FeatureStatistics to score against, the feature network (default
        # the FID Inception), and whether FID's real images may repeat when a split is too small
        # (repeats bias its covariance: refused by default; other metrics repeat silently).
        self.fid_protocol = fid_protocol or reference.protocol(n_fake=n_samples, split=split)
        self.fid_reference, self.feature_network = fid_reference, feature_network
        self.allow_repeats = allow_repeats
        self.networks = {}  # the judging networks the metrics used: role -> {name, sha256, ...}
        self.protocols = {}  # how scores that depend on a protocol were computed: metric -> facts

    def uses(self, role, model, **facts):
        """Records a judging network (the MNIST classifier, the FID Inception) with a content hash
        of its weights, so that scores say which network gave them."""
        self.networks[role] = {"name": model.name, "sha256": weights_digest(model), **facts}
        return model

    def mnist_classifier(self):
        from gran_tf.eval.classifier import cached_classifier

        classifier = cached_classifier()
        self.uses("mnist_classifier", classifier.model, test_accuracy=classifier.info.get("test_accuracy"))
        return classifier

    @property
    def dataset(self):
        return self.data.name

    @property
    def pixel_range(self):
        return self.data.pixel_range

    @property
    def value_range(self):
        return gdata.VALUE_RANGES[self.pixel_range]

    def n_for(self, metric, fallback=10000):
        return self.n_samples or DEFAULT_N.get(metric, fallback)

    def samples(self, n):
        """n generator samples from a seeded z (inference-mode BN), as NumPy."""
        z = random_streams.standard_normal([n, *self.generator.z_shape], random_streams.key(self.seed, random_streams.EVALUATION))
        return np.concatenate([np.asarray(self.generator(z[i:i + _SAMPLE_BATCH], training=False))
                               for i in range(0, n, _SAMPLE_BATCH)])

    def real(self, n, split=None, allow_repeats=True):
        """n real examples of ``split`` (default: the evaluation split) in the run's pixel range;
        repeated when the split is smaller unless ``allow_repeats`` is False."""
        return self.data.real(n, self.seed, split=split or self.split, data_dir=self.data_dir,
                              batch_size=_SAMPLE_BATCH, allow_repeats=allow_repeats)

    def record_facts(self):
        """What an evaluation record says of how its scores were made (networks, protocols)."""
        return {key: value for key, value in (("networks", self.networks), ("protocols", self.protocols)) if value}


class GivenSamples(EvalContext):
    """An EvalContext whose samples are given (another implementation's output, say) rather than
    drawn from a generator: the same metrics and real data, scored on ``samples`` [N, ...]."""

    def __init__(self, samples, data, seed=0, n_samples=None, split="test", data_dir=None, **fid):
        super().__init__(None, data, seed=seed, n_samples=n_samples, split=split, data_dir=data_dir, **fid)
        self.given = np.asarray(samples)
        if self.given.ndim < 2 or tuple(self.given.shape[1:]) != tuple(self.spec.shape):
            raise ConfigError(f"samples of shape {list(self.given.shape)} do not match {data.name}'s "
                              f"{list(self.spec.shape)} per example")
        if not np.isfinite(self.given).all():
            raise ConfigError(f"{np.count_nonzero(~np.isfinite(self.given))} sample values are not finite")

    def samples(self, n):
        if n > len(self.given):
            raise ConfigError(f"the metric needs {n} samples, {len(self.given)} were given (set --n_samples)")
        return self.given[:n]


def require(ctx, metric, kinds=None, datasets=None):
    if kinds and ctx.spec.kind not in kinds:
        raise ConfigError(f"metric {metric!r} needs {'/'.join(kinds)} data, not {ctx.dataset!r}")
    if datasets and ctx.dataset not in datasets:
        raise ConfigError(f"metric {metric!r} applies to {'/'.join(datasets)}, not {ctx.dataset!r}")


def is_number(v):
    """Finite int/float: lists, None and NaN (e.g. KID's std from a single block) are left out."""
    return isinstance(v, (int, float)) and math.isfinite(v)


def prefixed(metric, values):
    return {f"{metric}/{k}": v for k, v in values.items() if is_number(v)}


@register("modes")
def modes_metric(ctx):
    """Gaussian-mixture coverage: modes, % high quality, reverse KL, JS, FID on raw coordinates."""
    from gran_tf.eval.modes import mode_coverage

    require(ctx, "modes", kinds=("points",))
    n = ctx.n_for("modes")
    mixture = ctx.data.mixture()
    report = mode_coverage(ctx.samples(n), mixture.means, mixture.std, real_samples=ctx.real(n))
    return prefixed("modes", report)


@register("stacked_modes")
def stacked_modes_metric(ctx):
    """Stacked MNIST: distinct digit triples of 1000 and KL to uniform."""
    from gran_tf.eval.mnist_metrics import stacked_mnist_modes

    require(ctx, "stacked_modes", datasets=("stacked_mnist",))
    return prefixed("stacked_modes", stacked_mnist_modes(ctx.samples(ctx.n_for("stacked_modes")),
                                                         classifier=ctx.mnist_classifier(),
                                                         value_range=ctx.value_range))


@register("colored_js")
def colored_js_metric(ctx):
    """Colored MNIST: JS divergence between generated and real digit colours."""
    from gran_tf.eval.mnist_metrics import colored_mnist_js

    require(ctx, "colored_js", datasets=("colored_mnist",))
    n = ctx.n_for("colored_js", 2000)
    return prefixed("colored_js", colored_mnist_js(ctx.samples(n), ctx.real(n), value_range=ctx.value_range,
                                                   real_value_range=ctx.value_range))


@register("mnist_score")
def mnist_score_metric(ctx):
    """The digit classifier's Inception-score analogue and Fréchet distance on its features."""
    from gran_tf.eval.mnist_metrics import mnist_frechet_distance, mnist_score

    require(ctx, "mnist_score", datasets=("mnist",))
    n = ctx.n_for("mnist_score", 5000)
    fake, classifier = ctx.samples(n), ctx.mnist_classifier()
    return {"mnist_score/score": mnist_score(fake, classifier, value_range=ctx.value_range),
            "mnist_score/frechet": mnist_frechet_distance(fake, ctx.real(n), classifier, value_range=ctx.value_range,
                                                          real_value_range=ctx.value_range),
            "mnist_score/n": n}


def plot_path(ctx, name):
    return None if ctx.plot_dir is None else os.path.join(ctx.plot_dir, name)


@register("pairwise")
def pairwise_metric(ctx):
    """Pairwise-distance statistics of samples vs data (Unrolled paper); the histograms go to
    samples/pairwise_distances.png."""
    from gran_tf.eval import plots
    from gran_tf.eval.diversity import pairwise_distances

    n = ctx.n_for("pairwise", 2000)
    result = pairwise_distances(ctx.samples(n), ctx.real(n))
    if ctx.plot_dir:
        plots.distance_histograms(result, plot_path(ctx, "pairwise_distances.png"))
    return {"pairwise/sample_mean": result["samples"]["mean"], "pairwise/data_mean": result["data"]["mean"],
            "pairwise/js": result["js_divergence"], "pairwise/wasserstein_1": result["wasserstein_1"]}


def reconstruct(generator, targets, seed=0, restarts=1):
    """L-BFGS inference of z for each target image (any generator z shape, flattened), the
    best of ``restarts`` random starts per image."""
    from gran_tf.eval.inference import infer_latents

    z_shape = tuple(generator.z_shape)
    generate = lambda z: generator(tf.reshape(z, [-1, *z_shape]), training=False)  # noqa: E731
    return infer_latents(generate, targets, int(np.prod(z_shape)), seed=seed, restarts=restarts)


@register("inference")
def inference_metric(ctx):
    """Inference via optimisation (Unrolled paper): L-BFGS on z to reconstruct test images.

    Reports the mean per-image MSE; the per-image MSEs go to inference_mse.npy and the worst
    reconstructions to samples/worst_reconstructions.png.
    """
    from gran_tf.eval import plots

    require(ctx, "inference", kinds=("image",))
    n = ctx.n_for("inference", 100)
    targets = ctx.real(n)
    result = reconstruct(ctx.generator, targets, ctx.seed)
    if ctx.plot_dir:
        np.save(plot_path(ctx, "inference_mse.npy"), result.mse)
        recons = np.asarray(result.reconstructions).reshape(targets.shape)
        unit = lambda x: (x - ctx.value_range[0]) / (ctx.value_range[1] - ctx.value_range[0])  # noqa: E731
        plots.worst_reconstructions_grid(unit(targets), unit(recons), result.mse, min(8, n),
                                         plot_path(ctx, "worst_reconstructions.png"))
    return {"inference/mean_mse": result.mean_mse, "inference/n": n,
            "inference/converged_fraction": float(np.mean(result.converged))}


@register("neighbours")
def neighbours_metric(ctx):
    """Nearest training images of generated samples (pixel space) as a figure; reports the
    mean distance to the nearest training image."""
    from gran_tf.eval import plots
    from gran_tf.eval.diversity import nearest_neighbours

    require(ctx, "neighbours", kinds=("image",))
    n_train = ctx.n_for("neighbours", 10000)
    train_ctx = EvalContext(ctx.generator, ctx.data, ctx.seed, split="train", data_dir=ctx.data_dir)
    train = train_ctx.real(n_train)
    samples = ctx.samples(16)
    indices, distances = nearest_neighbours(samples, train, k=5)
    if ctx.plot_dir:
        unit = lambda x: (x - ctx.value_range[0]) / (ctx.value_range[1] - ctx.value_range[0])  # noqa: E731
        plots.nearest_neighbour_grid(unit(samples), unit(train), indices, plot_path(ctx, "nearest_neighbours.png"))
    return {"neighbours/mean_nearest_distance": float(distances[:, 0].mean()), "neighbours/n_train": n_train}


def real_statistics(ctx, model, protocol):
    """The reference statistics of ``ctx``'s FID: its ``fid_reference`` file, else those of the
    protocol's real images, cached per data identity, split, n, seed, network and quantisation
    (data given as a tf.data.Dataset has no identity: computed each time)."""
    from gran_tf.eval.features import feature_statistics, network_identity

    if ctx.fid_reference is not None:
        if isinstance(ctx.fid_reference, reference.FeatureStatistics):
            return ctx.fid_reference
        return reference.FeatureStatistics.load(ctx.fid_reference)
    n = protocol.n_real or ctx.data.split_size(protocol.split)
    if n is None:
        raise ConfigError(f"the FID protocol {protocol.name!r} uses the whole {protocol.split} split, whose size "
                          f"is unknown for {ctx.dataset!r} data: give the number of real images (--n_real)")
    data = ctx.data.identity()
    facts = {"data": data, "split": protocol.split, "seed": ctx.seed}

    def compute():
        real = reference.to_pixels(ctx.real(n, protocol.split, ctx.allow_repeats), ctx.value_range)
        return feature_statistics(real, model, protocol.quantize, desc=f"real {protocol.split}", **facts)

    if data is None:
        return compute()
    return reference.cached({**facts, "n": n, "quantize": protocol.quantize, "network": network_identity(model)},
                            compute)


def inception_metrics(ctx, names):
    """FID / KID / IS / prdc through the FID Inception network (see gran_tf.eval.features), by
    ``ctx.fid_protocol``; how they were computed goes to ``ctx.protocols["fid"]``."""
    from gran_tf.eval.features import default_feature_network, score_images

    require(ctx, "fid", kinds=("image",))
    protocol = ctx.fid_protocol
    model, real = None, None
    if set(names) - {"is"}:
        model = ctx.uses("feature_network", ctx.feature_network or default_feature_network())
        real = real_statistics(ctx, model, protocol)
    fake = reference.to_pixels(ctx.samples(protocol.n_fake), ctx.value_range)
    result = score_images(fake, real=real, metrics=names, model=model, split=protocol.split, quantize=protocol.quantize,
                          classifier=inception_score_logits_path() if "is" in names else None)
    ctx.protocols["fid"] = {**protocol.as_dict(), "n_real": result["n_real"], "n_fake": result["n_fake"],
                            **({"reference": real.provenance()} if real is not None else {})}
    return prefixed("inception", result)


INCEPTION_METRICS = SCORES  # one feature extraction serves all three


@gin.configurable("inception_score")
def inception_score_logits_path(path=None):
    """The logits network of the Inception Score (a .keras file or SavedModel path); the
    standard 1008-way inception-2015-12-05 cannot be had offline, so none by default."""
    return path


def check_names(names):
    unknown = [m for m in names if m not in METRIC_FUNCTIONS and m not in INCEPTION_METRICS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {unknown}; expected some of {sorted(METRIC_FUNCTIONS) + list(INCEPTION_METRICS)}")
    if "is" in names and inception_score_logits_path() is None:
        raise ConfigError("metric 'is' needs a classifier giving logits: bind inception_score.path = '<.keras or "
                          "SavedModel>' (the standard inception-2015-12-05 logits are not available offline)")


def evaluate(ctx, names):
    """Runs the named metrics; FID/KID/IS share one feature extraction."""
    check_names(names)
    results = {}
    for name in names:
        if name in METRIC_FUNCTIONS:
            results.update(METRIC_FUNCTIONS[name](ctx))
    inception = [m for m in names if m in INCEPTION_METRICS]
    if inception:
        results.update(inception_metrics(ctx, inception))
    return results


def evaluation_record(ctx, values, **fields):
    """The record of an evaluation: ``fields`` (step, checkpoint, split, ...), each value as
    ``eval/<name>``, and how the scores were made (``ctx.record_facts()``: networks, protocols)."""
    return {**fields, **{f"eval/{k}": v for k, v in values.items()}, **ctx.record_facts()}


def record_evaluation(record, run_dir=None):
    """Records an ``evaluation_record`` (with its ``step``) as the trainer and gran-evaluate do:
    with ``run_dir``, appended to metrics.jsonl; then its ``eval/<name>`` values as TensorBoard
    scalars (the default summary writer). Returns the record."""
    if run_dir is not None:
        run_dir.append_metrics(record)
    for key, value in record.items():
        if key.startswith("eval/"):
            tf.summary.scalar(key, value, step=record["step"])
    return record
