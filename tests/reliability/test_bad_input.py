"""Faults that must end in one clear error, with the run directory untouched or resumable."""
import errno
import json
import subprocess

import pytest

from gran_tf import config
from gran_tf.errors import ConfigError, RunDirError
from gran_tf.rundir import RunDir
from gran_tf.training.trainer import Trainer


def test_an_image_generator_on_point_data_is_a_config_error_before_any_write(tmp_path):
    config.parse(["mnist_gran3"], ["Trainer.dataset = 'ring'"])
    with pytest.raises(ConfigError, match=r"cannot model ring data of shape \(2,\)"):
        Trainer(model_dir=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_a_model_dir_below_a_file_is_a_run_dir_error(tmp_path, train_ring):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(RunDirError, match="cannot write model_dir"):
        train_ring(tmp_path / "file" / "run", 2)


def test_a_full_disk_stops_with_one_error_and_the_run_resumes(tmp_path, train_ring, monkeypatch, history_steps):
    run = tmp_path / "run"
    train_ring(run, 3)  # checkpoint at 3
    real_append = RunDir.append_metrics

    def append_until_full(self, record):
        if record["step"] >= 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(self, record)

    monkeypatch.setattr(RunDir, "append_metrics", append_until_full)
    with pytest.raises(RunDirError, match=r"cannot write to .*No space left.*the last checkpoint .*ckpt-3 is intact"):
        train_ring(run, 6)
    monkeypatch.undo()
    train_ring(run, 6)  # space freed: resumes from ckpt-3
    assert history_steps(run / "metrics.jsonl") == [1, 2, 3, 4, 5, 6]


@pytest.fixture
def small_disk(tmp_path):
    """A 300 KiB tmpfs (root only; skipped elsewhere), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_really_full_disk_stops_with_one_error_and_the_run_resumes_when_there_is_space(
        small_disk, train_ring, history_steps):
    run = small_disk / "run"
    with pytest.raises(RunDirError, match="No space left"):
        train_ring(run, 200)  # a scatter PNG every step fills 300 KiB within a few steps
    assert (run / "config.gin").is_file()
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    train_ring(run, 12)
    assert history_steps(run / "metrics.jsonl") == list(range(1, 13))


def test_appending_after_a_torn_line_starts_a_new_line(tmp_path):
    run_dir = RunDir(str(tmp_path))
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "d_loss": 1.0}\n{"step": 2, "d_lo')
    run_dir.append_metrics({"step": 3, "d_loss": 0.5})
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1]) == {"step": 3, "d_loss": 0.5}
    assert [r["step"] for r in run_dir.read_metrics()] == [1, 3]
