"""The BRC paper's synthetic configs: the same networks and D work for every method, and each
_brc file differs from its baseline in the updater only."""
import gin
import pytest

from gran_tf import config

DATASETS = {"ring5": ("ring", 5), "ring8": ("ring", 8), "cube27": ("cube", 27)}
LOSSES = {"vgan": "@NonSaturating()", "wgan": "@Wasserstein()", "lsgan": "@LeastSquares()", "hinge": "@Hinge()"}


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("loss", LOSSES)
def test_the_brc_file_only_switches_the_updater(data, loss):
    base, brc = (set(config.parse([f"{data}_{loss}{suffix}"]).splitlines()) for suffix in ("", "_brc"))
    assert base - brc == {"Trainer.updater = @Alternating()"}
    assert brc - base == {"Trainer.updater = @BRC()"}
    assert f"Trainer.loss = {LOSSES[loss]}" in base


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
