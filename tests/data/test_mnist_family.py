"""MNIST-family datasets checked against the raw arrays of load_mnist / load_fashion_mnist."""
import gin
import numpy as np
import pytest

from gran_tf.data import make_dataset
from gran_tf.data import load_fashion_mnist, load_mnist
from gran_tf.data.mnist_files import read_idx_gz
from gran_tf.errors import DataUnavailableError

# The tests use the 10k test split: it is loaded once per process and kept small.
SPLIT = "test"


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist(SPLIT)


def batches(name, num_batches, batch_size=100, seed=0, **kwargs):
    dataset = make_dataset(name, batch_size=batch_size, seed=seed, split=SPLIT, **kwargs)
    pairs = [(x.numpy(), y.numpy()) for x, y in dataset.take(num_batches)]
    return np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs])


@pytest.mark.parametrize("name,channels", [("mnist", 1), pytest.param("fashion_mnist", 1, marks=pytest.mark.fashion_mnist),
                                           ("stacked_mnist", 3), ("colored_mnist", 3)])
@pytest.mark.parametrize("pixel_range,low", [("unit", 0.0), ("symmetric", -1.0)])
def test_shapes_dtypes_and_pixel_ranges(name, channels, pixel_range, low):
    x, y = batches(name, 1, batch_size=64, pixel_range=pixel_range)
    assert x.shape == (64, 28, 28, channels) and x.dtype == np.float32
    assert y.shape == (64,) and y.dtype == np.int32
    assert x.min() == low and x.max() == 1.0


def test_unshuffled_epoch_is_the_raw_split(mnist_test):
    images, labels = mnist_test
    x, y = batches("mnist", 1000, batch_size=1000, shuffle=False, repeat=False)
    np.testing.assert_array_equal(x[..., 0], images.astype(np.float32) / 255.0)
    np.testing.assert_array_equal(y, labels)


def test_shuffled_epoch_is_a_permutation_of_the_split(mnist_test):
    images, labels = mnist_test
    x, y = batches("mnist", 1000, batch_size=1000, seed=3, repeat=False)
    assert len(y) == 10000 and not np.array_equal(y, labels)
    np.testing.assert_array_equal(np.sort(y), np.sort(labels))
    # Summed in float64 so that numpy's float32 summation order (SIMD width) cannot matter; one
    # image more or less would move the sum by ~1e-4 relative.
    np.testing.assert_allclose(x.sum(dtype=np.float64), images.sum(dtype=np.float64) / 255.0, rtol=1e-6)


@pytest.mark.fashion_mnist
def test_fashion_mnist_matches_the_idx_files():
    images, labels = load_fashion_mnist(SPLIT)
    assert images.shape == (10000, 28, 28) and np.bincount(labels).tolist() == [1000] * 10
    x, y = batches("fashion_mnist", 1, batch_size=500, shuffle=False)
    np.testing.assert_array_equal(x[..., 0], images[:500] / np.float32(255.0))
    np.testing.assert_array_equal(y, labels[:500])


def test_idx_reader_rejects_a_wrong_magic_number(tmp_path):
    import gzip

    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as f:
        f.write(np.array([2049, 3], ">u4").tobytes() + bytes(3))
    assert read_idx_gz(str(path), 2049).tolist() == [0, 0, 0]
    with pytest.raises(DataUnavailableError):
        read_idx_gz(str(path), 2051)


@pytest.mark.parametrize("name", ["mnist", "stacked_mnist", "colored_mnist"])
def test_same_seed_same_batches_other_seed_differs(name):
    x0, y0 = batches(name, 2, batch_size=32, seed=5)
    x1, y1 = batches(name, 2, batch_size=32, seed=5)
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(y0, y1)
    assert not np.array_equal(x0, batches(name, 2, batch_size=32, seed=6)[0])


def test_stacked_labels_decode_to_the_digit_of_each_channel(mnist_test):
    images, labels = mnist_test
    digit_of = {image.tobytes(): label for image, label in zip(images, labels)}
    x, y = batches("stacked_mnist", 2, batch_size=256, seed=1)
    channels = np.rint(x * 255.0).astype(np.uint8)
    for c, weight in enumerate((100, 10, 1)):
        decoded = (y // weight) % 10
        found = [digit_of[np.ascontiguousarray(image[..., c]).tobytes()] for image in channels]
        np.testing.assert_array_equal(decoded, found)
    assert len(np.unique(y)) > 350  # 512 draws from 1000 equally likely classes


def test_colored_digits_follow_the_recipe():
    gray, digits = batches("mnist", 2, batch_size=1000, seed=2)
    x, y = batches("colored_mnist", 2, batch_size=1000, seed=2)
    np.testing.assert_array_equal(y, digits)  # same digits, in the same order
    ink = gray[..., 0] > 0.5
    # Least-squares colour per image and channel on the ink pixels: c = <g, x> / <g, g>.
    g = np.where(ink, gray[..., 0], 0.0)[..., None]
    colors = (g * x).sum(axis=(1, 2)) / (g * g).sum(axis=(1, 2))
    q25, q50, q75 = np.percentile(colors, [25, 50, 75])
    assert abs(q50 - 0.5) < 0.03
    assert abs((q75 - q25) / 1.349 - 0.25) < 0.03  # IQR of N(mu, 0.25^2) is 1.349 sigma
    background = x[gray[..., 0] == 0.0]
    assert abs((background == 0.0).mean() - 0.5) < 0.02  # clip(eps, 0, 1) is 0 for half the noise
    positive = background[background > 0]
    np.testing.assert_allclose(positive.mean(), 0.02 * np.sqrt(2 / np.pi), rtol=0.05)  # half-normal mean


def test_colored_recipe_is_gin_configurable():
    gray, _ = batches("mnist", 1, batch_size=50, seed=4)
    try:
        gin.bind_parameter("colored_mnist_recipe.color_mean", 1.0)
        gin.bind_parameter("colored_mnist_recipe.color_std", 0.0)
        gin.bind_parameter("colored_mnist_recipe.noise_std", 0.0)
        x, _ = batches("colored_mnist", 1, batch_size=50, seed=4)
    finally:
        gin.clear_config()
    np.testing.assert_array_equal(x, np.repeat(gray, 3, axis=3))
