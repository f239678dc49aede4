"""examples/*.py run end to end, shortened to GRAN_EXAMPLE_STEPS = 20 training steps, and write
what they say they write. Each runs as ``__main__`` in this process (runpy), from the checkout:
the script itself, without another TensorFlow start-up; an exception in it fails the test."""
import json
import os
import runpy

import pytest

from gran_tf.eval.loading import load_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def run_example(monkeypatch, capsys):
    """``run_example(name, out) -> stdout``: examples/<name> with its output under ``out``."""
    def run(name, out):
        monkeypatch.setenv("GRAN_EXAMPLE_STEPS", "20")
        monkeypatch.setenv("GRAN_EXAMPLE_DIR", str(out))
        monkeypatch.chdir(ROOT)
        capsys.readouterr()
        runpy.run_path(os.path.join(ROOT, "examples", name), run_name="__main__")
        return capsys.readouterr().out
    return run


def test_dcgan_unrolled_mnist(tmp_path, run_example):
    out = run_example("dcgan_unrolled_mnist.py", tmp_path)
    assert "trained 20 steps" in out
    run = tmp_path / "dcgan_unrolled_mnist"
    assert (run / "samples" / "samples_00000020.png").stat().st_size > 0
    assert len(open(run / "log.csv").read().splitlines()) == 1 + 1  # header, one epoch


def test_brc_ring(tmp_path, run_example):
    run_example("brc_ring.py", tmp_path)
    run = load_run(str(tmp_path / "brc_ring"))
    assert run.step == 20 and run.record.models["updater"]["class"] == "BRC"
    evals = [json.loads(line) for line in open(tmp_path / "brc_ring" / "metrics.jsonl") if "eval/" in line]
    assert [r["step"] for r in evals] == [4, 8, 12, 16, 20]


@pytest.mark.parametrize("name", ["gran_fit.py"])
def test_gran_fit(tmp_path, name, run_example):
    run_example(name, tmp_path)
    run = load_run(str(tmp_path / "gran_fit"))
    assert run.step == 18 and run.data.name == "mnist"  # 6 epochs of 20 // 6 = 3 steps
    assert (tmp_path / "gran_fit" / "samples" / "samples_00000018.png").exists()
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path / "gran_fit" / "tensorboard"))
