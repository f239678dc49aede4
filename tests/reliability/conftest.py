"""Helpers shared by the reliability tests: tiny in-process ring runs and their histories."""
import json
import os

import keras
import numpy as np
import pytest

import gran_tf.models  # noqa: F401  (registers the model classes for load_model)

from gran_tf import config
from gran_tf.training.trainer import Trainer

RING = ["Trainer.batch_size = 16", "MLPGenerator.hidden = (8,)", "MLPDiscriminator.hidden = (8,)",
        "Trainer.log_every = 1", "Trainer.sample_every = 1", "Trainer.checkpoint_every = 3"]


@pytest.fixture
def train_ring():
    """``train_ring(model_dir, total_steps, *bindings)``: a full ``Trainer.train`` of tiny ring nets."""
    def train(model_dir, total_steps, *bindings):
        config_str = config.parse(["ring"], [*RING, f"Trainer.total_steps = {total_steps}", *bindings])
        trainer = Trainer(model_dir=str(model_dir))
        trainer.train(config_str)
        return trainer
    return train


@pytest.fixture
def history_steps():
    """``history_steps(path)``: the steps of a jsonl history, in file order."""
    def steps(path):
        with open(path, encoding="utf-8") as f:
            return [json.loads(line)["step"] for line in f]
    return steps


def _generator_weights(model_dir):
    model = keras.models.load_model(os.path.join(model_dir, "export", "generator.keras"))
    return [w.numpy() for w in model.weights]


def _assert_same_exported_generator(model_dir, other_dir):
    for a, b in zip(_generator_weights(model_dir), _generator_weights(other_dir), strict=True):
        np.testing.assert_array_equal(a, b)  # the same kernels on the same inputs: exact


@pytest.fixture
def assert_same_exported_generator():
    """``assert_same_exported_generator(model_dir, other_dir)``: the two runs exported the same
    generator weights, bit for bit (an interrupted and resumed run against a straight one)."""
    return _assert_same_exported_generator
