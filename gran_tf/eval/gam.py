"""The Generative Adversarial Metric (GAM): two GANs battle by swapping discriminators.

GRAN paper §4 (Im et al. 2016). M1 = (G1, D1) and M2 = (G2, D2) are trained separately; at
test time each discriminator judges the other model's samples. A discriminator is any callable
``x -> P(real | x)`` returning [N] probabilities; it calls x real iff D(x) > 0.5, and ε is its
classification error rate. The paper's ratios of *error rates* are used (Eq. 10), not the
accuracy ratios of the official code (docs/gran.md#paper-vs-code):

    r_test = ε(D1(x_test)) / ε(D2(x_test)),   r_sample = ε(D1(G2(z))) / ε(D2(G1(z))).

Winner (Eq. 11): M1 if r_sample < 1 and r_test ≈ 1; M2 if r_sample > 1 and r_test ≈ 1; else a
tie. "r_test ≈ 1" means |r_test − 1| <= ``tolerance`` (default 0.1). The paper gives no
tolerance, and its Table 1 declares winners at r_test = 0.79 and 1.29, so it applied none
consistently; pass ``tolerance=0.3`` to accept those battles.

Each ratio comes with a bootstrap confidence interval (``intervals``): test images are resampled
once for both discriminators (they judge the same images), and each generator's samples
separately, so a tie can be told apart from noise.

Zero denominators are reported, never divided: a ratio is ``finite``, ``infinite`` (x / 0 with
x > 0) or ``undefined`` (0 / 0), with ``value`` None in the last two cases. Eq. 11 reads them as
follows. r_test undefined: both discriminators make no test errors, so they generalise equally
(r_test ≈ 1 holds); r_test infinite: one is perfect on the test set and the other is not (it
fails). r_sample infinite: G1 never fools D2 while G2 fools D1, i.e. r_sample > 1 (M2 wins);
r_sample undefined: neither generator ever fools the other discriminator (tie).

The battle's mathematics only: ``gam_markdown`` prints results as tables, ``degradation`` makes
the known-answer battles' worse samples, ``sample_files`` reads samples saved elsewhere.
"""
import dataclasses
import json

import numpy as np

from gran_tf.errors import GranError

THRESHOLD = 0.5  # real ⇔ D(x) > 0.5
DEFAULT_TEST_RATIO_TOLERANCE = 0.1
BOOTSTRAP_REPLICATES = 2000
CONFIDENCE = 0.95
FINITE, INFINITE, UNDEFINED = "finite", "infinite", "undefined"
M1, M2, TIE = "M1", "M2", "tie"
# The 2x2 table of paper Figure 6: (discriminator, images) -> key of BattleResult.errors.
TABLE_KEYS = ("d1_g1", "d1_train", "d1_g2", "d1_test", "d2_g1", "d2_test", "d2_g2", "d2_train")


def discriminator_probs(d, x, batch_size=1000):
    """float64 [N] P(real) from the callable ``d``, evaluated in batches of ``batch_size``."""
    x = np.asarray(x)
    if len(x) == 0:
        raise GranError("cannot evaluate a discriminator on an empty set of images")
    chunks = [np.asarray(d(x[i:i + batch_size]), dtype=np.float64) for i in range(0, len(x), batch_size)]
    probs = np.concatenate([c.reshape(-1) for c in chunks])
    if probs.shape != (len(x),):
        raise GranError(f"discriminator returned {probs.size} values for {len(x)} images; "
                        "it must map [N, ...] images to [N] probabilities")
    if not np.isfinite(probs).all() or probs.min() < 0.0 or probs.max() > 1.0:
        raise GranError("discriminator outputs must be probabilities in [0, 1] "
                        "(apply a sigmoid to logits)")
    return probs


def mistakes(probs, is_real):
    """bool [N]: which of ``probs`` lie on the wrong side of 0.5 (real with D <= 0.5, fake with D > 0.5)."""
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    if probs.size == 0:
        raise GranError("error rate of an empty set of discriminator outputs")
    said_real = probs > THRESHOLD
    return ~said_real if is_real else said_real


def error_rate(probs, is_real):
    """Fraction of ``probs`` on the wrong side of 0.5: real images with D <= 0.5, fakes with D > 0.5."""
    return float(np.mean(mistakes(probs, is_real)))


def bootstrap_ratio_interval(numerator_wrong, denominator_wrong, paired, replicates=BOOTSTRAP_REPLICATES,
                             confidence=CONFIDENCE, seed=0):
    """Percentile bootstrap interval [lo, hi] of mean(numerator_wrong) / mean(denominator_wrong).

    ``paired``: both come from the same images (r_test), resampled together; else each set is
    resampled on its own (r_sample). Replicates with a zero denominator count as +inf (x/0) and
    are dropped when 0/0; None if no replicate is defined.
    """
    rng = np.random.default_rng(seed)
    num, den = np.asarray(numerator_wrong, np.float64), np.asarray(denominator_wrong, np.float64)
    i = rng.integers(0, len(num), size=(replicates, len(num)))
    j = i if paired else rng.integers(0, len(den), size=(replicates, len(den)))
    top, bottom = num[i].mean(axis=1), den[j].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = top / bottom
    ratios = ratios[~np.isnan(ratios)]
    if ratios.size == 0:
        return None
    tail = 100 * (1 - confidence) / 2  # bounds are replicate values (no interpolation: x/0 stays inf)
    return [float(np.percentile(ratios, tail, method="lower")), float(np.percentile(ratios, 100 - tail, method="higher"))]


@dataclasses.dataclass(frozen=True)
class ErrorRatio:
    """numerator / denominator, with a zero denominator kept explicit in ``status``."""

    numerator: float
    denominator: float
    value: float | None
    status: str

    @classmethod
    def of(cls, numerator, denominator):
        if denominator > 0:
            return cls(numerator, denominator, numerator / denominator, FINITE)
        return cls(numerator, denominator, None, INFINITE if numerator > 0 else UNDEFINED)

    def __str__(self):
        if self.status == FINITE:
            return f"{self.value:.3f}"
        return "inf (x/0)" if self.status == INFINITE else "undefined (0/0)"


def r_test_ok(r_test, tolerance):
    """Eq. 11's r_test ≈ 1: |r_test − 1| <= tolerance; 0/0 counts as equal, x/0 does not."""
    if r_test.status == FINITE:
        return abs(r_test.value - 1.0) <= tolerance
    return r_test.status == UNDEFINED


def decide_winner(r_test, r_sample, tolerance):
    """(M1 | M2 | tie, reason) by Eq. 11."""
    if not r_test_ok(r_test, tolerance):
        return TIE, f"r_test = {r_test} is not within {tolerance} of 1: the sample ratio is not trusted"
    if r_sample.status == UNDEFINED:
        return TIE, "r_sample = 0/0: neither generator fools the other's discriminator"
    if r_sample.status == INFINITE or r_sample.value > 1.0:
        return M2, f"r_sample = {r_sample} > 1: G2 fools D1 more often than G1 fools D2"
    if r_sample.value < 1.0:
        return M1, f"r_sample = {r_sample} < 1: G1 fools D2 more often than G2 fools D1"
    return TIE, "r_sample = 1: both generators fool the other discriminator equally often"


def decide_by_intervals(intervals):
    """(M1 | M2 | tie, reason): Eq. 11 read against sampling noise. r_test ≈ 1 when its bootstrap
    interval covers 1 (the two discriminators' test errors are not told apart at this many
    images), and a winner only when r_sample's interval lies wholly on one side of 1. A tolerance
    on |r_test − 1| cannot do this: at 1,000 test images and test errors of 5-20% the interval of
    r_test alone is ±0.2-0.4 wide (docs/gran.md#how-much-r_test-moves-by-chance)."""
    confidence = f"{100 * intervals['confidence']:g}%"
    r_test, r_sample = intervals.get("r_test"), intervals.get("r_sample")
    if r_test is not None and not r_test[0] <= 1.0 <= r_test[1]:
        return TIE, (f"r_test's {confidence} interval {r_test[0]:.3f}-{r_test[1]:.3f} excludes 1: the "
                     "discriminators generalise differently")
    if r_sample is None:
        return TIE, "r_sample = 0/0 in every bootstrap replicate"
    if r_sample[1] < 1.0:
        return M1, f"r_sample's {confidence} interval {r_sample[0]:.3f}-{r_sample[1]:.3f} lies below 1"
    if r_sample[0] > 1.0:
        return M2, f"r_sample's {confidence} interval {r_sample[0]:.3f}-{r_sample[1]:.3f} lies above 1"
    return TIE, f"r_sample's {confidence} interval {r_sample[0]:.3f}-{r_sample[1]:.3f} covers 1: not told apart"


@dataclasses.dataclass
class BattleResult:
    """Outcome of one GAM battle; ``errors`` holds the error rates of the 2x2 table (TABLE_KEYS)."""

    names: tuple
    errors: dict
    counts: dict
    r_test: ErrorRatio
    r_sample: ErrorRatio
    tolerance: float
    winner: str
    reason: str
    intervals: dict = None  # {"r_test": [lo, hi] | None, "r_sample": ..., "confidence": 0.95}
    interval_winner: str = None  # decide_by_intervals: Eq. 11 against sampling noise
    interval_reason: str = None

    @property
    def winner_name(self):
        """The winning model's name, or None for a tie."""
        return self.name_of(self.winner)

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["names"] = list(self.names)
        d["winner_name"] = self.winner_name
        return d

    def to_json(self, indent=2):
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, d):
        fields = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in fields}
        kwargs["names"] = tuple(d["names"])
        kwargs["r_test"] = ErrorRatio(**d["r_test"])
        kwargs["r_sample"] = ErrorRatio(**d["r_sample"])
        return cls(**kwargs)

    def name_of(self, winner):
        return {M1: self.names[0], M2: self.names[1]}.get(winner)


def battle(d1, g1_samples, d2, g2_samples, x_train, x_test,
           tolerance=DEFAULT_TEST_RATIO_TOLERANCE, names=("M1", "M2"), batch_size=1000):
    """Runs the GAM battle M1 = (G1, D1) vs M2 = (G2, D2) on given samples and real images."""
    if tolerance < 0:
        raise GranError(f"tolerance must be >= 0, got {tolerance}")

    def wrong(d, x, is_real):
        return mistakes(discriminator_probs(d, x, batch_size), is_real)

    judged = {
        "d1_g1": wrong(d1, g1_samples, False), "d1_train": wrong(d1, x_train, True),
        "d1_g2": wrong(d1, g2_samples, False), "d1_test": wrong(d1, x_test, True),
        "d2_g1": wrong(d2, g1_samples, False), "d2_test": wrong(d2, x_test, True),
        "d2_g2": wrong(d2, g2_samples, False), "d2_train": wrong(d2, x_train, True),
    }
    errors = {key: float(np.mean(value)) for key, value in judged.items()}
    r_test = ErrorRatio.of(errors["d1_test"], errors["d2_test"])  # Eq. 10
    r_sample = ErrorRatio.of(errors["d1_g2"], errors["d2_g1"])  # Eq. 10
    winner, reason = decide_winner(r_test, r_sample, tolerance)  # Eq. 11
    counts = {"n_g1": len(g1_samples), "n_g2": len(g2_samples),
              "n_train": len(x_train), "n_test": len(x_test)}
    intervals = {"confidence": CONFIDENCE,
                 "r_test": bootstrap_ratio_interval(judged["d1_test"], judged["d2_test"], paired=True),
                 "r_sample": bootstrap_ratio_interval(judged["d1_g2"], judged["d2_g1"], paired=False)}
    return BattleResult(tuple(names), errors, counts, r_test, r_sample, float(tolerance), winner, reason,
                        intervals, *decide_by_intervals(intervals))


@dataclasses.dataclass
class League:
    """Standings of a round of battles; rows sorted by score = wins + ½ ties, then wins, then name."""

    rows: list
    matches: list

    def to_dict(self):
        return {"ranking": self.rows, "matches": self.matches}

    def to_json(self, indent=2):
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)


def league(results):
    """League table from ``{(name_a, name_b): BattleResult}`` (name_a played M1, name_b M2)."""
    table = {}
    matches = []
    for (a, b), result in results.items():
        if a == b:
            raise GranError(f"a model cannot battle itself: {a!r}")
        for name in (a, b):
            table.setdefault(name, {"name": name, "played": 0, "wins": 0, "ties": 0, "losses": 0})
        winner = {M1: a, M2: b}.get(result.winner)
        for name in (a, b):
            row = table[name]
            row["played"] += 1
            row["ties" if winner is None else "wins" if winner == name else "losses"] += 1
        matches.append({"m1": a, "m2": b, "winner": winner,
                        "r_test": result.r_test.value, "r_test_status": result.r_test.status,
                        "r_sample": result.r_sample.value, "r_sample_status": result.r_sample.status,
                        "intervals": result.intervals,
                        "interval_winner": {M1: a, M2: b}.get(result.interval_winner)})
    for row in table.values():
        row["score"] = row["wins"] + 0.5 * row["ties"]
    rows = sorted(table.values(), key=lambda r: (-r["score"], -r["wins"], r["name"]))
    return League(rows, matches)


def error_on_external_samples(d, samples, batch_size=1000):
    """ε of discriminator ``d`` on samples of another model, all fake (paper Table 2)."""
    return error_rate(discriminator_probs(d, samples, batch_size), is_real=False)
