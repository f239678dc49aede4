"""Statistics over seeds, as the result tables report them."""
import math


def mean_se(values):
    """(mean, standard error of the mean) of ``values``: s.e. = s / √n with the unbiased sample
    standard deviation s; NaN for a single value."""
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("mean_se needs at least one value")
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)
