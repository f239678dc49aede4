"""Images made worse by a known amount: battles whose winner is known (``gran-battle --degrade``,
docs/gran.md#gam-on-a-known-answer-a-trained-gran1-against-its-own-degraded-samples)."""
import numpy as np

from gran_tf.errors import GranError

DEGRADATIONS = ("noise", "blur")


def degraded(images, kind, strength, value_range=(0.0, 1.0), seed=0):
    """``images`` [N, H, W, C] made worse by a known amount, for battles whose winner is known:
    "noise" adds N(0, strength²) pixel noise, "blur" a Gaussian blur of ``strength`` pixels
    (sd, per channel); the result is clipped to ``value_range`` (None: points, unbounded).
    Strength 0 returns the images."""
    from scipy import ndimage

    if kind not in DEGRADATIONS:
        raise GranError(f"unknown degradation {kind!r}; expected one of {DEGRADATIONS}")
    if strength < 0:
        raise GranError(f"degradation strength must be >= 0, got {strength}")
    images = np.asarray(images, np.float64)
    if strength == 0:
        return images
    if kind == "noise":
        out = images + np.random.default_rng(seed).normal(0.0, strength, images.shape)
    elif images.ndim != 4:
        raise GranError(f"blur needs images [N, H, W, C], got shape {images.shape}")
    else:
        out = ndimage.gaussian_filter(images, sigma=(0, strength, strength, 0), mode="nearest")
    return out if value_range is None else np.clip(out, *value_range)
