"""Any shipped config trained offline in seconds: widths shrunk, unrolls shortened, the tfds image sets mocked with
random examples of their shapes, image folders given random photos. The gin config tests and
``bench/gpu_suite.py`` use it; nothing in training does.
"""
import contextlib
import os

import gin
import numpy as np

from gran_tf import config

MOCKED = {"cifar10", "lsun_church", "lsun_kitchen", "imagenet64"}  # tfds sets, absent offline
OVERLAYS = ("tpu",)  # added after a config (--gin_file=lsun_gran5 --gin_file=tpu), not trained alone
IMAGE_GENERATORS = ("GRANGenerator", "DCGANGenerator")
SHRINK = {"GRANGenerator.kernels", "DCGANGenerator.kernels", "DCGANDiscriminator.kernels",
          "MLPGenerator.hidden", "MLPDiscriminator.hidden"}
# Lengths of the look-aheads and inner loops: any value >= 2 runs the same code (a step fed by a
# step), so a smoke run caps them there; what K changes is tested in tests/training.
SHORTEN = {"Unrolled.steps", "Proximal.steps", "BRC.inner_steps", "BRC.look_ahead_steps", "BRC.solver_iters",
           "lwcl_brc.look_ahead_steps", "lwcl_brc.inner_steps"}
SHORT = 2


def shipped_configs():
    """The names of the shipped configs (``gin/<name>.gin``), sorted, overlays left out."""
    return sorted(name[:-4] for name in os.listdir(config.GIN_DIR)
                  if name.endswith(".gin") and name[:-4] not in OVERLAYS)


def image_configs():
    """The shipped configs whose generator draws images (GRAN, DCGAN); parses each in turn."""
    names = []
    for name in shipped_configs():
        config.parse([name])
        if gin.query_parameter("Trainer.generator").selector in IMAGE_GENERATORS:
            names.append(name)
    return names


def shrunk_bindings(divisor=32, batch_size=4):
    """Bindings that divide every width of the parsed config by ``divisor`` (at least 2; a
    generator's last kernel, its image channels, kept), cap the unroll and inner-loop lengths
    at ``SHORT`` and set a small batch."""
    params = [f"Trainer.batch_size = {batch_size}"]
    for key in SHORTEN:
        try:
            length = gin.query_parameter(key)
        except ValueError:
            continue
        if isinstance(length, int) and not isinstance(length, bool) and length > SHORT:
            params.append(f"{key} = {SHORT}")
    for key in SHRINK:
        try:
            widths = gin.query_parameter(key)
        except ValueError:
            continue
        small = [max(2, w // divisor) for w in widths]
        if key.endswith("Generator.kernels"):
            small[-1] = widths[-1]
        params.append(f"{key} = {tuple(small)}")
    return params


def random_photos(root, n, size=(24, 32), seed=0):
    """``n`` random RGB PNGs of ``size`` (h, w) under ``root``: a folder for ``Trainer.dataset = "folder"``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(os.path.join(root, f"im{i:03d}.png"))
    return root


@contextlib.contextmanager
def offline_trainer(gin_file, model_dir, extra=(), shrink=True):
    """A ``Trainer`` of ``gin_file`` (then ``extra`` bindings) that trains offline: a folder config
    gets eight random photos beside ``model_dir``, a tfds image set random examples of its
    shapes while the context lasts; widths shrunk when ``shrink``."""
    from gran_tf.training.trainer import Trainer

    config.parse([gin_file])
    dataset = gin.query_parameter("Trainer.dataset")
    bindings = shrunk_bindings() if shrink else []
    if dataset == "folder":
        folder = random_photos(os.path.join(os.path.dirname(model_dir), "images"), 8)
        bindings += [f"image_folder.path = '{folder}'", "image_folder.test_fraction = 0.25"]
    config.parse([gin_file], [*bindings, *extra])
    if dataset in MOCKED:
        import tensorflow_datasets as tfds

        with tfds.testing.mock_data(num_examples=8):
            yield Trainer(model_dir=model_dir)
    else:
        yield Trainer(model_dir=model_dir)
