"""tfds image sets on mocked data; fast failure when the prepared data is missing."""
import time

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from gran_tf.data import dataset_spec, make_dataset
from gran_tf.data.pipeline import resize_and_centre_crop
from gran_tf.data.tfds_source import TFDS_IMAGE_SOURCES, load_tfds_arrays
from gran_tf.errors import DataUnavailableError

MOCK_EXAMPLES = 12


def mocked_batches(name, **kwargs):
    with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
        return [(x.numpy(), y.numpy()) for x, y in make_dataset(name, **kwargs)]


@pytest.mark.parametrize("name", sorted(TFDS_IMAGE_SOURCES))
@pytest.mark.parametrize("pixel_range,low", [("unit", 0.0), ("symmetric", -1.0)])
def test_one_epoch_shapes_ranges_and_labels(name, pixel_range, low):
    spec = dataset_spec(name)
    epoch = mocked_batches(name, batch_size=5, seed=1, repeat=False, pixel_range=pixel_range)
    num_parts = len(TFDS_IMAGE_SOURCES[name].tfds_names)
    assert len(epoch) == num_parts * MOCK_EXAMPLES // 5  # partial batch dropped
    for x, y in epoch:
        assert x.shape == (5,) + spec.shape and x.dtype == np.float32
        assert y.shape == (5,) and y.dtype == np.int32
        assert low <= x.min() and x.max() <= 1.0
        if spec.num_classes is None:
            np.testing.assert_array_equal(y, -1)
        else:
            assert ((0 <= y) & (y < spec.num_classes)).all()


def cifar_stream(seed, shuffle):
    """Six batches of 4 mocked CIFAR10 images: two passes over the 12 examples."""
    with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
        dataset = make_dataset("cifar10", batch_size=4, seed=seed, shuffle=shuffle)
        return np.stack([x.numpy() for x, _ in dataset.take(6)]).reshape(2, MOCK_EXAMPLES, 32, 32, 3)


def sorted_bytes(images):
    return sorted(image.tobytes() for image in images)


def test_repeat_shuffle_and_seed():
    shuffled, again, ordered = cifar_stream(3, True), cifar_stream(3, True), cifar_stream(3, False)
    np.testing.assert_array_equal(shuffled, again)
    np.testing.assert_array_equal(ordered[0], ordered[1])
    assert not np.array_equal(shuffled[0], ordered[0])
    # Every shuffled epoch is a permutation of the examples.
    assert sorted_bytes(shuffled[0]) == sorted_bytes(ordered[0]) == sorted_bytes(shuffled[1])


def test_load_tfds_arrays_drops_the_grey_channel():
    with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
        images, labels = load_tfds_arrays("mnist", "train")
    assert images.shape == (MOCK_EXAMPLES, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (MOCK_EXAMPLES,) and labels.dtype == np.int64


@pytest.mark.parametrize("name", sorted(TFDS_IMAGE_SOURCES))
def test_missing_data_dir_fails_fast_with_instructions(name, tmp_path):
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as err:
        make_dataset(name, data_dir=str(tmp_path))
    assert time.monotonic() - start < 10.0
    message = str(err.value).splitlines()[0]
    assert "tfds build" in message and str(tmp_path) in message and "data_dir" in message


def test_load_tfds_arrays_uses_the_help_message(tmp_path):
    with pytest.raises(DataUnavailableError, match="^install it like so"):
        load_tfds_arrays("mnist", "test", data_dir=str(tmp_path), help_message="install it like so")


def test_resize_keeps_the_centre_of_the_longer_side():
    landscape = tf.reshape(tf.range(64 * 128, dtype=tf.int32) % 251, [64, 128, 1])
    landscape = tf.cast(tf.tile(landscape, [1, 1, 3]), tf.uint8)
    np.testing.assert_array_equal(resize_and_centre_crop(landscape, 64).numpy(), landscape.numpy()[:, 32:96])
    # Portrait 200x100 with a white middle band (rows 50..149) scales to 128x64; the crop is that band.
    rows = np.zeros([200, 100, 3], np.uint8)
    rows[50:150] = 255
    crop = resize_and_centre_crop(tf.constant(rows), 64).numpy()
    assert crop.shape == (64, 64, 3)
    assert (crop[2:-2] == 255).all() and crop.mean() > 245
