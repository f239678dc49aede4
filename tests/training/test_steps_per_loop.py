"""Trainer.steps_per_loop: N steps per compiled call are the same N steps, bit for bit."""
import json
import os

import numpy as np
import pytest

from gran_tf import config
from gran_tf.distribute import make_strategy
from gran_tf.training.trainer import Trainer

RING = ["Trainer.batch_size = 16", "MLPGenerator.z_dim = 4", "MLPGenerator.hidden = (8,)",
        "MLPDiscriminator.hidden = (8,)", "Trainer.steps_per_loop = 1"]  # the point configs ship 50
UPDATERS = {
    "alternating": ["Trainer.updater = @Alternating()", "Alternating.n_disc = 2"],
    "unrolled": ["Trainer.updater = @Unrolled()", "Unrolled.steps = 2"],
    "brc_outer_product": ["Trainer.updater = @BRC()", "BRC.inner_steps = 2"],
    "brc_cg": ["Trainer.updater = @BRC()", "BRC.hessian = 'cg'", "BRC.solver_iters = 2"],
    "brc_lwcl": ["Trainer.updater = @lwcl_brc()", "lwcl_brc.look_ahead_steps = 2"],
    "proximal": ["Trainer.updater = @Proximal()", "Proximal.steps = 2"],
}


# Image models (GRAN's own tf.while_loop nests inside the loop's), tiny.
IMAGE_MODELS = {
    "gran": ("mnist_gran3", ["Trainer.batch_size = 8", "GRANGenerator.kernels = (4, 2, 1)", "GRANGenerator.z_dim = 3",
                             "GRANGenerator.steps = 2", "DCGANDiscriminator.kernels = (2, 4)",
                             "DCGANDiscriminator.hidden = 3"]),
    "dcgan": ("mnist_gran3", ["Trainer.batch_size = 8", "Trainer.generator = @DCGANGenerator",
                              "DCGANGenerator.kernels = (4, 2, 1)", "DCGANGenerator.z_dim = 3",
                              "DCGANDiscriminator.kernels = (2, 4)", "DCGANDiscriminator.hidden = 3"]),
    "lstm_unrolled": ("mnist_rnn_unrolled5", ["Trainer.batch_size = 8", "LSTMGenerator.units = 4",
                                              "LSTMGenerator.z_dim = 3", "DCGANDiscriminator.kernels = (2, 4)",
                                              "DCGANDiscriminator.hidden = 3"]),
}


def trainer(tmp_path, name, params, gin_file="ring", base=RING, **kw):
    config.parse([gin_file], base + params)
    return Trainer(model_dir=str(tmp_path / name), **kw)


def weights(t):
    return [w.numpy() for w in t.generator.weights + t.discriminator.weights]


def assert_same_weights(a, b):
    for x, y in zip(weights(a), weights(b), strict=True):
        np.testing.assert_array_equal(x, y)  # the same kernels in the same order: exact


@pytest.mark.parametrize("updater", sorted(UPDATERS))
def test_ten_steps_per_loop_equal_ten_calls_of_one_step(tmp_path, updater):
    one = trainer(tmp_path, "one", UPDATERS[updater])
    ten = trainer(tmp_path, "ten", UPDATERS[updater] + ["Trainer.steps_per_loop = 10"])
    assert one.train_steps(100) == ten.train_steps(100)  # the last step's metrics, exactly
    assert int(ten.step.numpy()) == 100
    assert_same_weights(one, ten)


@pytest.mark.parametrize("model", sorted(IMAGE_MODELS))
def test_image_models_inside_the_loop(tmp_path, model):
    gin_file, base = IMAGE_MODELS[model]
    one = trainer(tmp_path, "one", [], gin_file, base)
    five = trainer(tmp_path, "five", ["Trainer.steps_per_loop = 5"], gin_file, base)
    one.train_steps(10), five.train_steps(10)
    assert_same_weights(one, five)


def test_mirrored_over_two_cpus_inside_the_loop(tmp_path):
    strategy = make_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    one = trainer(tmp_path, "one", UPDATERS["unrolled"], strategy=strategy)
    ten = trainer(tmp_path, "ten", UPDATERS["unrolled"] + ["Trainer.steps_per_loop = 10"], strategy=strategy)
    one.train_steps(20), ten.train_steps(20)  # two loops of 10 against 20 single steps
    assert_same_weights(one, ten)


def test_a_partial_last_loop_and_io_at_loop_ends(tmp_path):
    params = ["Trainer.log_every = 10", "Trainer.sample_every = 10", "Trainer.checkpoint_every = 20",
              "Trainer.total_steps = 25"]
    looped = trainer(tmp_path, "looped", params + ["Trainer.steps_per_loop = 10"])
    looped.train(config.parse(["ring"], RING + params + ["Trainer.steps_per_loop = 10"]))
    stepped = trainer(tmp_path, "stepped", params)
    stepped.train(config.parse(["ring"], RING + params))
    assert_same_weights(looped, stepped)  # loops of 10, 10 and 5 steps
    records = [json.loads(line) for line in open(os.path.join(looped.run_dir.path, "metrics.jsonl"))]
    assert [r["step"] for r in records] == [10, 20, 25]
    assert sorted(f for f in os.listdir(looped.run_dir.ckpt_dir) if f.endswith(".index")) == [
        "ckpt-20.index", "ckpt-25.index"]


def test_loops_end_where_io_is_due_so_any_interval_holds(tmp_path):
    """Intervals that are not multiples of the loop: loops are cut where a log line, samples or a
    checkpoint is due, so the I/O lands on the steps an unlooped run would write it at."""
    params = ["Trainer.log_every = 7", "Trainer.sample_every = 30", "Trainer.checkpoint_every = 15",
              "Trainer.total_steps = 31"]
    looped = trainer(tmp_path, "looped", params + ["Trainer.steps_per_loop = 10"])
    assert [looped.loop_length(s) for s in (0, 7, 10, 14, 15, 21, 28, 30)] == [7, 7, 4, 1, 6, 7, 2, 1]
    looped.train(config.parse(["ring"], RING + params + ["Trainer.steps_per_loop = 10"]))
    stepped = trainer(tmp_path, "stepped", params)
    stepped.train(config.parse(["ring"], RING + params))
    assert_same_weights(looped, stepped)
    records = [json.loads(line) for line in open(os.path.join(looped.run_dir.path, "metrics.jsonl"))]
    assert [r["step"] for r in records] == [7, 14, 21, 28, 31]
    assert sorted(f for f in os.listdir(looped.run_dir.ckpt_dir) if f.endswith(".index")) == [
        "ckpt-15.index", "ckpt-30.index", "ckpt-31.index"]
