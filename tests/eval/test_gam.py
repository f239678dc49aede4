"""GAM battles with constant and threshold discriminators on constructed scalar 'images'."""
import json

import numpy as np
import pytest

from gran_tf.errors import GranError
from gran_tf.eval import gam, gam_markdown
from gran_tf.eval.degradation import degraded


def constant(p):
    return lambda x: np.full(len(x), p)


def threshold(t):
    """D(x) = 1 if x > t else 0, on [N, 1] scalar images."""
    return lambda x: (np.asarray(x)[:, 0] > t).astype(np.float64)


def column(*values):
    return np.asarray(values, dtype=np.float64)[:, None]


# Real images lie in (0.5, 1]; D1 = [x > 0.5], D2 = [x > 0.3].
X_TRAIN = column(0.6, 0.7, 0.8, 0.9, 1.0)
X_TEST = column(0.6, 0.7, 0.8, 0.9, 1.0)
G1 = column(0.0, 0.1, 0.2, 0.4, 0.45)  # D2 calls 2 of 5 real: ε(D2(G1)) = 0.4; D1 calls none real
G2 = column(0.35, 0.55, 0.6, 0.1, 0.2)  # D1 calls 2 of 5 real: ε(D1(G2)) = 0.4; D2: 3 of 5


def test_error_rate_threshold_is_strict():
    probs = [0.2, 0.6, 0.5, 0.9]
    assert gam.error_rate(probs, is_real=True) == 0.5  # 0.2 and 0.5 are called fake
    assert gam.error_rate(probs, is_real=False) == 0.5  # 0.6 and 0.9 are called real
    with pytest.raises(GranError):
        gam.error_rate([], is_real=True)


def test_threshold_battle_full_table_and_ratios():
    result = gam.battle(threshold(0.5), G1, threshold(0.3), G2, X_TRAIN, X_TEST, names=("A", "B"))
    assert result.errors == {"d1_g1": 0.0, "d1_train": 0.0, "d1_g2": 0.4, "d1_test": 0.0,
                             "d2_g1": 0.4, "d2_test": 0.0, "d2_g2": 0.6, "d2_train": 0.0}
    assert result.r_test.status == gam.UNDEFINED  # both perfect on test data: counts as r_test ≈ 1
    assert result.r_sample.value == pytest.approx(1.0)
    assert result.winner == gam.TIE and result.winner_name is None


def test_finite_ratios_pick_the_winner_by_eq_11():
    # Both discriminators miss the test image 0.58 only: r_test = 0.2 / 0.2 = 1.
    d1, d2 = threshold(0.59), threshold(0.65)
    x_test = column(0.7, 0.8, 0.9, 1.0, 0.58)
    result = gam.battle(d1, G1, d2, G2, X_TRAIN, x_test)
    assert result.errors["d1_test"] == 0.2 and result.errors["d2_test"] == 0.2
    assert result.r_test.value == pytest.approx(1.0)
    assert result.errors["d1_g2"] == pytest.approx(0.2)  # 0.6 > 0.59
    assert result.errors["d2_g1"] == 0.0  # G1 never fools D2: r_sample = 0.2 / 0 = inf
    assert result.r_sample.status == gam.INFINITE and result.r_sample.value is None
    assert result.winner == gam.M2
    # swapping the roles swaps the winner: r_sample = 0 / 0.2 = 0 < 1
    swapped = gam.battle(d2, G2, d1, G1, X_TRAIN, x_test)
    assert swapped.r_sample.value == 0.0 and swapped.winner == gam.M1


def test_r_test_far_from_one_voids_the_battle_unless_tolerated():
    d1, d2 = threshold(0.3), threshold(0.5)
    x_test = column(0.6, 0.7, 0.8, 0.9, 1.0, 0.4, 0.45, 0.2, 0.25, 0.28)
    # D1 misses 0.2, 0.25, 0.28 (ε = 0.3); D2 misses those and 0.4, 0.45 (ε = 0.5): r_test = 0.6.
    # D1 is fooled by 0.35, 0.55, 0.6 of G2 (ε = 0.6); G1 never fools D2: r_sample = inf.
    strict = gam.battle(d1, G1, d2, G2, X_TRAIN, x_test, tolerance=0.1)
    assert strict.r_test.value == pytest.approx(0.6)
    assert strict.r_sample.status == gam.INFINITE and strict.r_sample.numerator == pytest.approx(0.6)
    assert strict.winner == gam.TIE and "not within" in strict.reason
    lenient = gam.battle(d1, G1, d2, G2, X_TRAIN, x_test, tolerance=0.4)
    assert lenient.winner == gam.M2


def test_tolerance_decides_whether_r_test_is_close_to_one():
    # r_test = 0.8 / 1.0 = 0.8; r_sample = 0.5 / 0.25 = 2
    r_test, r_sample = gam.ErrorRatio.of(0.4, 0.5), gam.ErrorRatio.of(0.5, 0.25)
    assert gam.decide_winner(r_test, r_sample, 0.1)[0] == gam.TIE
    assert gam.decide_winner(r_test, r_sample, 0.2)[0] == gam.M2
    assert gam.decide_winner(r_test, gam.ErrorRatio.of(0.1, 0.25), 0.2)[0] == gam.M1
    assert gam.decide_winner(r_test, gam.ErrorRatio.of(0.25, 0.25), 0.2)[0] == gam.TIE


def test_zero_denominators_are_explicit():
    assert gam.ErrorRatio.of(0.0, 0.0).status == gam.UNDEFINED
    assert gam.ErrorRatio.of(0.3, 0.0).status == gam.INFINITE
    assert str(gam.ErrorRatio.of(0.3, 0.0)) == "inf (x/0)"
    ok = gam.ErrorRatio.of(0.5, 0.5)
    assert gam.decide_winner(gam.ErrorRatio.of(0.3, 0.0), gam.ErrorRatio.of(1.0, 0.0), 10.0)[0] == gam.TIE
    assert gam.decide_winner(ok, gam.ErrorRatio.of(0.0, 0.0), 0.1)[0] == gam.TIE
    assert gam.decide_winner(ok, gam.ErrorRatio.of(0.2, 0.0), 0.1)[0] == gam.M2


def test_constant_discriminators():
    # Both always say "real": no test errors (0/0), every sample fools both (1/1): tie.
    both_real = gam.battle(constant(0.9), G1, constant(0.9), G2, X_TRAIN, X_TEST)
    assert both_real.r_test.status == gam.UNDEFINED and both_real.r_sample.value == 1.0
    assert both_real.winner == gam.TIE
    # D1 always "real", D2 always "fake": r_test = 0 / 1 = 0, not ≈ 1, so no winner even though
    # r_sample = ε(D1(G2)) / ε(D2(G1)) = 1 / 0.
    lopsided = gam.battle(constant(0.9), G1, constant(0.1), G2, X_TRAIN, X_TEST)
    assert lopsided.r_test.value == 0.0 and lopsided.r_sample.status == gam.INFINITE
    assert lopsided.winner == gam.TIE


def test_result_json_round_trip_and_markdown():
    result = gam.battle(threshold(0.5), G1, threshold(0.3), G2, X_TRAIN, X_TEST, names=("GRAN1", "GRAN3"))
    loaded = gam.BattleResult.from_dict(json.loads(result.to_json()))
    assert loaded == result
    md = gam_markdown.battle_table(result)
    assert "D1(G2(z)) 0.4000" in md and "D2(G1(z)) 0.4000" in md
    assert "GRAN1" in md and "undefined (0/0)" in md


def test_batching_and_bad_discriminator_outputs():
    full = gam.battle(threshold(0.5), G1, threshold(0.3), G2, X_TRAIN, X_TEST)
    batched = gam.battle(threshold(0.5), G1, threshold(0.3), G2, X_TRAIN, X_TEST, batch_size=2)
    assert batched.errors == full.errors
    with pytest.raises(GranError, match="probabilities"):
        gam.battle(constant(1.5), G1, constant(0.5), G2, X_TRAIN, X_TEST)
    with pytest.raises(GranError, match="returned"):
        gam.discriminator_probs(lambda x: np.zeros(len(x) + 1), X_TEST)
    with pytest.raises(GranError):
        gam.battle(constant(0.5), G1, constant(0.5), G2, X_TRAIN, X_TEST, tolerance=-1)


def result_with(winner):
    ratio = gam.ErrorRatio.of(0.5, 0.5)
    return gam.BattleResult(("x", "y"), {}, {}, ratio, ratio, 0.1, winner, "")


def test_league_ranking():
    results = {("A", "B"): result_with(gam.M1), ("C", "A"): result_with(gam.M1),
               ("B", "C"): result_with(gam.TIE), ("A", "D"): result_with(gam.M2)}
    table = gam.league(results)
    names = [r["name"] for r in table.rows]
    # A: 1 win 2 losses (1.0); B: 0/1 tie/1 loss (0.5); C: 1 win 1 tie (1.5); D: 1 win (1.0)
    assert names == ["C", "A", "D", "B"]
    by_name = {r["name"]: r for r in table.rows}
    assert (by_name["A"]["wins"], by_name["A"]["ties"], by_name["A"]["losses"]) == (1, 0, 2)
    assert by_name["B"]["score"] == 0.5 and by_name["A"]["played"] == 3
    assert json.loads(table.to_json())["ranking"][0]["name"] == "C"
    assert "| 1 | C | 2 | 1 | 1 | 0 | 1.5 |" in gam_markdown.league_table(table)
    with pytest.raises(GranError):
        gam.league({("A", "A"): result_with(gam.TIE)})


def test_error_on_external_samples():
    assert gam.error_on_external_samples(threshold(0.5), G2) == pytest.approx(0.4)
    assert gam.error_on_external_samples(constant(0.2), G2) == 0.0


def bernoulli_column(rng, n, p_real):
    """n scalar images that threshold(0.5) calls real with probability p_real."""
    return (rng.uniform(size=(n, 1)) < p_real) * 0.9 + 0.05


def test_bootstrap_intervals_cover_the_known_ratios_and_shrink_with_more_images():
    # D1 = D2 = [x > 0.5]; test images are called fake (errors) at 20%, G2 fools D1 30%, G1 fools D2 15%:
    # true r_test = 1 (the same discriminator on the same images), true r_sample = 0.30 / 0.15 = 2.
    rng = np.random.default_rng(0)
    widths = {}
    for n in (500, 8000):
        x_test = bernoulli_column(rng, n, 0.8)
        result = gam.battle(threshold(0.5), bernoulli_column(rng, n, 0.15), threshold(0.5),
                            bernoulli_column(rng, n, 0.30), x_test, x_test)
        assert result.intervals["r_test"] == [1.0, 1.0]  # paired: identical judgements, no spread
        lo, hi = result.intervals["r_sample"]
        assert lo < 2.0 < hi and lo < result.r_sample.value < hi
        widths[n] = hi - lo
    assert 2.5 < widths[500] / widths[8000] < 6.0  # ~ sqrt(16) = 4: the interval shrinks as 1/sqrt(n)


def test_a_generator_against_itself_is_a_statistical_tie_at_1000_samples():
    """Two draws of one generator, judged by one discriminator: r_sample = 1 up to sampling error,
    and the 95% interval covers 1 for (about) 95% of seeds."""
    covered, values = 0, []
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        x_test = bernoulli_column(rng, 1000, 0.8)
        g1, g2 = bernoulli_column(rng, 1000, 0.3), bernoulli_column(rng, 1000, 0.3)
        result = gam.battle(threshold(0.5), g1, threshold(0.5), g2, x_test, x_test)
        lo, hi = result.intervals["r_sample"]
        covered += lo <= 1.0 <= hi
        values.append(result.r_sample.value)
    assert covered >= 34  # 95% of 40 is 38; binomial 1% lower tail is 34
    # Each error rate has relative s.d. sqrt((1 - p) / (n p)) = 0.048 at p = 0.3, n = 1000; the ratio
    # of two independent ones sqrt(2) times that: 0.068.
    assert 0.05 < np.std(values) < 0.085


def test_intervals_reach_the_json_and_the_markdown():
    result = gam.battle(threshold(0.5), G1, threshold(0.3), G2, X_TRAIN, X_TEST, names=("A", "B"))
    again = gam.BattleResult.from_dict(json.loads(result.to_json()))
    assert again.intervals == result.intervals and again.intervals["confidence"] == 0.95
    assert "bootstrap interval" in gam_markdown.battle_table(result)


def test_the_interval_verdict_follows_the_bootstrap_intervals():
    both = {"confidence": 0.95}
    assert gam.decide_by_intervals({**both, "r_test": [0.8, 1.3], "r_sample": [0.5, 0.9]})[0] == gam.M1
    assert gam.decide_by_intervals({**both, "r_test": [0.8, 1.3], "r_sample": [1.1, 1.6]})[0] == gam.M2
    assert gam.decide_by_intervals({**both, "r_test": [0.8, 1.3], "r_sample": [0.9, 1.1]})[0] == gam.TIE
    assert gam.decide_by_intervals({**both, "r_test": [1.2, 1.9], "r_sample": [0.5, 0.9]})[0] == gam.TIE
    assert gam.decide_by_intervals({**both, "r_test": None, "r_sample": [0.5, 0.9]})[0] == gam.M1  # 0/0: equal
    assert gam.decide_by_intervals({**both, "r_test": [0.9, 1.1], "r_sample": None})[0] == gam.TIE


def test_a_tolerance_of_01_calls_noise_a_difference_where_the_intervals_do_not():
    """One discriminator judging the same 1,000 test images twice is r_test = 1; two discriminators
    with the same 10% test error but independent mistakes differ only by chance, yet |r_test − 1|
    exceeds 0.1 in a large share of draws (sd of log r ≈ sqrt(2 · 0.9 / 100) = 0.13), while the
    95% interval covers 1 in about 95% of them."""
    beyond_tolerance, covered = 0, 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        x_test = np.ones((1000, 1))
        d1_wrong, d2_wrong = rng.uniform(size=1000) < 0.1, rng.uniform(size=1000) < 0.1
        d1 = lambda x, w=d1_wrong: np.where(w[: len(x)], 0.2, 0.8)  # noqa: E731  (real test images only)
        d2 = lambda x, w=d2_wrong: np.where(w[: len(x)], 0.2, 0.8)  # noqa: E731
        result = gam.battle(d1, x_test, d2, x_test, x_test, x_test)
        beyond_tolerance += abs(result.r_test.value - 1) > 0.1
        lo, hi = result.intervals["r_test"]
        covered += lo <= 1.0 <= hi
    assert beyond_tolerance >= 12  # P(|r − 1| > 0.1) ≈ 0.45 under the normal approximation
    assert covered >= 34  # 95% of 40, binomial 1% lower tail


def test_degradations_are_known_amounts_of_damage():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.3, 0.7, (20, 16, 16, 1))
    np.testing.assert_array_equal(degraded(images, "noise", 0.0), images)
    noisy = degraded(images, "noise", 0.05)
    assert np.std(noisy - images) == pytest.approx(0.05, rel=0.05)  # no clipping inside [0.3, 0.7] ± 4 sd
    blurred = degraded(images, "blur", 1.5)
    assert blurred.mean() == pytest.approx(images.mean(), abs=1e-3)  # blur moves no mass
    assert np.std(blurred) < 0.5 * np.std(images)  # and removes most of the pixel-level variation
    assert degraded(images + 0.5, "noise", 1.0).max() <= 1.0  # clipped to the value range
    with pytest.raises(GranError, match="unknown degradation"):
        degraded(images, "jpeg", 1.0)


def test_a_degraded_copy_battles_the_clean_model_with_one_discriminator():
    """D scores images by closeness to 0.5 (the 'data'): noisier copies of the clean samples fool
    it less and less, so r_sample falls monotonically and the clean model wins."""
    rng = np.random.default_rng(1)
    clean = np.clip(0.5 + rng.normal(0, 0.05, (1000, 4, 4, 1)), 0, 1)
    real = np.clip(0.5 + rng.normal(0, 0.05, (1000, 4, 4, 1)), 0, 1)
    d = lambda x: 1 / (1 + np.exp(40 * (np.abs(np.asarray(x) - 0.5).reshape(len(x), -1).mean(axis=1) - 0.045)))  # noqa: E731
    ratios = []
    for strength in (0.02, 0.05, 0.1):
        result = gam.battle(d, clean, d, degraded(clean, "noise", strength), real, real)
        assert result.r_test.value == 1.0
        ratios.append(result.r_sample.value)
        assert result.winner == gam.M1 and result.interval_winner == gam.M1
    assert ratios[0] > ratios[1] > ratios[2]
