"""Two multi_worker_mirrored workers on localhost (TF_CONFIG): one writer, agreed resume, agreed stop."""
import json
import os
import signal
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RING = ["make_strategy.name = 'multi_worker_mirrored'", "Trainer.batch_size = 16", "MLPGenerator.hidden = (8,)",
        "MLPDiscriminator.hidden = (8,)", "Trainer.log_every = 10", "Trainer.checkpoint_every = 20",
        "Trainer.sample_every = 100000"]


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(model_dirs, total_steps, *params):
    """Starts worker 0 (the chief) and worker 1 with their model_dirs; returns the processes."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    processes = []
    for index, model_dir in enumerate(model_dirs):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        bindings = [f"--gin_param={p}" for p in [*RING, f"Trainer.total_steps = {total_steps}", *params]]
        processes.append(subprocess.Popen([sys.executable, os.path.join(ROOT, "launch", "train.py"),
                                           "--gin_file=ring", f"--model_dir={model_dir}", *bindings], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env))
    return processes


def finish(processes):
    return [(p.returncode, out, err) for p, (out, err) in ((p, p.communicate(timeout=300)) for p in processes)]


@pytest.mark.parametrize("loop", [1, 10])
def test_on_a_shared_model_dir_only_the_chief_writes(tmp_path, loop):
    run = tmp_path / "run"
    results = finish(start_workers([run, run], 40, f"Trainer.steps_per_loop = {loop}"))
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    assert len(list(run.glob("events.out.tfevents.*"))) == 1
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [10, 20, 30, 40]
    starts = json.loads((run / "versions.json").read_text())["starts"]
    assert len(starts) == 1
    assert sorted(p.name for p in (run / "ckpt").iterdir()) == [
        "checkpoint", "ckpt-20.data-00000-of-00001", "ckpt-20.index", "ckpt-40.data-00000-of-00001", "ckpt-40.index"]
    assert "run directory" in results[0][1] and results[1][1] == ""  # the chief reports


def test_sigterm_to_one_worker_stops_both_at_one_step_and_the_rerun_is_bit_exact(tmp_path, one_error_line,
                                                                                 assert_same_exported_generator):
    run = tmp_path / "run"
    processes = start_workers([run, run], 100000)
    for line in processes[0].stdout:  # the chief's first progress line: training is under way
        if line.startswith("step "):
            break
    processes[1].send_signal(signal.SIGTERM)
    results = finish(processes)
    assert [code for code, _, _ in results] == [143, 143], [err[-2000:] for _, _, err in results]
    lines = [one_error_line(err) for _, _, err in results]
    steps = {int(line.split(" at step ")[1].split("/")[0]) for line in lines}
    assert len(steps) == 1
    (step,) = steps
    assert "another worker's stop signal" in lines[0] and "SIGTERM" in lines[1]
    assert (run / "ckpt" / f"ckpt-{step}.index").is_file()
    assert not list((run / "ckpt").glob("workertemp_*"))

    total = step + 30
    resumed = finish(start_workers([run, run], total))
    assert [code for code, _, _ in resumed] == [0, 0], [err[-2000:] for _, _, err in resumed]
    assert f"at step {step}" in resumed[0][1]
    straight = tmp_path / "straight"
    assert [code for code, _, _ in finish(start_workers([straight, straight], total))] == [0, 0]
    assert_same_exported_generator(run, straight)


def test_workers_that_restore_different_steps_stop_with_one_line(tmp_path, one_error_line):
    chief_dir, worker_dir = tmp_path / "chief", tmp_path / "worker"
    assert [code for code, _, _ in finish(start_workers([chief_dir, worker_dir], 20))] == [0, 0]
    assert not list((worker_dir / "ckpt").iterdir())  # per-worker directories: only the chief keeps checkpoints
    results = finish(start_workers([chief_dir, worker_dir], 40))  # the worker sees no checkpoint: step 0 vs 20
    assert [code for code, _, _ in results] == [2, 2]
    for _, _, err in results:
        line = one_error_line(err)
        assert "the workers restored different steps" in line


def test_a_killed_worker_stops_the_chief_with_one_line_naming_the_checkpoint_the_rerun_resumes(tmp_path,
                                                                                              one_error_line):
    run = tmp_path / "run"
    processes = start_workers([run, run], 100000)
    for line in processes[0].stdout:  # past the first checkpoint (step 20)
        if line.startswith("step 30/"):
            break
    processes[1].kill()
    code, _, err = finish(processes[:1])[0]
    assert code == 2, err[-2000:]
    line = one_error_line(err)
    assert "lost " in line and "2-worker run" in line and "restart every worker" in line
    checkpoint = line.split("the last checkpoint ")[1].split(" is intact")[0]
    assert os.path.isfile(checkpoint + ".index") and checkpoint.startswith(str(run / "ckpt" / "ckpt-"))
    processes[1].communicate()
