"""Feature extraction and the scores computed on features: FID, KID, IS, precision/recall and
density/coverage ("prdc").

Images everywhere are NumPy arrays [N, H, W] or [N, H, W, C] with values in [0, 255] (uint8 or
float), quantised to uint8 before the network unless asked not to (see
:mod:`gran_tf.eval.reference`). The feature network is any Keras model mapping such images to
[N, D] features; by default the FID Inception port (:func:`gran_tf.eval.inception.load_fid_inception`).
Every score dict records n_real, n_fake, split and the feature network, since FID depends on all
of them.
"""
import functools
import hashlib
import pathlib

import keras
import numpy as np
import tqdm

from gran_tf.errors import GranError
from gran_tf.eval import manifold, tfgan_math
from gran_tf.eval.reference import FeatureStatistics, to_uint8

SCORES = ("fid", "kid", "is", "prdc")
PRECISION_RECALL_K = 3  # Kynkäänniemi et al. 2019
DENSITY_COVERAGE_K = 5  # Naeem et al. 2020
DEFAULT_BATCH_SIZE = 50
KID_BLOCK_SIZE = 1024  # TF-GAN's default block of the KID estimator
INCEPTION_SCORE_SPLITS = 10  # Salimans et al. 2016 report mean ± std over 10 splits


def _with_channel_axis(images):
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise GranError(f"images must be [N, H, W] or [N, H, W, 1|3], got shape {images.shape}")
    return images


def extract_features(model, images, batch_size=DEFAULT_BATCH_SIZE, progress=True, desc="features"):
    """[N, D] float32 outputs of ``model`` on ``images``, computed ``batch_size`` at a time.

    The last batch is padded to full size (and the padding dropped), so the model sees one
    input shape only. A tqdm bar is shown on stderr when there is more than one batch.
    """
    images = _with_channel_axis(images)
    n = len(images)
    if n == 0:
        raise GranError("extract_features got no images")
    outputs = []
    with tqdm.tqdm(total=n, desc=desc, unit="img", disable=not progress or n <= batch_size) as bar:
        for start in range(0, n, batch_size):
            batch = images[start:start + batch_size].astype(np.float32)
            size = len(batch)
            if size < batch_size and n > batch_size:
                batch = np.concatenate([batch, np.repeat(batch[-1:], batch_size - size, axis=0)])
            outputs.append(np.asarray(model.predict_on_batch(batch))[:size])
            bar.update(size)
    return np.concatenate(outputs).astype(np.float32)


@functools.lru_cache(maxsize=1)
def default_feature_network():
    """The FID Inception, built once per process: later evaluations reuse it and its traced
    predict function (a rebuild costs seconds of tracing each time)."""
    from gran_tf.eval.inception import load_fid_inception
    return load_fid_inception()


def load_logits_model(path):
    """A Keras model giving class logits, from a ``.keras`` file or a SavedModel folder."""
    path = pathlib.Path(path)
    if path.suffix == ".keras" and path.is_file():
        return keras.saving.load_model(path, compile=False)
    if path.is_dir() and (path / "saved_model.pb").is_file():
        inputs = keras.Input(shape=(None, None, None))
        outputs = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")(inputs)
        if isinstance(outputs, dict):
            outputs = next(iter(outputs.values()))
        return keras.Model(inputs, outputs, name=path.name)
    raise GranError(f"No classifier at {path}: expected a .keras file or a SavedModel folder")


def inception_score(logits, splits=INCEPTION_SCORE_SPLITS):
    """(mean, std) over ``splits`` equal parts of exp(E KL(p(y|x) ‖ p(y))) (TF-GAN's math)."""
    scores = [tfgan_math.classifier_score(part) for part in np.array_split(logits, splits)]
    return float(np.mean(scores)), float(np.std(scores))


def _check_metrics(metrics, classifier):
    unknown = set(metrics) - set(SCORES)
    if unknown:
        raise GranError(f"Unknown metrics {sorted(unknown)}; choose from {SCORES}")
    if "is" in metrics and classifier is None:
        raise GranError(
            "The Inception Score needs class logits (the standard one: 1008-way logits of "
            "inception-2015-12-05), which are not available offline. Pass classifier=<path to a "
            ".keras file or SavedModel giving logits>, or leave 'is' out of metrics.")


def weights_digest(model):
    """sha256 over a Keras model's weights (names, shapes, dtypes and bytes, in order)."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(np.asarray(weight))
        digest.update(f"{weight.path}:{value.shape}:{value.dtype};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def network_identity(model):
    return {"name": model.name, "sha256": weights_digest(model)}


def feature_statistics(images, model, quantize=True, batch_size=DEFAULT_BATCH_SIZE, progress=True, desc="features",
                       **info):
    """:class:`FeatureStatistics` (mu, sigma, features) of ``images`` through ``model``, the
    images rounded to uint8 first when ``quantize``; ``info`` is recorded beside them."""
    images = to_uint8(images) if quantize else images
    features = extract_features(model, images, batch_size, progress, desc=desc)
    return FeatureStatistics.from_features(features, network=network_identity(model), quantize=quantize, **info)


def _check_same_network(reference, model):
    network = reference.info.get("network") or {}
    if network and (network.get("name"), network.get("sha256")) != (model.name, weights_digest(model)):
        raise GranError(f"Reference statistics come from {network.get('name')} "
                        f"(sha256 {str(network.get('sha256'))[:12]}...), not {model.name}")


def _features_of(reference, metric):
    if reference.features is None:
        raise GranError(f"{metric} needs the real images' features, and the reference statistics "
                        f"{reference.path or ''} hold only mu and sigma (a TTUR-format file): "
                        "recompute them with gran-fid-stats, or ask for fid only")
    return reference.features


def feature_scores(real, fake, metrics, kid_block_size=KID_BLOCK_SIZE):
    """FID, KID and prdc of two :class:`FeatureStatistics`."""
    result = {}
    if "fid" in metrics:
        result["fid"] = tfgan_math.frechet_distance_from_moments(real.mu, real.sigma, fake.mu, fake.sigma)
    if "kid" in metrics:
        result["kid"], result["kid_std"] = tfgan_math.kernel_distance(_features_of(real, "KID"), fake.features,
                                                                      max_block_size=kid_block_size)
    if "prdc" in metrics:
        real_features = _features_of(real, "precision/recall")
        result.update(manifold.precision_recall(real_features, fake.features, k=PRECISION_RECALL_K))
        result.update(manifold.density_coverage(real_features, fake.features, k=DENSITY_COVERAGE_K))
    return result


def score_images(fake_images, real=None, metrics=("fid", "kid"), model=None, classifier=None, split=None,
                 quantize=True, batch_size=DEFAULT_BATCH_SIZE, kid_block_size=KID_BLOCK_SIZE,
                 is_splits=INCEPTION_SCORE_SPLITS, progress=True):
    """FID / KID / IS / prdc of ``fake_images`` against ``real`` (images, or
    :class:`FeatureStatistics`, e.g. loaded from a TTUR-format file).

    Images are rounded to uint8 before the network when ``quantize`` (as TTUR, StudioGAN and
    clean-fid do). ``classifier`` (a Keras model or a path) gives the logits for "is". Returns a
    dict with the requested scores (``kid_std``, ``is_std``, precision, recall, density, coverage)
    and always n_real, n_fake, split and feature_network (None when only "is" is asked; the
    classifier's name is then under classifier).
    """
    metrics = tuple(metrics)
    _check_metrics(metrics, classifier)
    result = {"n_real": 0, "n_fake": len(fake_images), "split": split, "feature_network": None}
    if set(metrics) - {"is"}:
        if real is None:
            raise GranError("FID, KID and prdc need real images or reference statistics")
        model = model or default_feature_network()
        if isinstance(real, FeatureStatistics):
            _check_same_network(real, model)
            result["split"] = real.info.get("split", split)
        else:
            real = feature_statistics(real, model, quantize, batch_size, progress, desc="real")
        fake = feature_statistics(fake_images, model, quantize, batch_size, progress, desc="fake")
        result.update(feature_scores(real, fake, metrics, kid_block_size), n_real=real.n, feature_network=model.name)
    if "is" in metrics:
        if not isinstance(classifier, keras.Model):
            classifier = load_logits_model(classifier)
        images = to_uint8(fake_images) if quantize else fake_images
        logits = extract_features(classifier, images, batch_size, progress, desc="logits")
        result["is"], result["is_std"] = inception_score(logits, is_splits)
        result.update(classifier=classifier.name, is_splits=is_splits)
    return result
