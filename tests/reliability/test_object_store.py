"""Run directories on a non-POSIX store (Cloud TPU jobs write ``--model_dir=gs://...``).

TF's in-memory ``ram://`` filesystem stands in for object storage: Python's ``open``/``os``
cannot reach it, so any run-directory I/O that bypasses ``tf.io.gfile`` fails here.
"""
import io
import json
import time
import uuid

import numpy as np
import pytest
import tensorflow as tf

from gran_tf import config, rundir, storage
from gran_tf.errors import RunDirError
from gran_tf.eval.loading import load_run
from gran_tf.training import summaries
from gran_tf.training.trainer import Trainer

TINY = ["Trainer.batch_size = 16", "MLPGenerator.z_dim = 4", "MLPGenerator.hidden = (8,)",
        "MLPDiscriminator.hidden = (8,)", "Trainer.log_every = 2", "Trainer.sample_every = 3",
        "Trainer.checkpoint_every = 3"]


@pytest.fixture
def ram_dir():
    path = f"ram://gran_tf_tests/{uuid.uuid4().hex}"
    yield path
    storage.rmtree(path)


def train(model_dir, total_steps):
    config_str = config.parse(["ring"], TINY + [f"Trainer.total_steps = {total_steps}"])
    trainer = Trainer(model_dir=model_dir)
    trainer.train(config_str)
    return trainer


def test_a_run_on_ram_trains_resumes_and_evaluates_like_one_on_disk(ram_dir, tmp_path):
    on_disk = train(str(tmp_path / "run"), 6)
    train(ram_dir, 3)
    resumed = train(ram_dir, 6)  # restores step 3 from ram://
    for a, b in zip(on_disk.generator.weights + on_disk.discriminator.weights,
                    resumed.generator.weights + resumed.discriminator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # the same kernels on the same inputs
    names = ["config.gin", "run.json", "operative_config.gin", "versions.json", "metrics.jsonl",
             "mode_occupancy.jsonl", "export/generator.keras", "export/discriminator.keras",
             "export/export.json", "samples/final.png", "samples/mode_occupancy.png",
             "samples/points_00000006.npy", "ckpt/checkpoint"]
    for name in names:
        assert tf.io.gfile.exists(f"{ram_dir}/{name}"), name
    assert not tf.io.gfile.exists(f"{ram_dir}/.lock")  # released at the end
    assert [r["step"] for r in resumed.run_dir.read_metrics()] == [2, 3, 4, 6]
    assert len(json.loads(storage.read_text(f"{ram_dir}/versions.json"))["starts"]) == 2
    points = np.load(io.BytesIO(storage.read_bytes(f"{ram_dir}/samples/points_00000006.npy")))
    np.testing.assert_array_equal(points, summaries.point_samples(resumed.samples)[0])
    run = load_run(ram_dir, checkpoint=3)  # evaluation reads the run back from the store
    assert run.step == 3 and run.record.data.name == "ring"


def test_an_object_store_lock_is_a_lease(ram_dir, monkeypatch):
    first = rundir.RunDir(ram_dir)
    first.lock()
    held = json.loads(storage.read_text(f"{ram_dir}/.lock"))
    with pytest.raises(RunDirError, match=f"in use by another training \\(pid {held['pid']}"):
        rundir.RunDir(ram_dir).lock()
    # A lease not renewed for LEASE_SECONDS (a killed job) is taken over ...
    monkeypatch.setattr(rundir.time, "time", lambda: held["time"] + rundir.LEASE_SECONDS + 1)
    second = rundir.RunDir(ram_dir)
    second.lock()
    assert json.loads(storage.read_text(f"{ram_dir}/.lock"))["owner"] != held["owner"]
    # ... and the old holder's unlock then leaves the new holder's lease alone.
    first.unlock()
    assert tf.io.gfile.exists(f"{ram_dir}/.lock")
    second.unlock()
    assert not tf.io.gfile.exists(f"{ram_dir}/.lock")


def test_renewing_keeps_a_lease_alive(ram_dir):
    lock = rundir.RunDir(ram_dir)
    lock.lock()
    before = json.loads(storage.read_text(f"{ram_dir}/.lock"))["time"]
    time.sleep(0.01)
    lock.renew_lock()
    assert json.loads(storage.read_text(f"{ram_dir}/.lock"))["time"] > before
    lock.unlock()


def test_appends_on_an_object_store_keep_every_line_and_mend_a_torn_one(ram_dir):
    path = f"{ram_dir}/metrics.jsonl"
    storage.makedirs(ram_dir)
    storage.write_text(path, '{"step": 1}\n{"st')  # a write cut short
    storage.append_line(path, '{"step": 2}')
    assert storage.read_text(path) == '{"step": 1}\n{"st\n{"step": 2}\n'
    assert [r["step"] for r in rundir.RunDir(ram_dir).read_metrics()] == [1, 2]


def test_local_and_url_paths(tmp_path):
    assert storage.is_local(str(tmp_path)) and storage.is_local(f"file://{tmp_path}")
    assert not storage.is_local("gs://bucket/run") and not storage.is_local("ram://x")
    assert storage.absolute("gs://bucket/run/") == "gs://bucket/run"
    assert rundir.RunDir("gs://bucket/run").join("ckpt") == "gs://bucket/run/ckpt"
