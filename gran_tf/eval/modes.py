"""Mode coverage of samples from a mixture of Gaussians (2D ring/grid, 3D cube).

VEEGAN/PacGAN protocol (docs/evaluation.md#mixtures-of-gaussians): each sample is assigned to its nearest mode; it is
*high quality* (HQ) if it lies within ``hq_sigmas`` standard deviations of that mode; a mode is
*covered* if it is the nearest mode of at least one HQ sample. The published figures use
``DEFAULT_NUM_SAMPLES`` = 2,500 samples per evaluation.

Divergences (natural log, so values are in nats):

* ``reverse_kl`` = KL(p ‖ u) = Σ_k p_k log(K p_k), p = the histogram of the HQ samples over
  the K modes, normalised; u uniform. Empty modes contribute 0 (0 log 0 = 0), so the value is
  finite, in [0, log K]. With no HQ sample at all p is undefined and ``reverse_kl`` is None.
* ``js`` (BRC paper's "JS divergence"; the paper does not spell it out): Jensen-Shannon
  divergence between the histograms of generated and real samples over K + 1 bins: the K modes
  for HQ samples plus one "off-mode" bin for the others, so both coverage and quality count.
  JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M), M = ½ (P + Q); in [0, log 2].
* ``fid``: Fréchet distance between the raw coordinates of generated and real samples (BRC
  paper: the data itself is the feature), via TF-GAN's math.
"""
import numpy as np

from gran_tf.errors import GranError
from gran_tf.eval.divergences import js_divergence, kl_to_uniform
from gran_tf.eval.tfgan_math import frechet_distance

DEFAULT_NUM_SAMPLES = 2500  # VEEGAN/PacGAN evaluation size
DEFAULT_HQ_SIGMAS = 3.0


def _points(x, name, dim=None):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0 or (dim is not None and x.shape[1] != dim):
        want = f"[N, {dim}]" if dim is not None else "[N, D]"
        raise GranError(f"{name} must be a non-empty {want} array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise GranError(f"{name} contains NaN or inf")
    return x


def nearest_modes(samples, means):
    """(index int64 [N] of the mode nearest each sample, its distance float64 [N])."""
    means = _points(means, "means")
    samples = _points(samples, "samples", means.shape[1])
    dist2 = ((samples[:, None, :] - means[None, :, :]) ** 2).sum(axis=-1)
    nearest = np.argmin(dist2, axis=1)
    return nearest.astype(np.int64), np.sqrt(dist2[np.arange(len(samples)), nearest])


def assign_modes(samples, means, std, hq_sigmas=DEFAULT_HQ_SIGMAS):
    """(nearest mode index int64 [N], is high quality bool [N]) of each sample."""
    if not std > 0:
        raise GranError(f"std must be positive, got {std}")
    nearest, distance = nearest_modes(samples, means)
    return nearest, distance <= hq_sigmas * std


def mode_occupancy(samples, means):
    """float64 [K]: the fraction of ``samples`` nearest each of the K modes ``means``, high quality
    or not (where the generator puts its mass; summed to 1). The trainer records it at every
    sample step (mode_occupancy.jsonl): the data of the mode-hopping plot."""
    nearest, _ = nearest_modes(samples, means)
    return np.bincount(nearest, minlength=len(np.asarray(means))) / len(nearest)


def mode_histogram(samples, means, std, hq_sigmas=DEFAULT_HQ_SIGMAS):
    """int64 [K + 1]: HQ samples per mode, then the number of non-HQ ("off-mode") samples."""
    nearest, hq = assign_modes(samples, means, std, hq_sigmas)
    k = len(np.asarray(means))
    counts = np.bincount(nearest[hq], minlength=k)
    return np.append(counts, np.count_nonzero(~hq)).astype(np.int64)


def mode_coverage(samples, means, std, hq_sigmas=DEFAULT_HQ_SIGMAS, real_samples=None):
    """Mode-coverage report (JSON-serialisable dict) of ``samples`` [N, D] against modes ``means`` [K, D].

    Keys: n, num_modes, modes_covered, covered (per-mode bools), hq_fraction, hq_percent,
    histogram (K + 1 counts, last = off-mode), reverse_kl; with ``real_samples`` [M, D] also
    real_histogram, js and fid (otherwise these three are None).
    """
    counts = mode_histogram(samples, means, std, hq_sigmas)
    n = int(counts.sum())
    per_mode = counts[:-1]
    report = {
        "n": n,
        "num_modes": int(len(per_mode)),
        "hq_sigmas": float(hq_sigmas),
        "std": float(std),
        "modes_covered": int(np.count_nonzero(per_mode)),
        "covered": [bool(c) for c in per_mode > 0],
        "hq_fraction": float(per_mode.sum() / n),
        "hq_percent": float(100.0 * per_mode.sum() / n),
        "histogram": counts.tolist(),
        "reverse_kl": kl_to_uniform(per_mode, "nats"),
        "real_histogram": None,
        "js": None,
        "fid": None,
    }
    if real_samples is not None:
        real_counts = mode_histogram(real_samples, means, std, hq_sigmas)
        report["real_histogram"] = real_counts.tolist()
        report["js"] = js_divergence(counts, real_counts, "nats")
        report["fid"] = frechet_distance(_points(samples, "samples"), _points(real_samples, "real_samples"))
    return report
