"""make_dataset(start=k) is make_dataset().skip(k), computed without replaying k batches."""
import numpy as np
import tensorflow as tf
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


def test_a_streamed_tfds_set_resumes_from_its_checkpointed_iterator(tmp_path, monkeypatch, resumes_bit_exactly):
    """CIFAR10 streams through a shuffle buffer (no random access): its iterator is saved in the
    checkpoint, so a resumed run restores its position instead of reading the skipped batches,
    and trains exactly as an uninterrupted one. tfds's reader is replaced by in-memory examples
    (tfds.testing.mock_data uses from_generator, whose position tf.data cannot save)."""
    from gran_tf import config
    from gran_tf.data import registry, tfds_source
    from gran_tf.training.trainer import Trainer

    rng = np.random.default_rng(0)
    examples = {"image": rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8),
                "label": rng.integers(0, 10, 40)}
    monkeypatch.setattr(tfds_source, "_read_examples",
                        lambda *a: tf.data.Dataset.from_tensor_slices(examples))
    starts, build = [], registry._IMAGE_BUILDERS["cifar10"]

    def spy(split, data_dir, batch_size, seed, repeat, shuffle, start, **recipe):
        starts.append(start)
        return build(split, data_dir, batch_size, seed, repeat, shuffle, start, **recipe)

    monkeypatch.setitem(registry._IMAGE_BUILDERS, "cifar10", spy)
    params = ["Trainer.batch_size = 4", "DCGANGenerator.kernels = (4, 2, 3)", "DCGANDiscriminator.kernels = (2, 4)",
              "Trainer.checkpoint_every = 3", "Trainer.log_every = 3", "Trainer.sample_every = 1000",
              "Trainer.eval_every = 0", "Trainer.best_metric = None"]

    def train(name, total_steps):
        config_str = config.parse(["cifar10_dcgan"], params + [f"Trainer.total_steps = {total_steps}"])
        trainer = Trainer(model_dir=str(tmp_path / name))
        trainer.train(config_str)
        return trainer

    resumes_bit_exactly(train)  # the resume restores step 6: networks, optimizers and the data iterator
    assert starts and set(starts) == {0}  # no pipeline was built to skip batches
    saved = [name for name, _ in tf.train.list_variables(str(tmp_path / "resumed" / "ckpt" / "ckpt-6"))]
    assert any(name.startswith("data_iterator/") for name in saved)
