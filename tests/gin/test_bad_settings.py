"""Every argument the shipped gin files bind, given a bad value, is refused with one GranError
line when the Trainer is built: before the run directory is touched and before any step."""
import os
import re

import gin
import pytest

from gran_tf import config
from gran_tf.errors import GranError
from gran_tf.smoke import offline_trainer

BINDING = re.compile(r"^([\w./]+)\.(\w+)\s*=\s*(.+?)\s*(#.*)?$")
INCLUDE = re.compile(r"^include\s+'([^']+)'", re.M)
OVERLAYS = {"tpu.gin"}
# Read whatever the config: the Trainer's own, the data pipeline's, the strategy's and the optimizers'.
ALWAYS_USED = {"Trainer", "make_dataset", "make_strategy", "keras.optimizers.Adam",
               "keras.optimizers.schedules.InverseTimeDecay"}
# Settings a bad value of which cannot reach the code: only read on another machine.
NOT_HERE = {"make_strategy.tpu": "read only where make_strategy.name = 'tpu'"}


def file_bindings(path):
    """{key: value text} bound by a gin file and the files it includes."""
    text = open(path, encoding="utf-8").read()
    found = {}
    for include in INCLUDE.findall(text):
        found.update(file_bindings(os.path.join(config.GIN_DIR, include)))
    for line in text.splitlines():
        match = BINDING.match(line.strip())
        if match and "." in match[1] + "." + match[2] and not line.startswith(("include", "import")):
            found[f"{match[1]}.{match[2]}"] = match[3]
    return found


def used_configurables():
    """Configurables the parsed config's Trainer reaches (by the selectors it names)."""
    used = set(ALWAYS_USED)
    for parameter in ("Trainer.updater", "Trainer.generator", "Trainer.discriminator", "Trainer.loss"):
        try:
            reference = gin.query_parameter(parameter)
        except ValueError:
            continue
        used.add(getattr(reference, "selector", None))
    if "BRC" in used:
        used.add("Proximal")
    dataset = gin.query_parameter("Trainer.dataset")
    return used | {"image_folder" if dataset == "folder" else dataset}


def cases():
    """(key, bad value, a shipped config that binds and uses key): a string for every binding,
    and -1 for every number (none of the shipped numeric settings may be negative)."""
    owners = {}
    for name in sorted(os.listdir(config.GIN_DIR)):
        if not name.endswith(".gin") or name in OVERLAYS:
            continue
        bindings = file_bindings(os.path.join(config.GIN_DIR, name))
        config.parse([name])
        used = used_configurables()
        for key, value in bindings.items():
            configurable = key.rsplit(".", 1)[0].split("/")[-1]
            if configurable in used and key not in owners and key not in NOT_HERE:
                owners[key] = (name, value)
    found = []
    for key, (name, value) in sorted(owners.items()):
        found.append((key, "'no_such'", name))
        if re.fullmatch(r"-?[\d.]+(e-?\d+)?", value) and value not in ("True", "False"):
            found.append((key, "-1", name))
    return found


CASES = cases()


def test_the_cases_cover_each_kind_of_setting():
    keys = {key for key, _, _ in CASES}
    assert {"ring.std", "Unrolled.steps", "BRC.damping", "DCGANDiscriminator.leak", "GRANGenerator.steps",
            "g/keras.optimizers.Adam.beta_1", "Trainer.best_metric", "image_folder.test_fraction",
            "Wasserstein.gp_weight", "lwcl_brc.coefficient_clip"} <= keys
    assert len(keys) >= 70


@pytest.mark.parametrize("key,bad,gin_file", CASES, ids=[f"{k}={v}" for k, v, _ in CASES])
def test_a_bad_value_is_refused_before_the_run_directory_is_touched(key, bad, gin_file, tmp_path, private_cache):
    model_dir = tmp_path / "run"
    with pytest.raises(GranError) as refused:
        with offline_trainer(gin_file, str(model_dir), [f"{key} = {bad}"]):
            pass
    assert str(refused.value).strip(), key
    assert not model_dir.exists()
