"""gran-train as a user runs it: exit codes, one-line errors, the run directory (in-process, by
``run_cli``; TensorFlow's start-up lines before an error, in a process of its own)."""
import functools
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--gin_file=ring", "--gin_param=Trainer.total_steps = 4", "--gin_param=Trainer.log_every = 2",
        "--gin_param=Trainer.batch_size = 16", "--gin_param=MLPGenerator.hidden = (8,)",
        "--gin_param=MLPDiscriminator.hidden = (8,)"]


@pytest.fixture
def train(run_cli):
    """``train(*args)``: gran-train with ``args`` (run_cli)."""
    return functools.partial(run_cli, "train")


def test_ring_run_writes_a_complete_run_directory(train, tmp_path):
    run = tmp_path / "ring"
    result = train(f"--model_dir={run}", *TINY)
    assert result.returncode == 0, result.stderr
    assert "step 4/4" in result.stdout and "steps/s" in result.stdout and "ETA" in result.stdout
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert "Trainer.dataset = 'ring'" in (run / "operative_config.gin").read_text()
    (start,) = json.loads((run / "versions.json").read_text())["starts"]
    assert start["step"] == 0 and start["versions"]["tensorflow"]
    assert (run / "samples" / "final.png").stat().st_size > 0
    hparams = logged_hparams(run)  # every binding, as TensorBoard's HParams dashboard shows it
    assert hparams["Trainer.total_steps"] == 4 and hparams["Trainer.dataset"] == "ring"
    assert hparams["MLPGenerator.hidden"] == "(8,)" and hparams["Trainer.updater"] == "@Alternating()"


def logged_hparams(run):
    """{name: value} of the HParams a run directory's event file holds."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import plugin_data_pb2

    for path in run.glob("events.out.tfevents*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == "_hparams_/session_start_info":
                    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                    return {name: getattr(v, v.WhichOneof("kind"))
                            for name, v in data.session_start_info.hparams.items()}
    return {}


def demo_coverage(stdout):
    """{label: (modes covered, modes)} from the embedded default's closing lines."""
    found = re.findall(r"^(.+): (\d+) of (\d+) modes covered, [\d.]+% of samples within 3σ", stdout, re.M)
    return {label: (int(covered), int(modes)) for label, covered, modes in found}


def test_the_embedded_default_trains_a_gan_and_an_unrolled_gan_side_by_side(train, tmp_path):
    shrink = TINY[1:] + ["--gin_param=Trainer.steps_per_loop = 2", "--gin_param=Trainer.sample_every = 2",
                         "--gin_param=Trainer.checkpoint_every = 4", "--gin_param=Trainer.eval_every = 2",
                         "--gin_param=Trainer.eval_samples = 200"]
    result = train(f"--model_dir={tmp_path}", *shrink)
    assert result.returncode == 0, result.stderr
    for name, steps in (("ring_demo_gan", 0), ("ring_demo_unrolled10", 10)):
        config_text = (tmp_path / name / "operative_config.gin").read_text()
        assert "Trainer.dataset = 'ring'" in config_text and f"Unrolled.steps = {steps}" in config_text
        assert sorted(os.listdir(tmp_path / name / "samples"))[:2] == ["final.png", "mode_occupancy.png"]
        assert (tmp_path / name / "samples" / "points_00000004.npy").is_file()
        records = [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        # its mode coverage over training, for TensorBoard's two curves
        assert [r["step"] for r in records if "eval/modes/modes_covered" in r] == [2, 4]
    assert set(demo_coverage(result.stdout)) == {"GAN (K = 0)", "Unrolled GAN (K = 10)"}
    assert (tmp_path / "figure1.png").stat().st_size > 0


@pytest.mark.slow
def test_the_embedded_default_shows_unrolling_cover_the_ring_that_the_gan_collapses_on(train, tmp_path):
    """The default at full length (about a minute on 2 idle cores): the picture's point, in numbers."""
    result = train(f"--model_dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    coverage = demo_coverage(result.stdout)
    assert coverage["GAN (K = 0)"][0] <= 2 and coverage["Unrolled GAN (K = 10)"] == (8, 8), result.stdout


def test_bad_input_gives_one_error_line_exit_2_and_writes_nothing(train, tmp_path, assert_one_line_error):
    run = tmp_path / "run"
    assert_one_line_error(train(f"--model_dir={run}", "--gin_param=Trainer.dataset = 'nope'"), "nope")
    assert_one_line_error(train(f"--model_dir={run}", "--gin_param=Trainer.batch_size = = 3"), "gin")
    assert_one_line_error(train(f"--model_dir={run}", "--gin_file=missing.gin"), "missing.gin")
    assert_one_line_error(train(f"--model_dir={run}", "--gin_param=Trainer.loss = @Nope()"), "Nope")
    # A bad data recipe is refused at set-up, not after training (issue #30).
    assert_one_line_error(train(f"--model_dir={run}", *TINY, "--gin_param=ring.std = -1.0"), "ring.std must be > 0")
    assert_one_line_error(train(f"--model_dir={run}", *TINY, "--gin_param=ring.n_modes = 0"), "ring.n_modes must be >= 1")
    assert not run.exists()


def test_a_run_dir_of_another_config_is_refused(train, tmp_path, assert_one_line_error):
    run = tmp_path / "run"
    assert train(f"--model_dir={run}", *TINY).returncode == 0
    before = (run / "metrics.jsonl").read_text()
    assert_one_line_error(train(f"--model_dir={run}", *TINY, "--gin_param=ring.radius = 1.0"), "another configuration")
    assert (run / "metrics.jsonl").read_text() == before


def test_a_torn_run_record_is_refused_in_one_line_before_anything_is_written(train, tmp_path, assert_one_line_error):
    run = tmp_path / "run"
    assert train(f"--model_dir={run}", *TINY).returncode == 0
    (run / "run.json").write_text((run / "run.json").read_text()[:40])  # a write cut short
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert_one_line_error(train(f"--model_dir={run}", *TINY, "--gin_param=Trainer.total_steps = 8"),
                          "run.json is torn or not JSON")
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # config.gin too


def test_a_command_prints_nothing_of_tensorflows_start_up_before_its_own_one_line_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "GRAN_TF_VERBOSE")}
    result = subprocess.run([sys.executable, os.path.join(ROOT, "launch", "train.py"), "--gin_file=no_such_config",
                             f"--model_dir={tmp_path / 'run'}"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()] and result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_start_up_noise_is_told_from_lines_that_are_kept():
    from gran_tf.cli import CUINIT_FAILED, STARTUP_NOISE

    noise = ["WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
             "I0000 00:00:1796588628.317925   12538 port.cc:153] oneDNN custom operations are on.",
             "W0000 00:00:1796588628.317925   12538 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
             "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow"]
    assert all(STARTUP_NOISE.match(line) for line in noise)
    kept = ["E0000 00:00:1796588635.745154   12538 some_op.cc:52] INTERNAL: something failed",
            "Traceback (most recent call last):", "ImportError: libcudnn.so.9: cannot open shared object file"]
    assert not any(STARTUP_NOISE.match(line) for line in kept)
    assert CUINIT_FAILED.match("E0000 00:00:1796588635.745154   12538 cuda_platform.cc:52] failed call to cuInit: "
                               "INTERNAL: CUDA error") and not CUINIT_FAILED.match(kept[0])
