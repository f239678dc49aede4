"""Feature extraction, cached reference statistics and FID / KID / IS scores.

Images everywhere are NumPy arrays [N, H, W] or [N, H, W, C] with values in [0, 255] (uint8 or
float). The feature network is any Keras model mapping such images to [N, D] features; by default
the FID Inception port (:func:`gran_tf.eval.inception.load_fid_inception`). Every score dict
records n_real, n_fake, split and the feature network's name, since FID depends on all of them.
"""
import dataclasses
import os
import pathlib
import re
import tempfile

import keras
import numpy as np
import tqdm

from gran_tf.cache import cache_dir
from gran_tf.errors import GranError
from gran_tf.eval import tfgan_math

SCORES = ("fid", "kid", "is")
DEFAULT_BATCH_SIZE = 50
INCEPTION_SCORE_SPLITS = 10  # Salimans et al. 2016 report mean ± std over 10 splits


@dataclasses.dataclass(frozen=True)
class ReferenceStatistics:
    """Real-data activations of one dataset split, as cached by :func:`reference_statistics`."""
    acts: np.ndarray
    name: str
    split: str
    resolution: tuple
    feature_network: str

    @property
    def n(self):
        return len(self.acts)


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


def default_feature_network():
    from gran_tf.eval.inception import load_fid_inception
    return load_fid_inception()


def _cache_key(*parts):
    return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", str(part)) for part in parts)


def reference_statistics(name, split, n, images_fn, resolution, model=None,
                         batch_size=DEFAULT_BATCH_SIZE, progress=True):
    """Activations of ``images_fn(n)`` (real data of ``name``/``split`` at ``resolution``), cached.

    The cache file under ``cache_dir("reference_stats")`` is keyed by dataset, split,
    resolution, n and the feature network's name; ``images_fn`` runs only on a cache miss.
    """
    model = model or default_feature_network()
    resolution = tuple(np.broadcast_to(resolution, (2,)).tolist())
    key = _cache_key(name, split, f"{resolution[0]}x{resolution[1]}", f"n{n}", model.name)
    path = cache_dir("reference_stats") / f"{key}.npz"
    if path.is_file():
        with np.load(path) as cached:
            acts = cached["acts"]
    else:
        images = _with_channel_axis(images_fn(n))
        if len(images) != n or images.shape[1:3] != resolution:
            raise GranError(f"images_fn({n}) for {name}/{split} gave shape {images.shape}, expected "
                            f"{n} images of {resolution[0]}x{resolution[1]}")
        acts = extract_features(model, images, batch_size, progress, desc=f"{name}/{split}")
        _save_npz_atomically(path, acts=acts)
    return ReferenceStatistics(acts, name, split, resolution, model.name)


def _save_npz_atomically(path, **arrays):
    fd, tmp = tempfile.mkstemp(dir=pathlib.Path(path).parent, suffix=".npz")
    with os.fdopen(fd, "wb") as file:
        np.savez(file, **arrays)
    os.replace(tmp, path)


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


def _count(real):
    if real is None:
        return 0
    return real.n if isinstance(real, ReferenceStatistics) else len(real)


def score_images(fake_images, real=None, metrics=SCORES, model=None, classifier=None, split=None,
                 batch_size=DEFAULT_BATCH_SIZE, kid_block_size=1024, is_splits=INCEPTION_SCORE_SPLITS,
                 progress=True):
    """FID / KID / IS of ``fake_images`` against ``real`` (images or :class:`ReferenceStatistics`).

    ``classifier`` (a Keras model or a path) gives the logits for "is". Returns a dict with the
    requested scores (``kid_std``, ``is_std`` beside them) and always n_real, n_fake, split and
    feature_network (None when only "is" is asked; the classifier's name is then under classifier).
    """
    metrics = tuple(metrics)
    _check_metrics(metrics, classifier)
    if isinstance(real, ReferenceStatistics):
        split = real.split
    result = {"n_real": _count(real), "n_fake": len(fake_images), "split": split, "feature_network": None}
    if {"fid", "kid"} & set(metrics):
        if real is None:
            raise GranError("FID and KID need real images or reference statistics")
        model = model or default_feature_network()
        result["feature_network"] = model.name
        if isinstance(real, ReferenceStatistics):
            if real.feature_network != model.name:
                raise GranError(f"Reference statistics come from {real.feature_network}, not {model.name}")
            real_acts = real.acts
        else:
            real_acts = extract_features(model, real, batch_size, progress, desc="real")
        fake_acts = extract_features(model, fake_images, batch_size, progress, desc="fake")
        if "fid" in metrics:
            result["fid"] = tfgan_math.frechet_distance(real_acts, fake_acts)
        if "kid" in metrics:
            result["kid"], result["kid_std"] = tfgan_math.kernel_distance(
                real_acts, fake_acts, max_block_size=kid_block_size)
    if "is" in metrics:
        if not isinstance(classifier, keras.Model):
            classifier = load_logits_model(classifier)
        logits = extract_features(classifier, fake_images, batch_size, progress, desc="logits")
        result["is"], result["is_std"] = inception_score(logits, is_splits)
        result.update(classifier=classifier.name, is_splits=is_splits)
    return result
