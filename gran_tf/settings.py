"""Checking settings (the Trainer's, the updaters', GANModel's, the CLI's) into ConfigErrors
that name the setting, before anything is built or written."""
import numpy as np

from gran_tf.errors import ConfigError


def integer_setting(name, value, minimum=None):
    """``value`` as an int, or a ConfigError saying what is wrong with setting ``name``: a bool,
    a string or a non-integral number (2.5) is not silently converted."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) or value != int(value):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)
