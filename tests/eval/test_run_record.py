"""The run record (run.json): written at claim time, read back by evaluation, never gin."""
import json

import gin
import numpy as np
import pytest

from gran_tf import config, run_record
from gran_tf.data import DataRecord
from gran_tf.errors import ConfigError, RunDirError
from gran_tf.eval import run_metrics
from gran_tf.eval.loading import load_run, load_runs
from gran_tf.rundir import RUN_FORMAT
from gran_tf.training.trainer import Trainer

TINY = ["Trainer.total_steps = 2", "Trainer.batch_size = 16", "MLPGenerator.hidden = (8,)",
        "MLPDiscriminator.hidden = (8,)", "Trainer.log_every = 1"]
POISON = ["Trainer.dataset = 'grid'", "ring.std = 0.5", "ring.radius = 7.0", "ring.n_modes = 3",
          "make_dataset.pixel_range = 'symmetric'", "Trainer.seed = 99"]


def train_ring(path, *params):
    config.parse(["ring"], TINY + list(params))
    trainer = Trainer(model_dir=str(path))
    trainer.train(gin.config_str())
    return trainer


@pytest.fixture(scope="module")
def ring_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("record")
    train_ring(root / "narrow", "ring.std = 0.02")
    train_ring(root / "wide", "ring.std = 0.14", "Trainer.seed = 3")
    gin.clear_config()
    return root / "narrow", root / "wide"


def test_the_record_holds_the_data_seed_and_models(ring_runs):
    record = json.loads((ring_runs[1] / "run.json").read_text())
    assert record["data"]["name"] == "ring" and record["data"]["params"]["std"] == pytest.approx(0.14)
    np.testing.assert_allclose(record["data"]["params"]["means"][2], [0.0, 2.0], atol=1e-6)
    assert record["data"]["shape"] == [2] and record["data"]["kind"] == "points" and record["data"]["value_range"] is None
    assert record["seed"] == 3 and record["generator_output"] == "real"
    assert record["models"]["generator"] == "MLPGenerator" and record["models"]["loss"] == {"class": "NonSaturating"}
    assert record["models"]["updater"]["class"] == "Alternating"
    assert record["versions"]["tensorflow"] and record["format"] == RUN_FORMAT


def test_runs_on_other_mixtures_are_refused_with_what_differs(ring_runs):
    with pytest.raises(ConfigError, match=r"different data \(ring\.std: 0\.02 vs 0\.14\)"):
        load_runs([str(p) for p in ring_runs], same_data=True)
    assert len(load_runs([str(p) for p in ring_runs])) == 2  # loading alone compares nothing


def test_evaluation_ignores_global_gin(ring_runs):
    narrow = load_run(str(ring_runs[0]))
    clean = run_metrics.evaluate(narrow.context(n_samples=400), ["modes"])
    # evaluate's metrics, battle's and inference_rank's real images (both splits), sample's samples
    clean_real = {split: narrow.context(split=split).real(100) for split in ("train", "test")}
    clean_samples = narrow.context().samples(100)
    config.parse(["ring"], POISON)  # another run's bindings, as a league or notebook leaves them
    poisoned = load_run(str(ring_runs[0]))
    assert poisoned.record == narrow.record and poisoned.seed == 0
    assert run_metrics.evaluate(poisoned.context(n_samples=400), ["modes"]) == clean
    for split, real in clean_real.items():
        np.testing.assert_array_equal(poisoned.context(split=split).real(100), real)
    np.testing.assert_array_equal(poisoned.context().samples(100), clean_samples)


def test_training_time_evaluation_uses_the_trainers_data_not_later_gin(tmp_path):
    trainer = train_ring(tmp_path / "run", "Trainer.eval_metrics = ['modes']", "Trainer.eval_samples = 300")
    ctx = run_metrics.EvalContext(trainer.generator, trainer.data, seed=trainer.seed, n_samples=300)
    clean = run_metrics.evaluate(ctx, ["modes"])
    config.parse(["ring"], POISON)
    assert DataRecord.current("ring") != trainer.data  # the poison took: gin now says otherwise
    poisoned_ctx = run_metrics.EvalContext(trainer.generator, trainer.data, seed=trainer.seed, n_samples=300)
    assert run_metrics.evaluate(poisoned_ctx, ["modes"]) == clean
    assert trainer.data.mixture().std == pytest.approx(0.02)


@pytest.mark.parametrize("age", ["no run.json", "run format 1"])
def test_a_run_directory_of_another_format_is_refused_before_anything_is_written(ring_runs, tmp_path, age):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(ring_runs[1], old)
    if age == "no run.json":
        (old / "run.json").unlink()
    else:
        (old / "run.json").write_text(json.dumps({**json.loads((old / "run.json").read_text()), "format": 1}))
    files = lambda: {p: p.read_bytes() for p in old.rglob("*") if p.is_file() and p.name != ".lock"}  # noqa: E731
    before = files()
    with pytest.raises(RunDirError, match=rf"written by another gran_tf version \({age}; this one reads run format"):
        load_run(str(old))
    with pytest.raises(RunDirError, match=rf"\({age}; this one reads run format {RUN_FORMAT}\): retrain it"):
        train_ring(old, "ring.std = 0.14", "Trainer.seed = 3", "Trainer.total_steps = 4")
    assert files() == before


def test_a_broken_record_is_one_clear_error(ring_runs, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(ring_runs[0], broken)
    (broken / "run.json").write_text('{"data": ')
    with pytest.raises(RunDirError, match="run.json is torn or not JSON"):
        load_run(str(broken))


def test_the_generator_must_produce_the_datas_value_range(tmp_path):
    config.parse(["mnist_gran1"], ["make_dataset.pixel_range = 'symmetric'"])
    with pytest.raises(ConfigError, match=r"output range is 'unit' but mnist with pixel_range 'symmetric'"):
        Trainer(model_dir=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_data_records_say_what_differs():
    ring = DataRecord("ring", params={"means": [[1.0, 0.0]], "std": 0.02})
    assert ring.differences(ring) == []
    assert DataRecord("mnist").differences(DataRecord("mnist", "symmetric")) == ["pixel_range: unit vs symmetric"]
    assert DataRecord("mnist").differences(DataRecord("cifar10")) == ["dataset: mnist vs cifar10"]
    assert ring.differences(DataRecord("ring", params={"means": [[1.0, 0.0]], "std": 0.1})) == ["ring.std: 0.02 vs 0.1"]
    assert DataRecord.from_dict(json.loads(json.dumps(ring.to_dict()))) == ring
    with pytest.raises(ConfigError):
        DataRecord("nope")
    with pytest.raises(ConfigError):
        DataRecord("mnist", "centred")


def test_describe_keeps_plain_settings():
    from gran_tf.training.updaters import Unrolled

    assert run_record.describe(Unrolled(steps=3)) == {
        "class": "Unrolled", "steps": 3, "second_order": True, "inner_optimizer": "adam", "objective": "value",
        "simultaneous": True, "remat": False}
