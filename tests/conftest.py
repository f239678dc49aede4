"""Shared test setup: quiet TF logs, two logical CPU devices for mirrored-strategy tests."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRAN_TF_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache", "gran_tf"))

import gin  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # the runtime was initialised before this file ran
    pass


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.fashion_mnist`` tests skip, with the reason, where the Debian data is absent
    (`make` installs it where apt-get can; elsewhere Fashion-MNIST comes from tfds at run time)."""
    from gran_tf.data.mnist_files import FASHION_MNIST_DIR

    if os.path.isdir(FASHION_MNIST_DIR):
        return
    skip = pytest.mark.skip(reason=f"Fashion-MNIST not installed ({FASHION_MNIST_DIR}: apt-get install dataset-fashion-mnist)")
    for item in items:
        if "fashion_mnist" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def fresh_gin_config():
    """No gin binding outlives the test that parsed it (models read gin at construction)."""
    yield
    gin.clear_config()


@pytest.fixture
def float32_paths():
    """assert_allclose tolerances for float32 results of one computation on two code paths
    (eager, tf.function, stateless_call; one device or mirrored; oneDNN on or off), whose kernels
    may sum in other orders: ~100 ulps relative, and 1e-6 absolute for O(1) values near zero.
    Same kernels on the same inputs (resume, repeated runs) are compared exactly instead."""
    return dict(rtol=1e-5, atol=1e-6)


def central_differences(loss_fn, variables, eps=1e-6):
    """(loss(v + εe_i) − loss(v − εe_i)) / 2ε for every entry of every variable (float64 tests)."""
    import numpy as np

    grads = []
    for var in variables:
        base = var.numpy()
        grad = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            values = []
            for sign in (1, -1):
                shifted = base.copy()
                shifted[i] += sign * eps
                var.assign(shifted)
                values.append(float(loss_fn()))
            grad[i] = (values[0] - values[1]) / (2 * eps)
        var.assign(base)
        grads.append(grad)
    return grads


@pytest.fixture
def finite_difference_gradient():
    """``finite_difference_gradient(loss_fn, variables, eps=1e-6)``: central differences."""
    return central_differences


def all_weights(trainer):
    """G's then D's weights (trainable and not) as NumPy arrays."""
    return [w.numpy() for w in trainer.generator.weights + trainer.discriminator.weights]


@pytest.fixture
def weights():
    """``weights(trainer)``: G's then D's weights as NumPy arrays (resume and equivalence tests)."""
    return all_weights


def _straight_and_resumed(train, steps=12):
    """``train(name, total_steps) -> Trainer`` run straight for ``steps`` and as ``steps/2`` then a
    resume to ``steps`` in another directory; asserts equal weights (bit-exact); returns both."""
    straight = train("straight", steps)
    train("resumed", steps // 2)
    resumed = train("resumed", steps)
    names = [w.path for w in straight.generator.weights + straight.discriminator.weights]
    for name, a, b in zip(names, all_weights(straight), all_weights(resumed)):
        np.testing.assert_array_equal(a, b, err_msg=name)
    return straight, resumed


@pytest.fixture
def resumes_bit_exactly():
    """``resumes_bit_exactly(train, steps=12)``: a straight run and a half-way resume end with
    the same weights, bit for bit (same kernels on the same inputs); returns (straight, resumed)."""
    return _straight_and_resumed


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """$GRAN_TF_CACHE in the test's own directory (image folders' decoded copies, statistics)."""
    monkeypatch.setenv("GRAN_TF_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def write_images(private_cache):
    """``write_images(root, n, size=(h, w), seed=0)`` -> root: random RGB PNGs for
    ``Trainer.dataset = "folder"``, decoded into a private cache."""
    from gran_tf.smoke import random_photos

    return random_photos


def _fake_feature_network(dim=12, name="fake_features"):
    """compare_gan-style stand-in for Inception: any-size images → fixed random projection."""
    images = keras.Input(shape=(None, None, None))
    x = keras.layers.Lambda(lambda t: keras.ops.mean(t, axis=-1, keepdims=True))(images)
    x = keras.layers.Resizing(6, 6)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(dim, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=0),
                             bias_initializer="zeros")(x / 255.0)
    return keras.Model(images, out, name=name)


@pytest.fixture
def fake_feature_network():
    """``fake_feature_network(dim=12, name="fake_features")``: a cheap Keras stand-in for the FID
    Inception network (any image size → a fixed random projection of a 6x6 grey thumbnail)."""
    return _fake_feature_network


def _one_error_line(stderr):
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def one_error_line():
    """``one_error_line(stderr)``: the ``error:`` line of a command's stderr, asserted to be the
    only one (a refusal, a stop signal or a divergence is said in one line)."""
    return _one_error_line


def _assert_one_line_error(result, needle):
    assert result.returncode == 2, result.stderr
    assert needle in _one_error_line(result.stderr), result.stderr


@pytest.fixture
def assert_one_line_error():
    """``assert_one_line_error(completed_process, needle)``: a CLI refused with exit 2 and one
    ``error:`` line on stderr that contains ``needle``."""
    return _assert_one_line_error
