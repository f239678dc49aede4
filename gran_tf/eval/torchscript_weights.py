"""Read the tensors (and integer attributes) of a TorchScript ``.pt`` file without torch.

A TorchScript archive is a zip holding ``<root>/data.pkl`` (the module tree, pickled; tensors are
persistent references to raw storages) and ``<root>/data/<key>`` (each storage's bytes,
little-endian). This reader unpickles the tree with stand-ins for torch's classes and flattens it
to ``{"net.layers.conv.weight": ndarray, "net.layers.conv.stride": array(2), ...}``.
"""
import collections
import pickle
import zipfile

import numpy as np

from gran_tf.errors import GranError

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}

_JIT_LIST_BUILDERS = ("build_intlist", "build_doublelist", "build_boollist", "build_tensorlist")


class _ScriptModule:
    """Stand-in for a pickled ``__torch__.*`` module: keeps its attribute dict."""

    def __setstate__(self, state):
        self.attributes = state


class _StorageType:
    def __init__(self, name):
        self.dtype = _STORAGE_DTYPES[name]


def _rebuild_tensor(storage, offset, size, stride, *_):
    """A view of ``storage`` with torch's (offset, size, stride) in elements, copied."""
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride))
    return np.array(view)


class _TorchScriptUnpickler(pickle.Unpickler):
    def __init__(self, file, archive, root):
        super().__init__(file)
        self._archive, self._root = archive, root

    def find_class(self, module, name):
        if module.startswith("__torch__"):
            return _ScriptModule
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch.jit._pickle" and name in _JIT_LIST_BUILDERS:
            return list
        raise GranError(f"Unsupported object {module}.{name} in TorchScript file")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid
        if kind != "storage":
            raise GranError(f"Unsupported persistent id {pid!r} in TorchScript file")
        raw = self._archive.read(f"{self._root}/data/{key}")
        return np.frombuffer(raw, dtype=storage_type.dtype, count=numel)


def _flatten(obj, prefix, out):
    if isinstance(obj, _ScriptModule):
        for name, value in obj.attributes.items():
            _flatten(value, f"{prefix}.{name}" if prefix else name, out)
    elif isinstance(obj, np.ndarray):
        out[prefix] = obj
    elif isinstance(obj, (int, float, list, tuple)) and not isinstance(obj, bool):
        out[prefix] = np.asarray(obj)


def read_torchscript(path):
    """``{dotted name: np.ndarray}`` of every tensor and numeric attribute in a TorchScript file."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise GranError(f"{path} is not a readable TorchScript archive: {err}") from err
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise GranError(f"{path} has {len(pickles)} data.pkl entries; expected one")
        root = pickles[0][: -len("/data.pkl")]
        with archive.open(pickles[0]) as file:
            tree = _TorchScriptUnpickler(file, archive, root).load()
    out = {}
    _flatten(tree, "", out)
    return out
