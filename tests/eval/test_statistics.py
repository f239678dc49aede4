import math

import pytest

import gran_tf as gt


def test_mean_and_standard_error():
    mean, se = gt.mean_se([1.0, 2.0, 3.0, 6.0])
    assert mean == 3.0
    assert math.isclose(se, math.sqrt((4 + 1 + 0 + 9) / 3 / 4))
    assert math.isnan(gt.mean_se([5.0])[1])
    with pytest.raises(ValueError, match="at least one"):
        gt.mean_se([])
