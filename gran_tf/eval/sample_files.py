"""Samples saved to a file (``gran-sample``'s .npz, another implementation's .npy), read back and
checked: what ``gran-evaluate --samples`` scores and what ``gran-battle --samples_npz`` judges."""
import io

import numpy as np

from gran_tf import storage
from gran_tf.errors import ConfigError

SAMPLES_KEY = "samples"


def load_samples(path, key=None, image_shape=None, value_range=None, dtype=None, flag=None):
    """The samples [N, ...] in a .npy file, or in a .npz file: its array ``key``, else its only
    array, else its array "samples". Local or object-store paths (``gran_tf.storage``).

    Checks (a ConfigError says what is wrong, after ``flag``, the command's flag, when given): the
    file exists and is NumPy's format, the array is numeric, non-empty and finite;
    ``shape[1:] == image_shape`` and values within ``value_range`` when given. ``dtype``: the
    array is cast to it (else returned as stored).
    """
    where = f"{flag}: " if flag else ""
    if not storage.exists(path):
        raise ConfigError(f"{where}no samples file: {path} does not exist")
    try:
        loaded = np.load(io.BytesIO(storage.read_bytes(path)), allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                names = sorted(loaded.files)
                if key is None:
                    key = names[0] if len(names) == 1 else SAMPLES_KEY
                if key not in names:
                    hint = "" if flag else "; name one with key="
                    raise ConfigError(f"{where}{path} has no array {key!r} (it holds {', '.join(names)}){hint}")
                x, name = loaded[key], f"{path}[{key!r}]"
        else:
            x, name = loaded, str(path)
    except (ValueError, OSError, EOFError) as err:  # not NumPy's format, or cut short
        raise ConfigError(f"{where}{path} is not a readable .npy/.npz file ({err})") from None
    if not np.issubdtype(x.dtype, np.number):
        raise ConfigError(f"{where}{name} holds {x.dtype} values, not numbers")
    if x.ndim < 2 or len(x) == 0:
        raise ConfigError(f"{where}{name} must be a non-empty [N, ...] array, got shape {x.shape}")
    if image_shape is not None and tuple(x.shape[1:]) != tuple(image_shape):
        raise ConfigError(f"{where}{name} has samples of shape {x.shape[1:]}, expected {tuple(image_shape)}")
    if dtype is not None:
        x = x.astype(dtype)
    if not np.isfinite(x).all():
        raise ConfigError(f"{where}{name} contains NaN or inf")
    if value_range is not None and (x.min() < value_range[0] or x.max() > value_range[1]):
        raise ConfigError(f"{where}{name} has values in [{x.min():.3g}, {x.max():.3g}], "
                          f"outside the expected range {tuple(value_range)}")
    return x
