"""bench/gpu_suite.py --smoke: the GPU suite end to end on whatever device CI has (issue #29 §4),
run as ``__main__`` in this process (runpy) from the checkout, without another TensorFlow start-up."""
import json
import os
import runpy

import pytest
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_smoke_suite_checks_times_and_writes_its_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr("sys.argv", ["gpu_suite.py", "--smoke", f"--out={tmp_path}"])
    try:
        runpy.run_path(os.path.join(ROOT, "bench", "gpu_suite.py"), run_name="__main__")
    except SystemExit as exit_:  # a failed check: "error: GPU suite checks failed: ..."
        pytest.fail(f"the suite exited with {exit_.code}")
    suite = json.loads((tmp_path / "suite.json").read_text())
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert suite["checks"]["nchw_conv"][0] == ("passed" if has_gpu else "skipped")
    assert suite["checks"]["xla_loop/mnist_gran1"][0] == "passed"
    # ring x 3 precisions x XLA on/off, 2 steps per call (the full suite adds 1 and 100).
    rows = suite["timings"]
    assert len(rows) == 6 and all(r["steps_per_loop"] == 2 for r in rows)
    assert {(r["precision"], r["xla"]) for r in rows} == {(p, x) for p in ("float32", "mixed_bfloat16", "mixed_float16")
                                                         for x in (False, True)}
    assert all(r["ms_per_step"] > 0 for r in rows)
    assert suite["extraction"][0]["images_per_s"] > 0
    table = (tmp_path / "suite.md").read_text()
    assert "| xla_loop/mnist_gran1 | passed |" in table and table.count("| ring |") == 6
