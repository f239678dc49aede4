"""gran_tf's Keras callbacks: a run trained with ``fit`` is a run directory that the CLI reads."""
import json
import os

import keras
import pytest

from gran_tf.errors import ConfigError, RunDirError
from gran_tf.eval import run_metrics
from gran_tf.eval.loading import load_run
from gran_tf.training.callbacks import Evaluate, RunDirectory, SampleGrid


def test_a_fit_run_directory_is_read_by_gran_evaluate(ring_trainer, tmp_path, run_cli):
    trainer = ring_trainer("networks", ["Trainer.steps_per_loop = 5"])  # fit runs 5 steps per execution
    gan, run = trainer.gan, tmp_path / "fit_run"
    evaluate = Evaluate(["modes"], "ring", n_samples=200, directory=str(run))
    early = keras.callbacks.EarlyStopping(monitor="eval/modes/hq_percent", mode="max", patience=5)
    dataset = trainer.data.make_dataset(trainer.batch_size, trainer.seed)
    gan.fit(dataset, steps_per_epoch=5, epochs=2, verbose=0,
            callbacks=[evaluate, early, RunDirectory(str(run), "ring"), SampleGrid(str(run), data="ring")])
    records = [json.loads(line) for line in open(run / "metrics.jsonl")]
    evals = [r for r in records if "eval/modes/modes_covered" in r]
    logs = [r for r in records if "d_loss" in r]
    assert [r["step"] for r in evals] == [5, 10] and [r["step"] for r in logs] == [5, 10]
    assert not any(k.startswith("eval/") for k in logs[-1]) and "networks" not in evals[-1]
    # The epoch logs carry the evaluation, so EarlyStopping saw it.
    assert early.best == max(r["eval/modes/hq_percent"] for r in evals)
    assert os.path.exists(run / "samples" / "points_00000010.npy")
    loaded = load_run(str(run))
    assert loaded.step == 10 and loaded.data.name == "ring" and loaded.seed == gan.seed
    assert loaded.record.models["updater"]["class"] == "Alternating"
    # The exported generator is the trained one: the same evaluation as the step-10 record.
    assert run_metrics.evaluate(loaded.context(n_samples=200), ["modes"]) == \
        {k[len("eval/"):]: v for k, v in evals[-1].items() if k.startswith("eval/")}
    result = run_cli("evaluate", f"--model_dir={run}", "--metrics=modes", "--n_samples=200")
    assert result.returncode == 0, result.stderr
    assert json.load(open(run / "eval_10.json"))["eval/modes/modes_covered"] == evals[-1]["eval/modes/modes_covered"]


def test_a_run_directory_of_another_run_is_refused(ring_trainer, tmp_path):
    trainer = ring_trainer("networks")
    run = str(tmp_path / "fit_run")
    dataset = trainer.data.make_dataset(trainer.batch_size, trainer.seed)
    trainer.gan.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0, callbacks=[RunDirectory(run, "ring")])
    other = ring_trainer("other", ["ring.radius = 1.0"])
    with pytest.raises(RunDirError):
        other.gan.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0, callbacks=[RunDirectory(run, "ring")])


def test_callback_settings_are_checked():
    with pytest.raises(ConfigError, match="unknown metric"):
        Evaluate(["nope"], "ring")
    with pytest.raises(ConfigError, match="needs the data"):
        RunDirectory("/tmp/x", None)
    with pytest.raises(ConfigError, match="every must be >= 1"):
        SampleGrid("/tmp/x", every=0)
    with pytest.raises(ConfigError, match="dataset"):
        Evaluate(["modes"], "no_such_data")
