import json
import os

import numpy as np
import pytest

from gran_tf import config
from gran_tf.distribute import make_strategy
from gran_tf.errors import ConfigError, RunDirError, TrainingDivergedError
from gran_tf.eval import run_metrics
from gran_tf.eval.modes import mode_occupancy
from gran_tf.training import summaries
from gran_tf.training.trainer import Trainer

RING = [
    "Trainer.batch_size = 16", "MLPGenerator.z_dim = 4", "MLPGenerator.hidden = (8,)",
    "MLPDiscriminator.hidden = (8,)", "Trainer.log_every = 2", "Trainer.sample_every = 1000",
]
GRAN_MNIST = [
    "Trainer.batch_size = 8", "GRANGenerator.kernels = (4, 2, 1)", "GRANGenerator.z_dim = 3",
    "GRANGenerator.steps = 2", "DCGANDiscriminator.kernels = (2, 4)", "DCGANDiscriminator.hidden = 3",
    "Trainer.log_every = 2", "Trainer.sample_every = 1000",
]


def make_trainer(tmp_path, gin_file, params, name="run", **kw):
    config_str = config.parse([gin_file], params)
    return Trainer(model_dir=str(tmp_path / name), **kw), config_str


def test_a_train_step_changes_both_players_and_keeps_losses_finite(tmp_path):
    trainer, _ = make_trainer(tmp_path, "ring", RING)
    g0, d0 = trainer.generator.get_weights(), trainer.discriminator.get_weights()
    metrics = trainer.train_steps(2)
    assert set(metrics) == {"d_loss", "g_loss"} and all(np.isfinite(list(metrics.values())))
    assert any(np.abs(a - b).max() > 0 for a, b in zip(g0, trainer.generator.get_weights()))
    assert any(np.abs(a - b).max() > 0 for a, b in zip(d0, trainer.discriminator.get_weights()))
    assert int(trainer.step.numpy()) == 2


def test_n_disc_steps_consume_n_disc_batches(tmp_path):
    trainer, _ = make_trainer(tmp_path, "ring", RING + ["Alternating.n_disc = 3"])
    trainer.train_steps(1)
    assert int(trainer.state.d_optimizer.iterations.numpy()) == 3
    assert int(trainer.state.g_optimizer.iterations.numpy()) == 1


def test_resumed_run_equals_uninterrupted_run(tmp_path, weights):
    params = RING + ["Trainer.checkpoint_every = 3", "Trainer.total_steps = 6"]
    straight, config_str = make_trainer(tmp_path, "ring", params, name="straight")
    straight.train(config_str)
    first, config_str = make_trainer(tmp_path, "ring", params[:-1] + ["Trainer.total_steps = 3"], name="resumed")
    first.train(config_str)
    second, config_str = make_trainer(tmp_path, "ring", params, name="resumed")
    second.train(config_str)  # restores step 3: weights, both optimizers, data position
    assert int(second.step.numpy()) == 6
    for a, b in zip(weights(straight), weights(second)):
        np.testing.assert_array_equal(a, b)
    for name in ("config.gin", "operative_config.gin", "versions.json", "metrics.jsonl",
                 "export/generator.keras", "export/discriminator.keras", "samples/final.png",
                 "samples/mode_occupancy.png"):
        assert os.path.exists(second.run_dir.join(name)), name
    steps = [r["step"] for r in second.run_dir.read_metrics()]
    assert steps == [2, 3, 4, 6]
    occupancy = [json.loads(line) for line in open(second.run_dir.join("mode_occupancy.jsonl"))]
    assert [r["step"] for r in occupancy] == [3, 6]  # the last step of each run segment
    assert all(len(r["occupancy"]) == 8 and abs(sum(r["occupancy"]) - 1) < 1e-9 for r in occupancy)
    # The points behind each sample picture are kept, and they are the samples of that step.
    points = np.load(second.run_dir.join("samples", "points_00000006.npy"))
    assert points.shape == (2500, 2)
    np.testing.assert_array_equal(points, summaries.point_samples(second.samples)[0])
    # ... and the occupancy recorded at that step is theirs (modes.mode_occupancy, one definition).
    means = second.data.mixture().means
    np.testing.assert_array_equal(occupancy[-1]["occupancy"], mode_occupancy(points, means))


def test_a_run_dir_of_another_config_is_refused_untouched(tmp_path):
    trainer, config_str = make_trainer(tmp_path, "ring", RING + ["Trainer.total_steps = 2"])
    trainer.train(config_str)
    before = sorted(os.listdir(trainer.run_dir.path))
    other, other_str = make_trainer(tmp_path, "ring", RING + ["Trainer.total_steps = 2", "ring.radius = 1.0"])
    with pytest.raises(RunDirError):
        other.train(other_str)
    assert sorted(os.listdir(trainer.run_dir.path)) == before


def test_divergence_stops_before_writing_a_checkpoint(tmp_path):
    params = RING + ["Trainer.total_steps = 4", "Trainer.checkpoint_every = 4",
                     "d/keras.optimizers.Adam.learning_rate = 1e38",
                     "g/keras.optimizers.Adam.learning_rate = 1e38"]
    trainer, config_str = make_trainer(tmp_path, "ring", params)
    with pytest.raises(TrainingDivergedError, match="no checkpoint was written"):
        trainer.train(config_str)
    assert not [f for f in os.listdir(trainer.run_dir.ckpt_dir) if f.startswith("ckpt-")]


def test_gran_mirrored_over_two_cpus_equals_one_device(tmp_path, weights, float32_paths):
    """GRAN's f and g run inside a tf.while_loop, where BN statistics cannot be synchronised
    across replicas: in training mode each replica normalises by its own half batch, so the two
    runs differ by more than rounding (checked below). With G's BN layers frozen (inference mode:
    moving statistics, every example independent of its batch) nothing else may differ: losses and
    every weight of a mirrored run over the two logical CPUs (tests/conftest.py) equal one
    device's within float32 tolerance, after SGD steps (a wrong cross-replica gradient scale
    shows with SGD, not with Adam). D's BN is synchronised (DCGANDiscriminator), so it stays on."""
    import keras
    import tensorflow as tf

    assert len(tf.config.list_logical_devices("CPU")) >= 2, "tests/conftest.py sets up two logical CPUs"
    sgd = ["Trainer.g_optimizer = @g/keras.optimizers.SGD", "Trainer.d_optimizer = @d/keras.optimizers.SGD",
           "g/keras.optimizers.SGD.learning_rate = 0.05", "d/keras.optimizers.SGD.learning_rate = 0.05"]

    def train(name, frozen_bn, mirrored):
        strategy = make_strategy("mirrored", devices=["/cpu:0", "/cpu:1"]) if mirrored else None
        trainer, _ = make_trainer(tmp_path, "mnist_gran3", GRAN_MNIST + sgd, name=name, strategy=strategy)
        norms = [layer for layer in trainer.generator._flatten_layers()
                 if isinstance(layer, keras.layers.BatchNormalization)]
        assert norms and not any(layer.synchronized for layer in norms)
        for layer in norms:
            layer.trainable = not frozen_bn
        before = weights(trainer)
        metrics = trainer.train_steps(2)
        assert all(np.isfinite(list(metrics.values())))
        assert max(np.abs(a - b).max() for a, b in zip(before, weights(trainer))) > 1e-3  # training moved them
        return metrics, weights(trainer)

    single_metrics, single = train("single", True, False)
    mirrored_metrics, mirrored = train("mirrored", True, True)
    assert set(mirrored_metrics) == set(single_metrics)
    for key in single_metrics:
        np.testing.assert_allclose(mirrored_metrics[key], single_metrics[key], **float32_paths, err_msg=key)
    for a, b in zip(single, mirrored, strict=True):
        np.testing.assert_allclose(b, a, **float32_paths)
    # Per-replica BN in training mode (GRAN as it trains): finite, but not the one-device numbers.
    _, per_replica = train("per_replica_bn", False, True)
    _, one_device = train("one_device_bn", False, False)
    assert max(np.abs(a - b).max() for a, b in zip(per_replica, one_device)) > 1e-4


def test_generator_and_dataset_shapes_must_agree(tmp_path):
    with pytest.raises(ConfigError):
        make_trainer(tmp_path, "mnist_gran3", GRAN_MNIST + ["GRANGenerator.kernels = (4, 2, 3)"])


def test_training_time_evaluation_logs_metrics_and_keeps_the_best_checkpoint(tmp_path):
    params = RING + ["Trainer.total_steps = 4", "Trainer.eval_every = 2", "Trainer.eval_metrics = ['modes']",
                     "Trainer.eval_samples = 200", "Trainer.best_metric = 'modes/hq_percent'"]
    trainer, config_str = make_trainer(tmp_path, "ring", params)
    trainer.train(config_str)
    evals = [r for r in trainer.run_dir.read_metrics() if "eval/modes/modes_covered" in r]
    assert [r["step"] for r in evals] == [2, 4]
    # The step-4 record is the evaluation of the final weights, computed afresh here.
    final = run_metrics.evaluate(run_metrics.EvalContext(trainer.generator, trainer.data, seed=trainer.seed,
                                                         n_samples=200), ["modes"])
    assert {k[len("eval/"):]: v for k, v in evals[-1].items() if k.startswith("eval/")} == final
    best = trainer.run_dir.read_json("best.json")
    values = {r["step"]: r["eval/modes/hq_percent"] for r in evals}
    assert best["value"] == max(values.values()) and values[best["step"]] == best["value"]
    assert any(f.startswith(f"ckpt-{best['step']}") for f in os.listdir(trainer.run_dir.join("ckpt_best")))


def test_unknown_eval_metric_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        make_trainer(tmp_path, "ring", RING + ["Trainer.eval_metrics = ['nope']"])


def test_the_progress_line_without_a_terminal_and_the_bar_on_one():
    import io

    from gran_tf.training.trainer import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    log, terminal = io.StringIO(), Terminal()
    for stream in (log, terminal):
        progress = Progress(0, 100, stream=stream)
        progress.last_time -= 2.0  # 50 steps in 2 s
        progress.update(50)
        progress.show(50, {"d_loss": 1.25, "g_loss": 0.5, "steps_per_sec": 25.0})
        progress.close()
    line = log.getvalue()
    assert line.startswith("step 50/100  d_loss 1.2500  g_loss 0.5000  25.0 steps/s  ETA 00:02")
    assert line.count("\n") == 1
    assert "50/100" in terminal.getvalue() and "d_loss 1.2500" in terminal.getvalue()  # tqdm's bar
