"""The run's history and checkpoint state after a crash: each step once, nothing restarted."""
import glob
import json
import os

import pytest
import tensorflow as tf


def test_resume_drops_records_after_the_restored_step_and_a_torn_line(tmp_path, train_ring, history_steps):
    run = tmp_path / "run"
    ckpt = str(run / "ckpt")
    train_ring(run, 5)
    # As if killed after logging step 5 but before checkpointing it, mid-way through a write.
    for path in glob.glob(os.path.join(ckpt, "ckpt-5.*")):
        os.remove(path)
    tf.compat.v1.train.update_checkpoint_state(ckpt, os.path.join(ckpt, "ckpt-3"))
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"step": 6, "d_lo')
    assert history_steps(run / "mode_occupancy.jsonl") == [1, 2, 3, 4, 5]

    train_ring(run, 5)
    assert history_steps(run / "metrics.jsonl") == [1, 2, 3, 4, 5]
    assert history_steps(run / "mode_occupancy.jsonl") == [1, 2, 3, 4, 5]
    starts = json.loads((run / "versions.json").read_text())["starts"]
    assert [s["step"] for s in starts] == [0, 3] and all(s["versions"]["tensorflow"] for s in starts)


@pytest.mark.parametrize("state", ["missing", "garbage", "binary"])
def test_a_lost_checkpoint_state_file_is_rebuilt_from_the_checkpoints_on_disk(tmp_path, train_ring, history_steps,
                                                                             state, capsys):
    run = tmp_path / "run"
    train_ring(run, 5)
    state_file = run / "ckpt" / "checkpoint"
    if state == "missing":
        state_file.unlink()
    elif state == "garbage":
        state_file.write_text("garbage {{{")
    else:
        state_file.write_bytes(bytes(range(256)))  # not even UTF-8
    train_ring(run, 6)
    out = capsys.readouterr().out
    assert "rebuilt it from the files on disk (latest ckpt-5)" in out
    assert "at step 5" in out
    assert history_steps(run / "metrics.jsonl") == [1, 2, 3, 4, 5, 6]
    assert tf.train.latest_checkpoint(str(run / "ckpt")).endswith("ckpt-6")
