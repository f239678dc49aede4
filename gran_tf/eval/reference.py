"""FID reference statistics: the protocol a score follows, and ``mu``/``sigma`` files.

A score is comparable with a published one only when both follow the same protocol: how many
generated images (n_fake), how many real images of which split (n_real, split), whether the
generated images are quantised to 8 bits before the network (TTUR, StudioGAN and clean-fid do),
and the network. :class:`FidProtocol` names those choices; ``PROTOCOLS`` holds the published ones.

Reference statistics are the mean ``mu`` and covariance ``sigma`` of the real images' features
(Heusel et al. 2017, eq. 6), saved in the ``.npz`` format of TTUR's ``fid.py`` (keys ``mu`` and
``sigma``; pytorch-fid and clean-fid read and write the same). gran_tf adds ``features`` (what KID
and precision/recall need) and ``gran_tf`` (a JSON string: the data, split, n, network and its
sha256); files without them, e.g. TTUR's ``fid_stats_cifar10_train.npz``, give FID only.
"""
import dataclasses
import hashlib
import io
import json
import os
import zipfile

import numpy as np

from gran_tf import storage
from gran_tf.cache import cache_dir
from gran_tf.errors import ConfigError

FORMAT = "gran_tf.fid_stats/1"


@dataclasses.dataclass(frozen=True)
class FidProtocol:
    """How a FID is computed: ``n_fake`` generated images against ``n_real`` real images of
    ``split`` (None: all of it), quantised to uint8 first when ``quantize``."""
    name: str
    n_fake: int
    n_real: int = None
    split: str = "test"
    quantize: bool = True

    def as_dict(self):
        return dataclasses.asdict(self)


PROTOCOLS = {
    # TTUR (Heusel et al. 2017, github bioinf-jku/TTUR): 50k samples against the statistics of
    # the whole training set (its published fid_stats_cifar10_train.npz: all 50k train images).
    "ttur": FidProtocol("ttur", n_fake=50_000, n_real=None, split="train"),
    # StudioGAN's CIFAR10 protocol as docs/evaluation.md describes it: 10k samples against the
    # 10k test images.
    "studiogan": FidProtocol("studiogan", n_fake=10_000, n_real=None, split="test"),
}
DEFAULT_N = 10_000


def protocol(name=None, n_fake=None, n_real=None, split=None, quantize=None):
    """The protocol ``name`` (``ttur``, ``studiogan``) with any explicit setting put over it;
    without a name, "custom": ``n_fake`` (default 10k) against as many real images of ``split``
    (default test)."""
    if name is not None and name not in PROTOCOLS:
        raise ConfigError(f"unknown FID protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    base = PROTOCOLS.get(name) or FidProtocol("custom", n_fake or DEFAULT_N, n_real or n_fake or DEFAULT_N)
    given = {"n_fake": n_fake, "n_real": n_real, "split": split, "quantize": quantize}
    return dataclasses.replace(base, **{k: v for k, v in given.items() if v is not None})


def to_pixels(x, value_range):
    """Examples with values in ``value_range`` (low, high) → [0, 255] floats."""
    low, high = value_range
    return 255.0 * (np.asarray(x, np.float32) - low) / (high - low)


def to_uint8(images):
    """Images in [0, 255] rounded to the nearest integer and clipped: what saving a PNG does."""
    return np.clip(np.rint(np.asarray(images, np.float32)), 0, 255).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class FeatureStatistics:
    """``mu`` [D] and ``sigma`` [D, D] of a set's features; ``features`` [N, D] where kept;
    ``info``: what they were computed from (gran_tf's files) or {} (a TTUR-format file);
    ``sha256``: of the file they were read from or written to."""
    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray = None
    info: dict = dataclasses.field(default_factory=dict)
    sha256: str = None
    path: str = None

    @classmethod
    def from_features(cls, features, **info):
        """Mean and unbiased covariance (float64) of [N, D] features, as TTUR computes them."""
        features = np.asarray(features, np.float32)
        if features.ndim != 2 or len(features) < 2:
            raise ConfigError(f"statistics need [N >= 2, D] features, got shape {features.shape}")
        acts = features.astype(np.float64)
        return cls(acts.mean(axis=0), np.cov(acts, rowvar=False), features, {"n": len(features), **info})

    @property
    def n(self):
        return self.info.get("n") if self.features is None else len(self.features)

    @property
    def network_sha256(self):
        return (self.info.get("network") or {}).get("sha256")

    def without_features(self):
        return dataclasses.replace(self, features=None)

    def save(self, path):
        """Writes the TTUR ``.npz`` (``mu``, ``sigma``) with ``features`` and ``gran_tf`` info,
        atomically; returns the statistics with the file's path and sha256."""
        arrays = {"mu": self.mu, "sigma": self.sigma,
                  "gran_tf": np.array(json.dumps({"format": FORMAT, **self.info}, sort_keys=True))}
        if self.features is not None:
            arrays["features"] = self.features
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        data = buffer.getvalue()
        storage.makedirs(os.path.dirname(storage.absolute(str(path))))
        storage.write_bytes(str(path), data)
        return dataclasses.replace(self, sha256=hashlib.sha256(data).hexdigest(), path=str(path))

    @classmethod
    def load(cls, path):
        """Statistics from a ``.npz`` with ``mu`` and ``sigma`` (TTUR, pytorch-fid, clean-fid or
        gran_tf's); one ConfigError line for a missing, unreadable or malformed file."""
        path = str(path)
        if not storage.exists(path):
            raise ConfigError(f"FID reference {path} does not exist")
        data = storage.read_bytes(path)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                missing = {"mu", "sigma"} - set(npz.files)
                if missing:
                    raise ConfigError(f"FID reference {path} has no {' or '.join(sorted(missing))} "
                                      f"(it has {', '.join(npz.files) or 'nothing'}): not a TTUR-format .npz")
                arrays = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise ConfigError(f"FID reference {path} is not a readable .npz file ({e})") from None
        info = json.loads(str(arrays["gran_tf"])) if "gran_tf" in arrays else {}
        if info and info.pop("format", None) != FORMAT:
            raise ConfigError(f"FID reference {path} is in an older gran_tf format: recompute it with gran-fid-stats")
        stats = cls(arrays["mu"].astype(np.float64), arrays["sigma"].astype(np.float64), arrays.get("features"),
                    info, hashlib.sha256(data).hexdigest(), path)
        stats.check(path)
        return stats

    def check(self, what):
        dim = self.mu.shape[0] if self.mu.ndim == 1 else None
        if dim is None or self.sigma.shape != (dim, dim):
            raise ConfigError(f"{what}: mu {self.mu.shape} and sigma {self.sigma.shape} are not [D] and [D, D]")
        if self.features is not None and (self.features.ndim != 2 or self.features.shape[1] != dim):
            raise ConfigError(f"{what}: features {self.features.shape} do not match mu's dimension {dim}")
        if not (np.isfinite(self.mu).all() and np.isfinite(self.sigma).all()):
            raise ConfigError(f"{what}: mu or sigma holds NaN or infinite values")

    def provenance(self):
        """What a score records of its reference: file, sha256, n and how it was made."""
        return {"path": self.path, "sha256": self.sha256, "n": self.n,
                **{k: v for k, v in self.info.items() if k in ("data", "split", "seed", "quantize", "network")}}


def cache_path(key_facts):
    """The cache file of reference statistics identified by ``key_facts`` (a JSON-able dict:
    the data's identity, split, n, seed, network sha256, quantisation)."""
    digest = hashlib.sha256(json.dumps(key_facts, sort_keys=True).encode()).hexdigest()[:24]
    return cache_dir("reference_stats") / f"{digest}.npz"


def cached(key_facts, compute):
    """Statistics from the cache, else ``compute()`` saved there (atomically)."""
    path = cache_path(key_facts)
    if path.is_file():
        return FeatureStatistics.load(path)
    return compute().save(path)

