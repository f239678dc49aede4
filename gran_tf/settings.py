"""Checking settings (the Trainer's, the updaters', the models', the data recipes', GANModel's,
the CLI's) into ConfigErrors that name the setting, before anything is built or written.

``integer_setting`` and friends check one value; ``check_settings(owner, name=(kind, value), ...)``
checks a constructor's arguments at once, each against a kind below (``integer(1)``,
``number(above=0)``, ``flag``, ``one_of(...)``, ``widths``, ``optional(kind)``).
"""
import math

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


def number_setting(name, value, minimum=None, above=None, below=None, maximum=None):
    """``value`` as a finite float within the given bounds (``minimum``/``maximum`` inclusive,
    ``above``/``below`` strict), or a ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    for bound, holds, word in ((minimum, lambda b: value >= b, ">="), (above, lambda b: value > b, ">"),
                               (below, lambda b: value < b, "<"), (maximum, lambda b: value <= b, "<=")):
        if bound is not None and not holds(bound):
            raise ConfigError(f"{name} must be {word} {bound}, got {value!r}")
    return float(value)


def integer(minimum=None):
    return lambda name, value: integer_setting(name, value, minimum)


def number(**bounds):
    return lambda name, value: number_setting(name, value, **bounds)


def flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def one_of(*choices):
    def check(name, value):
        if isinstance(value, bool) or value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
        return value
    return check


def widths(name, value):
    """A tuple of layer widths (integers >= 1)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"{name} must be a tuple of integers >= 1, got {value!r}")
    return tuple(integer_setting(f"{name}[{i}]", w, 1) for i, w in enumerate(value))


def optional(kind):
    return lambda name, value: None if value is None else kind(name, value)


def check_settings(owner, **settings):
    """Each ``name=(kind, value)`` checked as ``<owner>.<name>``; returns {name: checked value}."""
    return {name: kind(f"{owner}.{name}", value) for name, (kind, value) in settings.items()}
