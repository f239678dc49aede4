"""The BRC paper's synthetic configs: the same networks and D work for every method, and each
_brc file differs from its baseline in the updater only."""
import math

import gin
import pytest

from gran_tf import config

DATASETS = {"ring5": ("ring", 5), "ring8": ("ring", 8), "cube27": ("cube", 27)}
LOSSES = {"vgan": "@NonSaturating()", "wgan": "@Wasserstein()", "lsgan": "@LeastSquares()", "hinge": "@Hinge()"}


# The ring script's WGAN + GN (LwCL WGAN_loop_GP): D_STEPS committed D steps, c at that D, clipped.
RING_WGAN_LINES = {"lwcl_brc.inner_steps = %D_STEPS", "lwcl_brc.look_ahead_steps = None",
                   "lwcl_brc.coefficient_clip = 0.1"}


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("loss", LOSSES)
def test_the_brc_file_only_switches_the_updater_to_the_authors_algorithm(data, loss):
    base, brc = (set(config.parse([f"{data}_{loss}{suffix}"]).splitlines()) for suffix in ("", "_brc"))
    ring_wgan = loss == "wgan" and data != "cube27"
    assert base - brc == {"Trainer.updater = @Alternating()"} | (
        {"lwcl_brc.inner_steps = 1", "lwcl_brc.look_ahead_steps = %D_STEPS"} if ring_wgan else set())
    assert brc - base == {"Trainer.updater = @lwcl_brc()"} | (RING_WGAN_LINES if ring_wgan else set())
    assert f"Trainer.loss = {LOSSES[loss]}" in base
    # 1 committed D step + D_STEPS look-ahead steps (base/brc_points.gin), unless the ring WGAN path
    assert {"lwcl_brc.inner_steps = 1", "lwcl_brc.look_ahead_steps = %D_STEPS"} <= base


@pytest.mark.parametrize("data", DATASETS)
def test_proxgan_brc_keeps_proxgans_discriminator_work(data):
    base, brc = (set(config.parse([f"{data}_proxgan{suffix}"]).splitlines()) for suffix in ("", "_brc"))
    assert base - brc == {"Trainer.updater = @Proximal()", "BRC.inner_steps = %D_STEPS"}
    assert brc - base == {"Trainer.updater = @BRC()", "BRC.inner_steps = 1", "BRC.proximal = @Proximal()"}


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("method", ["vgan", "proxgan", "unrolled"])
def test_every_method_has_the_paper_setting(data, method):
    config.parse([f"{data}_{method}"])
    name, modes = DATASETS[data]
    assert gin.query_parameter("Trainer.dataset") == name
    assert gin.query_parameter("Trainer.batch_size") == 512
    assert gin.query_parameter("MLPGenerator.hidden") == gin.query_parameter("MLPDiscriminator.hidden") == (256, 256)
    assert gin.query_parameter("MLPDiscriminator.activation") == "leaky_relu"
    std = gin.query_parameter(f"{name}.std")
    assert abs(std ** 2 - 0.02) < 1e-12  # variance 0.02
    n = gin.query_parameter("ring.n_modes") if name == "ring" else gin.query_parameter("cube.n") ** 3
    assert n == modes
    inner = {"vgan": "Alternating.n_disc", "proxgan": "Proximal.steps", "unrolled": "Unrolled.steps"}[method]
    assert str(gin.query_parameter(inner)) == "%D_STEPS" and gin.query_parameter("%D_STEPS") == 5


# What the authors' scripts run (github moriyaya/LwCL @ da607e87; docs/brc.md#the-authors-algorithm-lwcl-code).
AUTHORS = {
    "ring": {"ring.n_modes": 8, "ring.radius": 5.0, "ring.std": 0.02, "MLPGenerator.z_dim": 256,
             "MLPGenerator.hidden": (128, 128), "MLPDiscriminator.hidden": (128, 128),
             "MLPGenerator.activation": "leaky_relu", "MLPGenerator.negative_slope": 0.01,
             "g/keras.optimizers.Adam.learning_rate": 1e-3,
             "d/keras.optimizers.Adam.learning_rate": 1e-4, "Trainer.total_steps": 5000},
    "cube": {"cube.n": 3, "cube.spacing": 8 * math.pi / 3, "cube.std": 0.02, "MLPGenerator.z_dim": 512,
             "MLPGenerator.hidden": (256, 256), "MLPDiscriminator.hidden": (256, 256),
             "MLPGenerator.activation": "tanh", "g/keras.optimizers.Adam.learning_rate": 1e-5,
             "d/keras.optimizers.Adam.learning_rate": 1e-3, "Trainer.total_steps": 200000},
}
COMMON = {"Trainer.batch_size": 512, "MLPDiscriminator.activation": "leaky_relu", "Trainer.loss": "@NonSaturating()",
          "g/keras.optimizers.Adam.beta_1": 0.9, "g/keras.optimizers.Adam.beta_2": 0.999,
          "d/keras.optimizers.Adam.beta_1": 0.9, "d/keras.optimizers.Adam.beta_2": 0.999,
          "Alternating.n_disc": "%AUTHORS_K", "lwcl_brc.inner_steps": 1, "lwcl_brc.look_ahead_steps": "%AUTHORS_K",
          "lwcl_brc.epsilon": 1e-10, "lwcl_brc.look_ahead_moments": "commit", "%AUTHORS_K": 10,
          # PyTorch's nn.Linear init and F.leaky_relu slope
          "MLPGenerator.init": "torch_default", "MLPDiscriminator.init": "torch_default",
          "MLPDiscriminator.negative_slope": 0.01}


@pytest.mark.parametrize("data", AUTHORS)
def test_the_authors_configs_have_their_scripts_settings(data):
    vgan, gn = (set(config.parse([f"{data}_brc_authors_vgan{suffix}"]).splitlines()) for suffix in ("", "_gn"))
    assert vgan - gn == {"Trainer.updater = @Alternating()"}
    assert gn - vgan == {"Trainer.updater = @lwcl_brc()"}
    assert gin.query_parameter("Trainer.dataset") == data
    for key, value in {**AUTHORS[data], **COMMON}.items():
        found = gin.query_parameter(key)
        found = str(found) if hasattr(found, "selector") or str(found).startswith("%") else found
        assert found == value or (isinstance(value, float) and abs(found - value) < 1e-12), (key, found, value)
