"""gin registration for Keras models.

gin wraps a class's ``__init__`` in a ``(*args, **kwargs)`` function; Keras reads the
constructor's argument list, so the original signature is put back on the wrapper.
"""
import inspect

import gin
import keras


def configurable_model(cls):
    """Registers a Keras model class with gin (by its name) and for Keras serialisation."""
    signature = inspect.signature(cls.__init__)
    cls = gin.configurable(keras.saving.register_keras_serializable("gran_tf")(cls))
    cls.__init__.__signature__ = signature
    return cls
