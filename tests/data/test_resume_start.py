"""make_dataset(start=k) is make_dataset().skip(k), computed without replaying k batches."""
import numpy as np
import pytest

from gran_tf.data import make_dataset


def arrays(dataset, n):
    return [(x.numpy(), y.numpy()) for x, y in dataset.take(n)]


@pytest.mark.parametrize("name,start", [("ring", 7), ("cube", 1000), ("mnist", 150), ("stacked_mnist", 40),
                                        ("colored_mnist", 153)])
def test_starting_at_a_batch_equals_skipping_to_it(name, start):
    # mnist's test split holds 156.25 batches of 64: 150 + 10 crosses into the next epoch's permutation.
    kwargs = dict(batch_size=64, seed=3, split="test")
    direct = arrays(make_dataset(name, start=start, **kwargs), 10)
    skipped = arrays(make_dataset(name, **kwargs).skip(start), 10)
    for (x, y), (x_ref, y_ref) in zip(direct, skipped, strict=True):
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)


def test_one_epoch_without_repeat_starts_inside_it():
    kwargs = dict(batch_size=1000, seed=0, split="test", shuffle=False, repeat=False)
    rest = arrays(make_dataset("mnist", start=7, **kwargs), 10)
    assert len(rest) == 3
    np.testing.assert_array_equal(rest[0][1], arrays(make_dataset("mnist", **kwargs), 8)[7][1])


def test_a_start_a_skip_could_never_reach_is_immediate():
    # 10^12 ring batches would take ~3 years to skip at the measured ~9 s per 10^5.
    far = arrays(make_dataset("ring", batch_size=16, seed=0, start=10**12), 2)
    assert np.array_equal(far[1][0], arrays(make_dataset("ring", batch_size=16, seed=0, start=10**12 + 1), 1)[0][0])
    assert not np.array_equal(far[0][0], far[1][0])
