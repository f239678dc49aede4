"""Helpers shared by the reliability tests: tiny in-process ring runs and their histories."""
import json

import pytest

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
