"""Preemption (SIGTERM, SIGINT), the run-directory lock and settings refused before any write,
as a user meets them through ``launch/train.py``: exit code, one line, and a run directory that
resumes bit-exactly. The trainings that are signalled, killed or compared bit for bit run in
processes of their own (one thread each); a second command meeting a lock runs in-process (run_cli)."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gran_tf import config
from gran_tf.errors import ConfigError
from gran_tf.training.trainer import Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = [sys.executable, os.path.join(ROOT, "launch", "train.py"), "--gin_file=ring"]
# Tiny ring nets, long enough that a signal lands mid-run, checkpoints far apart.
LONG = ["--gin_param=Trainer.batch_size = 16", "--gin_param=MLPGenerator.hidden = (8,)",
        "--gin_param=MLPDiscriminator.hidden = (8,)", "--gin_param=Trainer.log_every = 20",
        "--gin_param=Trainer.sample_every = 100000", "--gin_param=Trainer.checkpoint_every = 100000",
        "--gin_param=Trainer.total_steps = 1500"]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")


def start(model_dir, *params):
    return subprocess.Popen([*TRAIN, f"--model_dir={model_dir}", *LONG, *params], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run of LONG (one step per call) that every interrupted run must equal."""
    run = tmp_path_factory.mktemp("straight") / "run"
    done = subprocess.run([*TRAIN, f"--model_dir={run}", *LONG], capture_output=True, text=True, cwd=ROOT, env=ENV,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return run


def signal_after_first_log(process, signum):
    """Waits for the first progress line (the step is compiled and running), then signals."""
    for line in process.stdout:
        if line.startswith("step "):
            break
    time.sleep(0.2)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    return process.returncode, err


@pytest.mark.parametrize("signum,loop", [(signal.SIGTERM, 1), (signal.SIGINT, 1), (signal.SIGTERM, 10)],
                         ids=["SIGTERM", "SIGINT", "SIGTERM-10-steps-per-loop"])
def test_a_stop_signal_checkpoints_the_step_and_the_rerun_resumes_bit_exactly(tmp_path, signum, loop, one_error_line,
                                                                           assert_same_exported_generator, straight):
    """With steps_per_loop, the stop comes at a loop's end; the resumed run, looped, equals the
    uninterrupted one-step-per-call run exactly."""
    run = tmp_path / "interrupted"
    looped = [f"--gin_param=Trainer.steps_per_loop = {loop}"]
    code, err = signal_after_first_log(start(run, *looped), signum)
    assert code == 128 + signum, err
    assert "Traceback" not in err
    line = one_error_line(err)
    assert f"{signal.Signals(signum).name} at step " in line and "rerun the same command" in line
    step = int(line.split(" at step ")[1].split("/")[0])
    assert 20 <= step < 1500 and step % loop == 0
    assert (run / "ckpt" / f"ckpt-{step}.index").is_file()
    assert not (run / "export").exists() or not os.listdir(run / "export")  # unfinished: nothing exported

    resumed = subprocess.run([*TRAIN, f"--model_dir={run}", *LONG, *looped], capture_output=True, text=True,
                             cwd=ROOT, env=ENV, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from {run / 'ckpt' / f'ckpt-{step}'} at step {step}" in resumed.stdout
    assert_same_exported_generator(run, straight)


def test_a_second_training_on_a_locked_run_directory_is_refused_untouched(tmp_path, one_error_line, run_cli):
    run = tmp_path / "run"
    first = start(run, "--gin_param=Trainer.total_steps = 10000000")  # still training when the second starts
    for line in first.stdout:
        if line.startswith("step "):
            break
    before = {p: os.path.getmtime(run / p) for p in ("config.gin", "versions.json")}
    second = run_cli("train", *TRAIN[2:], f"--model_dir={run}", *LONG, "--gin_param=Trainer.total_steps = 10000000")
    assert first.poll() is None, "the first training ended before the second could meet its lock"
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=120)
    assert second.returncode == 2, second.stderr
    line = one_error_line(second.stderr)
    assert "in use by another training" in line and f"pid {first.pid}" in line
    assert {p: os.path.getmtime(run / p) for p in before} == before


def test_the_lock_file_of_a_killed_run_is_taken_over(tmp_path, run_cli):
    run = tmp_path / "run"
    killed = start(run, "--gin_param=Trainer.total_steps = 10000000")
    for line in killed.stdout:
        if line.startswith("step "):
            break
    killed.kill()
    killed.communicate(timeout=60)
    assert (run / ".lock").read_text().strip() == str(killed.pid)
    again = run_cli("train", *TRAIN[2:], f"--model_dir={run}", *LONG[:-1], "--gin_param=Trainer.total_steps = 40")
    assert again.returncode == 0, again.stderr
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 40


@pytest.mark.parametrize("binding,needle", [
    ("Trainer.checkpoint_every = 0", "checkpoint_every must be >= 1"),
    ("Trainer.log_every = 0", "log_every must be >= 1"),
    ("Trainer.sample_every = -5", "sample_every must be >= 1"),
    ("Trainer.keep_checkpoints = 0", "keep_checkpoints must be >= 1"),
    ("Trainer.batch_size = 0", "batch_size must be >= 1"),
    ("Trainer.total_steps = 'abc'", "total_steps must be an integer"),
    ("Trainer.total_steps = 2.5", "total_steps must be an integer"),
    ("Trainer.eval_samples = 0", "eval_samples must be >= 1"),
])
def test_bad_trainer_settings_are_refused_before_the_run_directory_exists(tmp_path, binding, needle):
    config.parse(["ring"], [binding])
    with pytest.raises(ConfigError, match=needle):
        Trainer(model_dir=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_a_run_killed_again_and_again_ends_bit_equal_to_an_uninterrupted_one(tmp_path, history_steps,
                                                                          assert_same_exported_generator):
    run = tmp_path / "killed"
    often = [*LONG[:-2], "--gin_param=Trainer.checkpoint_every = 100", "--gin_param=Trainer.total_steps = 800"]
    for _ in range(3):  # kill -9 at a random point after the first log line, then restart
        process = subprocess.Popen([*TRAIN, f"--model_dir={run}", *often], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, cwd=ROOT, env=ENV)
        for line in process.stdout:
            if line.startswith("step "):
                break
        time.sleep(np.random.default_rng().uniform(0.0, 1.0))
        process.kill()
        process.communicate(timeout=60)
    for model_dir in (run, tmp_path / "straight"):
        done = subprocess.run([*TRAIN, f"--model_dir={model_dir}", *often], capture_output=True, text=True,
                              cwd=ROOT, env=ENV, timeout=300)
        assert done.returncode == 0, done.stderr
    assert_same_exported_generator(run, tmp_path / "straight")
    assert history_steps(run / "metrics.jsonl") == list(range(20, 801, 20))  # each logged step once
