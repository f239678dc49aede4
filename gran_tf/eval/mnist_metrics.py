"""MNIST-family sample metrics built on the project's digit classifier.

* Stacked MNIST (Metz et al. 2017; VEEGAN/PacGAN protocol, docs/evaluation.md#stacked-mnist): the classifier labels
  each colour channel, a sample's mode is its digit triple (1000 modes); report the number of
  distinct triples and KL(p_model ‖ uniform) = Σ_k p_k log(1000 p_k). Published figures use
  ``STACKED_MNIST_NUM_SAMPLES`` = 25,600 samples.
* Colored MNIST (Unrolled GAN paper, appendix F): each image's digit colour is recovered by
  clustering its pixels, a Gaussian KDE is fit to the colours of generated and of real digits,
  and the Jensen-Shannon divergence of the two KDEs is reported.
* "MNIST score": the Inception Score with the digit classifier, exp(E_x KL(p(y|x) ‖ p(y))).
* Fréchet distance between the classifier's penultimate-layer features of two image sets.

``classifier`` arguments take any object with ``predict_labels``, ``logits`` and ``features``
methods like ``gran_tf.eval.classifier.DigitClassifier`` (default: ``cached_classifier()``).
Images are float; ``value_range`` declares their scale ([0, 1] by default, (-1, 1) for tanh).
"""
import numpy as np
from scipy.stats import gaussian_kde

from gran_tf.errors import GranError
from gran_tf.eval.classifier import UNIT_RANGE, cached_classifier, rescale_to_unit
from gran_tf.eval.divergences import kl_to_uniform
from gran_tf.eval.tfgan_math import classifier_score, frechet_distance

STACKED_MNIST_NUM_SAMPLES = 25_600  # Metz et al. / VEEGAN evaluation size
NUM_DIGITS = 10
NUM_STACKED_MODES = NUM_DIGITS ** 3


def _classifier_or_default(classifier):
    return cached_classifier() if classifier is None else classifier


def _colour_images(images, name):
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise GranError(f"{name} must be non-empty [N, H, W, 3] images, got shape {images.shape}")
    return images


def stacked_mnist_labels(images, classifier=None, value_range=UNIT_RANGE):
    """int64 [N, 3]: the digit the classifier reads in each channel of [N, 28, 28, 3] images."""
    images = _colour_images(images, "stacked MNIST images")
    channels = np.moveaxis(images, -1, 1).reshape(-1, 28, 28, 1)  # [N * 3] single-channel digits
    labels = _classifier_or_default(classifier).predict_labels(channels, value_range=value_range)
    return np.asarray(labels, dtype=np.int64).reshape(len(images), 3)


def stacked_mnist_modes(images, classifier=None, value_range=UNIT_RANGE):
    """{n, modes: distinct digit triples (of 1000), kl_to_uniform: Σ p_k log(1000 p_k) in nats}."""
    triples = stacked_mnist_labels(images, classifier, value_range)
    mode_index = triples @ np.array([NUM_DIGITS ** 2, NUM_DIGITS, 1])
    counts = np.bincount(mode_index, minlength=NUM_STACKED_MODES)
    return {
        "n": int(len(triples)),
        "modes": int(np.count_nonzero(counts)),
        "kl_to_uniform": kl_to_uniform(counts, "nats"),
    }


def foreground_colours(images, value_range=UNIT_RANGE, iterations=10, batch_size=1000):
    """float64 [N, 3]: per image, the centre of the brighter of two k-means clusters of its pixels.

    Each image's RGB pixels are split by 2-means, started from its darkest and its brightest
    pixel (Euclidean norm); the cluster grown from the brightest one is the digit (foreground)
    and its mean pixel the digit's colour. Real and generated images go through the same map.
    """
    images = rescale_to_unit(_colour_images(images, "colored MNIST images"), value_range)
    return np.concatenate([_two_means_bright_centre(images[i:i + batch_size], iterations)
                           for i in range(0, len(images), batch_size)])


def _two_means_bright_centre(images, iterations):
    pixels = images.reshape(len(images), -1, 3).astype(np.float64)  # [B, P, 3]
    norms = np.linalg.norm(pixels, axis=-1)
    rows = np.arange(len(pixels))
    dark = pixels[rows, np.argmin(norms, axis=1)]
    bright = pixels[rows, np.argmax(norms, axis=1)]
    for _ in range(iterations):
        to_bright = (np.linalg.norm(pixels - bright[:, None], axis=-1)
                     < np.linalg.norm(pixels - dark[:, None], axis=-1))[..., None]
        dark = _cluster_mean(pixels, ~to_bright, dark)
        bright = _cluster_mean(pixels, to_bright, bright)
    return bright


def _cluster_mean(pixels, member, previous):
    """Mean of the member pixels of each image; an empty cluster keeps its previous centre."""
    size = member.sum(axis=1)
    total = (pixels * member).sum(axis=1)
    return np.where(size > 0, total / np.maximum(size, 1), previous)


def kde_js_divergence(points_p, points_q, num_mc=5000, seed=0, jitter=1e-3):
    """JS divergence (nats, in [0, log 2]) between Gaussian KDEs fit to two point sets [N, D].

    JS = ½ E_{x~p}[log 2p(x)/(p(x)+q(x))] + ½ E_{x~q}[log 2q(x)/(p(x)+q(x))], each expectation a
    Monte Carlo average over ``num_mc`` draws from that KDE. Before fitting, N(0, jitter²) noise
    is added to the points so that a collapsed set (all points equal) still has a non-singular
    KDE covariance; ``jitter`` is far below the spread of real digit colours.
    """
    rng = np.random.default_rng(seed)
    kdes = [gaussian_kde(_jittered(points, rng, jitter).T) for points in (points_p, points_q)]

    def half_term(kde_own, kde_other):
        x = kde_own.resample(num_mc, seed=rng)
        log_own, log_other = kde_own.logpdf(x), kde_other.logpdf(x)
        return 0.5 * np.mean(np.log(2.0) + log_own - np.logaddexp(log_own, log_other))

    js = half_term(kdes[0], kdes[1]) + half_term(kdes[1], kdes[0])
    return float(np.clip(js, 0.0, np.log(2.0)))  # the Monte Carlo estimate can stray past the bounds


def _jittered(points, rng, jitter):
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or len(points) < 2:
        raise GranError(f"a KDE needs a [N >= 2, D] point set, got shape {points.shape}")
    return points + rng.normal(0.0, jitter, size=points.shape)


def colored_mnist_js(generated, real, value_range=UNIT_RANGE, real_value_range=UNIT_RANGE,
                     num_mc=5000, seed=0):
    """{js, n_generated, n_real, num_mc, mean colours}: JS divergence of digit-colour KDEs."""
    colours_g = foreground_colours(generated, value_range)
    colours_r = foreground_colours(real, real_value_range)
    return {
        "js": kde_js_divergence(colours_g, colours_r, num_mc=num_mc, seed=seed),
        "n_generated": int(len(colours_g)),
        "n_real": int(len(colours_r)),
        "num_mc": int(num_mc),
        "mean_colour_generated": colours_g.mean(axis=0).tolist(),
        "mean_colour_real": colours_r.mean(axis=0).tolist(),
    }


def mnist_score(images, classifier=None, value_range=UNIT_RANGE):
    """exp(E_x KL(p(y|x) ‖ p(y))) with the digit classifier's logits; in [1, 10]."""
    return classifier_score(_classifier_or_default(classifier).logits(images, value_range=value_range))


def mnist_frechet_distance(generated, real, classifier=None, value_range=UNIT_RANGE,
                           real_value_range=UNIT_RANGE):
    """Fréchet distance between the classifier's penultimate features of two image sets."""
    classifier = _classifier_or_default(classifier)
    return frechet_distance(classifier.features(generated, value_range=value_range),
                            classifier.features(real, value_range=real_value_range))
