"""A corrupt latest checkpoint: fall back to the newest readable one, bit-exactly."""
import os

import numpy as np
import pytest

from gran_tf.errors import RunDirError


def corrupt(prefix, how):
    data, index = prefix + ".data-00000-of-00001", prefix + ".index"
    if how == "truncated data":
        os.truncate(data, os.path.getsize(data) // 2)
    elif how == "bit flip":
        with open(data, "r+b") as f:
            f.seek(os.path.getsize(data) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0x10]))
    else:  # truncated index
        os.truncate(index, 10)


def weights(trainer):
    return [w.numpy() for w in trainer.generator.weights + trainer.discriminator.weights]


@pytest.mark.parametrize("how", ["truncated data", "bit flip", "truncated index"])
def test_a_corrupt_latest_checkpoint_falls_back_to_the_one_before(tmp_path, train_ring, history_steps, capsys, how):
    run = tmp_path / "run"
    train_ring(run, 6)  # checkpoints at 3 and 6
    corrupt(str(run / "ckpt" / "ckpt-6"), how)
    os.makedirs(run / "ckpt" / "ckpt-9_temp")  # a save cut short by a kill
    resumed = train_ring(run, 8)
    out = capsys.readouterr().out
    assert f"warning: checkpoint {run / 'ckpt' / 'ckpt-6'} is unreadable" in out
    assert f"resumed from {run / 'ckpt' / 'ckpt-3'} at step 3" in out
    assert history_steps(run / "metrics.jsonl") == list(range(1, 9))
    assert not (run / "ckpt" / "ckpt-9_temp").exists()
    if how == "bit flip":  # the fallback run is the uninterrupted run, exactly
        straight = train_ring(tmp_path / "straight", 8)
        for a, b in zip(weights(straight), weights(resumed), strict=True):
            np.testing.assert_array_equal(a, b)


def test_no_readable_checkpoint_stops_instead_of_starting_over(tmp_path, train_ring):
    run = tmp_path / "run"
    train_ring(run, 6)
    for step in (3, 6):
        corrupt(str(run / "ckpt" / f"ckpt-{step}"), "truncated index")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != ".lock"}
    with pytest.raises(RunDirError, match="no checkpoint in .* is readable"):
        train_ring(run, 8)
    assert (run / "ckpt" / "ckpt-3.index").exists()
    # refused before any write: config.gin still says 6 steps, the history is as it was
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != ".lock"} == before
