import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from gran_tf.cli import sweep
from gran_tf.rundir import RunDir

TINY = ["--gin_param", "Trainer.batch_size = 16", "--gin_param", "MLPGenerator.hidden = (8,)",
        "--gin_param", "MLPDiscriminator.hidden = (8,)"]
QUIET = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def test_table_aggregates_final_evaluations_per_config():
    results = {"a": [{"modes/modes_covered": 8}, {"modes/modes_covered": 6}], "b": [None, {"modes/modes_covered": 3}]}
    markdown, summary = sweep.table(results, ["modes/modes_covered"])
    assert summary["a"]["modes/modes_covered"]["mean"] == 7 and summary["a"]["modes/modes_covered"]["n"] == 2
    assert summary["b"]["modes/modes_covered"]["n"] == 1
    assert "| a | 2 | 7 ± 1 |" in markdown


def test_seed_counts_count_seeds_reaching_every_mode_with_high_quality():
    runs = [{"modes/modes_covered": 8, "modes/num_modes": 8, "modes/hq_percent": 85.0},
            {"modes/modes_covered": 8, "modes/num_modes": 8, "modes/hq_percent": 40.0},
            {"modes/modes_covered": 7, "modes/num_modes": 8, "modes/hq_percent": 90.0}, None]
    markdown, summary = sweep.table({"k5": runs}, ["modes/modes_covered"], sweep.SEED_COUNTS["modes"])
    assert summary["k5"]["all modes"] == {"seeds": 2, "of": 3}
    assert summary["k5"]["all modes, HQ >= 80%"] == {"seeds": 1, "of": 3}
    assert markdown.splitlines()[-1].endswith("| 2/3 | 1/3 |")


def test_a_tiny_sweep_trains_evaluates_and_summarises(tmp_path):
    out = tmp_path / "sweep"
    code = sweep.main(["--configs", "ring", "--first_seed", "1", "--seeds", "2", "--steps", "3", "--eval_samples",
                       "100", "--workers", "2", "--out", str(out), "--gin_param", "Trainer.batch_size = 16",
                       "--gin_param", "MLPGenerator.hidden = (8,)", "--gin_param", "MLPDiscriminator.hidden = (8,)"])
    assert code == 0
    assert sorted(p.name for p in (out / "ring").iterdir() if p.is_dir()) == ["seed1", "seed2"]
    summary = json.loads((out / "summary.json").read_text())
    js = summary["summary"]["ring"]["modes/js"]
    finals = [sweep.final_eval(str(out / "ring" / f"seed{k}"))["modes/js"] for k in (1, 2)]
    assert summary["seeds"] == [1, 2] and js["n"] == 2
    assert js["values"] == finals  # in seed order, whichever run finished first
    assert (out / "ring" / "seed2" / "export" / "generator.keras").exists()
    (out / "summary.json").unlink()
    assert sweep.main(["--configs", "ring", "--first_seed", "1", "--seeds", "2", "--steps", "3", "--out", str(out),
                       "--table_only"]) == 0
    assert json.loads((out / "summary.json").read_text())["summary"]["ring"]["modes/js"] == js


def write_evaluations(run_dir, records):
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_first_seed_tabulates_seeds_added_beside_an_existing_sweep(tmp_path):
    for seed, covered in ((0, 2), (1, 5), (2, 8)):
        write_evaluations(tmp_path / "ring" / f"seed{seed}", [{"step": 10, "eval/modes/modes_covered": covered,
                                                               "eval/modes/num_modes": 8, "eval/modes/hq_percent": 90}])
    args = ["--configs", "ring", "--steps", "10", "--out", str(tmp_path), "--table_only"]
    assert sweep.main([*args, "--first_seed", "1", "--seeds", "2"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seeds"] == [1, 2] and summary["summary"]["ring"]["modes/modes_covered"]["values"] == [5, 8]
    assert sweep.main([*args, "--seeds", "3"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())["summary"]["ring"]
    assert summary["modes/modes_covered"]["n"] == 3 and summary["all modes"] == {"seeds": 1, "of": 3}


def test_merge_pools_an_earlier_summarys_seeds_with_the_runs_under_out(tmp_path):
    for seed, covered in ((5, 8), (6, 1)):
        write_evaluations(tmp_path / "runs" / "ring" / f"seed{seed}", [{"step": 10, "eval/modes/modes_covered": covered,
                                                                        "eval/modes/num_modes": 8,
                                                                        "eval/modes/hq_percent": 85}])
    earlier = {"format": sweep.SUMMARY_FORMAT,
               "summary": {"ring": {"runs": 2, "modes/modes_covered": {"mean": 5.0, "se": 3.0, "n": 2, "values": [8, 2]},
                                    "all modes": {"seeds": 1, "of": 2}}}}
    (tmp_path / "seeds0-1.json").write_text(json.dumps(earlier))
    (tmp_path / "unversioned.json").write_text(json.dumps({k: v for k, v in earlier.items() if k != "format"}))
    args = ["--configs", "ring", "--first_seed", "5", "--seeds", "2", "--steps", "10", "--out", str(tmp_path / "runs"),
            "--table_only", "--metrics", "modes"]
    assert sweep.main([*args, "--merge", str(tmp_path / "seeds0-1.json")]) == 0
    pooled = json.loads((tmp_path / "runs" / "summary.json").read_text())["summary"]["ring"]
    assert pooled["modes/modes_covered"]["values"] == [8, 2, 8, 1]
    assert pooled["modes/modes_covered"]["mean"] == 4.75 and pooled["runs"] == 4
    assert pooled["all modes"] == {"seeds": 2, "of": 4} and pooled["all modes, HQ >= 80%"] == {"seeds": 1, "of": 2}
    with pytest.raises(SystemExit, match="is the summary this sweep writes"):
        sweep.main([*args, "--merge", str(tmp_path / "runs" / "summary.json")])
    with pytest.raises(SystemExit, match="not a sweep summary"):
        sweep.main([*args, "--merge", str(tmp_path / "missing.json")])
    with pytest.raises(SystemExit, match="summary format None, this version merges format 1 only"):
        sweep.main([*args, "--merge", str(tmp_path / "unversioned.json")])


def test_tables_at_an_earlier_step_read_that_steps_evaluation(tmp_path):
    run = tmp_path / "ring" / "seed0"
    write_evaluations(run, [{"step": 5, "d_loss": 1.0},
                            {"step": 5, "eval/modes/modes_covered": 3, "eval/modes/num_modes": 8},
                            {"step": 10, "eval/modes/modes_covered": 7, "eval/modes/num_modes": 8}])
    assert sweep.final_eval(str(run)) == {"modes/modes_covered": 7, "modes/num_modes": 8}
    assert sweep.final_eval(str(run), at_step=5) == {"modes/modes_covered": 3, "modes/num_modes": 8}
    assert sweep.final_eval(str(run), at_step=7) is None
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:  # a later gran-evaluate at step 10
        f.write(json.dumps({"step": 10, "eval/pairwise/js": 0.5, "eval/modes/num_modes": 9}) + "\n")
    assert sweep.final_eval(str(run)) == {"modes/modes_covered": 7, "modes/num_modes": 9, "pairwise/js": 0.5}
    assert sweep.main(["--configs", "ring", "--seeds", "1", "--steps", "10", "--out", str(tmp_path),
                       "--table_only", "--at_step", "5"]) == 0
    summary = json.loads((tmp_path / "summary_step5.json").read_text())
    assert summary["steps"] == 5 and summary["summary"]["ring"]["modes/modes_covered"]["values"] == [3]
    for option in (["--at_step", "5"], ["--merge", "summary.json"], ["--seeds", "0"], ["--first_seed", "-1"]):
        with pytest.raises(SystemExit):
            sweep.parse_args(["--configs", "ring", "--steps", "10", *option])


def test_final_eval_reads_runs_on_any_tensorflow_filesystem():
    from gran_tf import storage

    lines = [{"step": 10, "d_loss": 1.0}, {"step": 10, "eval/modes/modes_covered": 7},
             {"step": 10, "eval/pairwise/js": 0.5}, {"step": 20, "eval/modes/modes_covered": 8}]
    storage.write_text("ram://sweep/run/metrics.jsonl", "\n".join(json.dumps(r) for r in lines) + "\n{torn")
    assert sweep.final_eval("ram://sweep/run") == {"modes/modes_covered": 8}
    assert sweep.final_eval("ram://sweep/run", at_step=10) == {"modes/modes_covered": 7, "pairwise/js": 0.5}
    assert sweep.final_eval("ram://sweep/none") is None


def test_dry_run_prints_commands_that_a_scheduler_runs_and_table_only_tabulates(tmp_path, capsys, run_cli):
    out = tmp_path / "sweep"
    args = ["--configs", "ring", "ring_unrolled1", "--seeds", "2", "--steps", "3", "--eval_samples", "100",
            "--out", str(out), *TINY]
    assert sweep.main([*args, "--dry_run"]) == 0
    commands = [shlex.split(line) for line in capsys.readouterr().out.splitlines()]
    assert len(commands) == 4 and all(c[0] == "gran-train" for c in commands)
    assert {c[2] for c in commands} == {f"--model_dir={out / cfg / f'seed{s}'}" for cfg in ("ring", "ring_unrolled1")
                                        for s in (0, 1)}
    assert not out.exists()  # nothing trained, nothing written
    # A "cluster" runs one of them as given (the console script gran-train is gran_tf.cli.train's run()).
    job = run_cli("train", *commands[0][1:])
    assert job.returncode == 0, job.stderr
    assert sweep.main([*args, "--table_only"]) == 0
    summary = json.loads((out / "summary.json").read_text())["summary"]
    assert summary["ring"]["runs"] == 1 and summary["ring_unrolled1"]["runs"] == 0


def test_a_stopped_sweep_checkpoints_its_trainings_and_the_same_command_resumes_them(tmp_path):
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "gran_tf.cli.sweep", "--configs", "ring", "--seeds", "2", "--steps", "3000",
               "--eval_samples", "100", "--workers", "2", "--out", str(out), *TINY,
               "--gin_param", "Trainer.log_every = 50"]
    runs = [RunDir(str(out / "ring" / f"seed{k}")) for k in (0, 1)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=QUIET)
    deadline = time.time() + 240
    while not all(run.read_metrics() for run in runs) and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    lines = sorted(line for line in stdout.splitlines() if line.startswith("ring/"))
    assert len(lines) == 2, stdout
    assert all(line.startswith(f"ring/seed{k}: stopped: ") and "SIGTERM at step" in line
               for k, line in enumerate(lines))
    assert stderr.strip().splitlines()[-1] == "gran-sweep: stopped by SIGTERM; rerun the same command to resume"
    assert not (out / "summary.json").exists()
    stopped_at = [max(run.checkpoints()) for run in runs]
    assert all(0 < step < 3000 for step in stopped_at)  # each training checkpointed where it stopped

    rerun = subprocess.run(command, capture_output=True, text=True, env=QUIET, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    for k, (run, step) in enumerate(zip(runs, stopped_at)):
        assert f"resumed from {run.ckpt_dir}/ckpt-{step} at step {step}" in (out / "ring" / f"seed{k}.log").read_text()
        assert max(run.checkpoints()) == 3000
    assert json.loads((out / "summary.json").read_text())["summary"]["ring"]["runs"] == 2
