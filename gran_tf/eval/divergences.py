"""The divergences between histograms that the metrics report, from scipy, in named units.

``unit`` is "nats" (natural log) or "bits" (log base 2) and has no default: every caller says
which it reports. Counts are normalised here; empty bins add 0 (0 log 0 = 0).
"""
import numpy as np
from scipy.spatial import distance
from scipy.stats import entropy

from gran_tf.errors import GranError

UNIT_BASES = {"nats": np.e, "bits": 2.0}


def _base(unit):
    if unit not in UNIT_BASES:
        raise GranError(f"unknown unit {unit!r}; expected one of {list(UNIT_BASES)}")
    return UNIT_BASES[unit]


def _histogram(counts, name):
    counts = np.asarray(counts, np.float64)
    if counts.ndim != 1 or counts.sum() <= 0 or (counts < 0).any():
        raise GranError(f"{name} must be a non-empty histogram of counts >= 0, got {counts}")
    return counts


def js_divergence(counts_p, counts_q, unit):
    """JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q): in [0, log 2] nats, [0, 1] bits."""
    p, q = _histogram(counts_p, "p"), _histogram(counts_q, "q")
    if p.shape != q.shape:
        raise GranError(f"JS needs two histograms of equal length, got {p.shape} and {q.shape}")
    return float(distance.jensenshannon(p, q, base=_base(unit)) ** 2)  # scipy gives the distance √JS


def kl_to_uniform(counts, unit):
    """KL(p ‖ uniform) = Σ_k p_k log(K p_k) over the K bins; None when every count is 0."""
    counts = np.asarray(counts, np.float64)
    if counts.sum() == 0:
        return None
    return float(entropy(_histogram(counts, "counts"), np.ones_like(counts), base=_base(unit)))
