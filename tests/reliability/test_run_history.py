"""The run's history after a crash between a log line and the next checkpoint: each step once."""
import glob
import json
import os

import pytest
import tensorflow as tf

from gran_tf import config
from gran_tf.training.trainer import Trainer

RING = ["Trainer.batch_size = 16", "MLPGenerator.hidden = (8,)", "MLPDiscriminator.hidden = (8,)",
        "Trainer.log_every = 1", "Trainer.sample_every = 1", "Trainer.checkpoint_every = 3",
        "Trainer.total_steps = 5"]


def train(model_dir):
    config_str = config.parse(["ring"], RING)
    trainer = Trainer(model_dir=str(model_dir))
    trainer.train(config_str)
    return trainer


def steps(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["step"] for line in f]


def test_resume_drops_records_after_the_restored_step_and_a_torn_line(tmp_path):
    run = tmp_path / "run"
    ckpt = str(run / "ckpt")
    train(run)
    # As if killed after logging step 5 but before checkpointing it, mid-way through a write.
    for path in glob.glob(os.path.join(ckpt, "ckpt-5.*")):
        os.remove(path)
    tf.compat.v1.train.update_checkpoint_state(ckpt, os.path.join(ckpt, "ckpt-3"))
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 6, "d_lo')
    assert steps(run / "mode_occupancy.jsonl") == [1, 2, 3, 4, 5]

    train(run)
    assert steps(run / "metrics.jsonl") == [1, 2, 3, 4, 5]
    assert steps(run / "mode_occupancy.jsonl") == [1, 2, 3, 4, 5]
    starts = json.loads((run / "versions.json").read_text())["starts"]
    assert [s["step"] for s in starts] == [0, 3] and all(s["versions"]["tensorflow"] for s in starts)


def test_versions_written_before_starts_were_kept_become_the_first_start(tmp_path):
    run = tmp_path / "run"
    train(run)
    (run / "versions.json").write_text(json.dumps({"python": "3.11.0", "tensorflow": "2.21.0"}))
    train(run)  # nothing left to train: the start is recorded all the same
    starts = json.loads((run / "versions.json").read_text())["starts"]
    assert starts[0] == {"step": None, "time": None, "versions": {"python": "3.11.0", "tensorflow": "2.21.0"}}
    assert starts[1]["step"] == 5


@pytest.mark.parametrize("state", ["missing", "garbage"])
def test_a_lost_checkpoint_state_file_is_rebuilt_from_the_checkpoints_on_disk(tmp_path, state, capsys):
    run = tmp_path / "run"
    train(run)
    state_file = run / "ckpt" / "checkpoint"
    if state == "missing":
        state_file.unlink()
    else:
        state_file.write_text("garbage {{{")
    config_str = config.parse(["ring"], RING[:-1] + ["Trainer.total_steps = 6"])
    trainer = Trainer(model_dir=str(run))
    trainer.train(config_str)
    out = capsys.readouterr().out
    assert "rebuilt it from the files on disk (latest ckpt-5)" in out
    assert "resumed from" in out and "at step 5" in out
    assert steps(run / "metrics.jsonl") == [1, 2, 3, 4, 5, 6]
    assert tf.train.latest_checkpoint(str(run / "ckpt")).endswith("ckpt-6")
