"""Shared test setup: quiet TF logs, two logical CPU devices for mirrored-strategy tests."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRAN_TF_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache", "gran_tf"))

import gin  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # the runtime was initialised before this file ran
    pass


@pytest.fixture(autouse=True)
def fresh_gin_config():
    """No gin binding outlives the test that parsed it (models read gin at construction)."""
    yield
    gin.clear_config()
