"""The evaluation commands (gran-evaluate, gran-battle, gran-sample, gran-inference-rank,
gran-density-grid) on real (tiny) ring runs, run in-process by ``run_cli``; one refusal goes
through launch/evaluate.py in a process of its own, as a user meets it."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from gran_tf import random_streams
from gran_tf.errors import ConfigError, RunDirError
from gran_tf.eval import gam, run_metrics
from gran_tf.eval.loading import load_run, load_runs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--gin_param=Trainer.total_steps = 3", "--gin_param=Trainer.batch_size = 16",
        "--gin_param=MLPGenerator.hidden = (8,)", "--gin_param=MLPDiscriminator.hidden = (8,)", "--gin_file=ring"]


def launch(script, *args):
    """A launch/ script in a process of its own."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, os.path.join(ROOT, "launch", script), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


@pytest.fixture(scope="module")
def runs(run_cli, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    paths = []
    for seed in (0, 1):
        path = root / f"ring_seed{seed}"
        result = run_cli("train", f"--model_dir={path}", *TINY, f"--gin_param=Trainer.seed = {seed}")
        assert result.returncode == 0, result.stderr
        paths.append(path)
    return paths


def test_evaluate_writes_mode_metrics_into_the_run(run_cli, runs):
    result = run_cli("evaluate", f"--model_dir={runs[0]}", "--metrics=modes,pairwise", "--n_samples=300")
    assert result.returncode == 0, result.stderr
    record = json.loads((runs[0] / "eval_3.json").read_text())
    # The command's numbers are the library's on the same run (same kernels, same draws).
    expected = run_metrics.evaluate(load_run(str(runs[0])).context(n_samples=300), ["modes", "pairwise"])
    assert {k[len("eval/"):]: v for k, v in record.items() if k.startswith("eval/")} == pytest.approx(expected)
    assert record["eval/modes/n"] == 300
    last = json.loads((runs[0] / "metrics.jsonl").read_text().splitlines()[-1])
    assert last == record


def test_battle_prints_the_table_ratios_and_winner(run_cli, runs):
    result = run_cli("battle", f"--model_a={runs[0]}", f"--model_b={runs[1]}", "--n_samples=200")
    assert result.returncode == 0, result.stderr
    assert "r_test" in result.stdout and "r_sample" in result.stdout
    record = json.loads((runs[0] / "battle_ring_seed0_vs_ring_seed1.json").read_text())
    errors = record["errors"]
    # D1's errors on G2's samples, recomputed from the runs (same draws as the command's).
    run_a, run_b = load_runs([str(runs[0]), str(runs[1])])
    g2 = run_b.context().samples(200)
    assert errors["d1_g2"] == pytest.approx(float(np.mean(gam.mistakes(gam.discriminator_probs(run_a.d_probability, g2), False))))
    r_test, r_sample = gam.ErrorRatio.of(errors["d1_test"], errors["d2_test"]), gam.ErrorRatio.of(errors["d1_g2"], errors["d2_g1"])
    assert record["r_sample"]["status"] == r_sample.status and record["r_test"]["status"] == r_test.status
    assert record["winner"] == gam.decide_winner(r_test, r_sample, record["tolerance"])[0]


def test_league_ranks_every_model(run_cli, runs):
    result = run_cli("battle", "--models", str(runs[0]), "--models", str(runs[1]), "--n_samples=200")
    assert result.returncode == 0, result.stderr
    league = json.loads((runs[0] / "league.json").read_text())
    assert sorted(r["name"] for r in league["ranking"]) == ["ring_seed0", "ring_seed1"]
    assert all(r["played"] == 1 for r in league["ranking"])


def test_bad_run_dirs_and_metrics_are_one_line_errors(run_cli, runs, tmp_path, assert_one_line_error):
    # The first through the real script and interpreter: exit status 2 and one line from the process.
    for result in (launch("evaluate.py", f"--model_dir={tmp_path}", "--metrics=modes"),
                   run_cli("evaluate", f"--model_dir={runs[0]}", "--metrics=nope"),
                   run_cli("evaluate", f"--model_dir={runs[0]}", "--metrics=stacked_modes")):
        assert_one_line_error(result, "error:")


def test_an_evaluation_it_cannot_write_is_one_line_and_changes_nothing(run_cli, runs, tmp_path, assert_one_line_error):
    run = tmp_path / "run"
    shutil.copytree(runs[0], run)
    for name in ("eval_3.json", "metrics.jsonl"):
        (run / name).unlink(missing_ok=True)
    (run / "eval_3.json").mkdir()  # where the record goes: a folder (as a read-only directory would refuse it)
    assert_one_line_error(run_cli("evaluate", f"--model_dir={run}", "--metrics=modes", "--n_samples=50"),
                          "eval_3.json")
    assert not (run / "metrics.jsonl").exists() and not any((run / "eval_3.json").iterdir())


def test_sample_writes_npz_that_battle_reads_back(run_cli, runs, tmp_path, assert_one_line_error):
    out = tmp_path / "s.npz"
    result = run_cli("sample", f"--model_dir={runs[1]}", "--n=50", f"--out={out}")
    assert result.returncode == 0, result.stderr
    samples = np.load(out)["samples"]
    assert samples.shape == (50, 2) and np.isfinite(samples).all()
    # Run 0's D judges run 1's samples (all fake): its error rate, as computed here.
    battle = run_cli("battle", f"--model_a={runs[0]}", f"--samples_npz={out}", f"--out_dir={tmp_path}")
    assert battle.returncode == 0, battle.stderr
    record = json.loads((tmp_path / "external_samples.json").read_text())
    (run_a,) = load_runs([str(runs[0])])
    assert record["n"] == 50 and record["error_rate"] == gam.error_on_external_samples(run_a.d_probability, samples)
    np.savez(tmp_path / "images.npz", samples=np.zeros((50, 28, 28, 1), np.float32))
    assert_one_line_error(run_cli("battle", f"--model_a={runs[0]}", f"--samples_npz={tmp_path / 'images.npz'}"),
                          "--samples_npz: ")
    png = tmp_path / "s.png"
    assert run_cli("sample", f"--model_dir={runs[1]}", "--n=50", f"--out={png}").returncode == 0
    assert png.stat().st_size > 0


def test_inference_rank_shares_out_the_images_between_models(run_cli, runs, tmp_path):
    out = tmp_path / "rank.json"
    result = run_cli("inference_rank", "--models", str(runs[0]), "--models", str(runs[1]), "--n=10",
                     "--restarts=2", f"--out={out}")
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    assert record["restarts"] == 2 and record["n"] == 10
    assert sorted(record["percent_best_rank"]) == ["ring_seed0", "ring_seed1"]
    assert abs(sum(record["percent_best_rank"].values()) - 100.0) < 1e-9
    assert all(v >= 0 for v in record["mean_mse"].values())


@pytest.fixture(scope="module")
def sweep_layout(runs, tmp_path_factory):
    """The two runs as a sweep lays them out: ``<out>/<config>/seed0``, one basename for both."""
    root = tmp_path_factory.mktemp("sweep")
    copies = [root / config / "seed0" for config in ("ring_a", "ring_b")]
    for run, copy in zip(runs, copies):
        shutil.copytree(run, copy)
    return copies


def test_runs_sharing_a_basename_battle_as_themselves(run_cli, runs, sweep_layout):
    for pair in (sweep_layout, runs):
        result = run_cli("battle", f"--model_a={pair[0]}", f"--model_b={pair[1]}", "--n_samples=200")
        assert result.returncode == 0, result.stderr
    shared = json.loads((sweep_layout[0] / "battle_ring_a-seed0_vs_ring_b-seed0.json").read_text())
    original = json.loads((runs[0] / "battle_ring_seed0_vs_ring_seed1.json").read_text())
    assert shared["errors"] == original["errors"]  # each run's own samples, as under distinct names


def test_league_of_runs_sharing_a_basename(run_cli, runs, sweep_layout, tmp_path):
    for pair, out in ((sweep_layout, tmp_path / "shared"), (runs, tmp_path / "original")):
        out.mkdir()
        result = run_cli("battle", "--models", str(pair[0]), "--models", str(pair[1]), "--n_samples=200",
                         f"--out_dir={out}")
        assert result.returncode == 0, result.stderr
    league = json.loads((tmp_path / "shared" / "league.json").read_text())
    assert sorted(r["name"] for r in league["ranking"]) == ["ring_a/seed0", "ring_b/seed0"]
    original = json.loads((tmp_path / "original" / "league.json").read_text())
    assert [(m["r_test"], m["r_sample"]) for m in league["matches"]] == \
        [(m["r_test"], m["r_sample"]) for m in original["matches"]]
    same = run_cli("battle", f"--model_a={runs[0]}", f"--model_b={runs[0]}", "--n_samples=200")
    assert same.returncode == 2 and "given twice" in same.stderr


@pytest.fixture(scope="module")
def checkpointed(run_cli, tmp_path_factory):
    """A 4-step run with checkpoints at 2 and 4, and a 2-step run of the same seed."""
    root = tmp_path_factory.mktemp("checkpointed")
    for steps in (4, 2):
        result = run_cli("train", f"--model_dir={root / f'steps{steps}'}", *TINY[1:],
                         f"--gin_param=Trainer.total_steps = {steps}", "--gin_param=Trainer.checkpoint_every = 2")
        assert result.returncode == 0, result.stderr
    return root


def test_load_run_restores_the_chosen_checkpoint_into_the_exported_networks(checkpointed):
    final = load_run(checkpointed / "steps4")
    assert (final.step, final.checkpoint) == (4, "final")
    at_2 = load_run(checkpointed / "steps4", checkpoint="2")
    assert (at_2.step, at_2.checkpoint) == (2, "ckpt-2")
    two_step_run = load_run(checkpointed / "steps2")
    for a, b in zip(at_2.generator.weights, two_step_run.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # the same weights, restored vs exported
    assert any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(at_2.generator.weights, final.generator.weights))
    with pytest.raises(RunDirError, match=r"no checkpoint at step 3 \(kept: \[2, 4\]\)"):
        load_run(checkpointed / "steps4", checkpoint=3)
    with pytest.raises(RunDirError, match="no best checkpoint"):
        load_run(checkpointed / "steps4", checkpoint="best")
    with pytest.raises(ConfigError, match="final, best or a step"):
        load_run(checkpointed / "steps4", checkpoint="latest")


def test_a_battle_at_two_steps_names_each_side_by_its_step(run_cli, checkpointed, tmp_path):
    """Equal wall-clock comparisons battle one run's step k against another's step m."""
    result = run_cli("battle", f"--model_a={checkpointed / 'steps4'}", f"--model_b={checkpointed / 'steps2'}",
                     "--checkpoint=4", "--checkpoint_b=2", "--n_samples=50", f"--out_dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "battle_steps4@4_vs_steps2@2.json").read_text())
    assert record["names"] == ["steps4@4", "steps2@2"]
    # steps2's final export is its step 2: D2's error on the same 50 test images matches it in-process.
    steps2 = load_run(checkpointed / "steps2")
    test_images = steps2.context(n_samples=50, split="test").real(50)
    expected = float(np.mean(steps2.d_probability(test_images) <= 0.5))
    assert record["errors"]["d2_test"] == pytest.approx(expected)
    with pytest.raises(ConfigError, match="1 checkpoints given for 2 runs"):
        load_runs([checkpointed / "steps4", checkpointed / "steps2"], checkpoint=["4"])


def test_evaluate_names_results_by_the_evaluated_step_and_merges_them(run_cli, checkpointed):
    run = checkpointed / "steps4"
    for metrics, checkpoint in (("modes", "final"), ("pairwise", "final"), ("modes", "2")):
        result = run_cli("evaluate", f"--model_dir={run}", f"--metrics={metrics}", "--n_samples=200",
                         f"--checkpoint={checkpoint}")
        assert result.returncode == 0, result.stderr
    final = json.loads((run / "eval_4.json").read_text())
    assert final["checkpoint"] == "final" and "eval/modes/modes_covered" in final and "eval/pairwise/js" in final
    assert json.loads((run / "eval_2.json").read_text())["checkpoint"] == "ckpt-2"


@pytest.mark.parametrize("command,flag", [("evaluate", "--n_samples=0"), ("sample", "--n=0"),
                                          ("battle", "--n_samples=-3")])
def test_sample_counts_below_one_are_one_line_errors(run_cli, runs, command, flag, assert_one_line_error):
    args = {"evaluate": [f"--model_dir={runs[0]}"], "sample": [f"--model_dir={runs[0]}"],
            "battle": [f"--model_a={runs[0]}", f"--model_b={runs[1]}"]}[command]
    assert_one_line_error(run_cli(command, *args, flag), "must be at least 1")


def test_a_battle_between_runs_on_other_mixtures_is_refused(run_cli, runs, tmp_path, assert_one_line_error):
    wide = tmp_path / "ring_wide"
    result = run_cli("train", f"--model_dir={wide}", *TINY, "--gin_param=ring.std = 0.14")
    assert result.returncode == 0, result.stderr
    for battle in (run_cli("battle", f"--model_a={runs[0]}", f"--model_b={wide}", "--n_samples=100"),
                   run_cli("battle", "--models", str(runs[0]), "--models", str(wide), "--n_samples=100")):
        assert_one_line_error(battle, "ring.std: 0.02 vs 0.14")
    assert not list(tmp_path.glob("**/battle_*.json"))


def test_density_grid_draws_every_run_at_every_step(run_cli, runs, tmp_path):
    out = tmp_path / "grid.png"
    result = run_cli("density_grid", f"--run=K = 0={runs[0]}", f"--run=K1={runs[1]}", "--steps=3", f"--out={out}")
    assert result.returncode == 0, result.stderr
    from PIL import Image

    assert Image.open(out).size == (320, 340)  # 2 rows x 2 panels (step 3, data) at 1.6 x 1.7 in, 100 dpi
    missing = run_cli("density_grid", f"--run=K0={runs[0]}", "--steps=2", f"--out={out}")
    assert missing.returncode == 2 and "no samples at step 2" in missing.stderr


def test_sample_canvases_draws_each_gran_step_in_a_row(run_cli, tmp_path):
    """GRAN paper Fig. 3: row i is sample i's canvas σ(Σ_{s<=t} ΔC_s) at t = 1..T; the last is the sample."""
    from PIL import Image

    params = ["Trainer.total_steps = 2", "Trainer.batch_size = 8", "GRANGenerator.kernels = (4, 2, 1)",
              "GRANGenerator.z_dim = 3", "GRANGenerator.steps = 3", "DCGANDiscriminator.kernels = (2, 4)",
              "DCGANDiscriminator.hidden = 3"]
    result = run_cli("train", f"--model_dir={tmp_path / 'gran'}", "--gin_file=mnist_gran3",
                     *[f"--gin_param={p}" for p in params])
    assert result.returncode == 0, result.stderr
    out = tmp_path / "canvases.png"
    result = run_cli("sample", f"--model_dir={tmp_path / 'gran'}", "--n=4", "--canvases", f"--out={out}")
    assert result.returncode == 0, result.stderr
    grid = np.asarray(Image.open(out))
    assert grid.shape == (2 + 4 * 30, 2 + 3 * 30, 3)  # 28x28 cells with 2-pixel padding: 4 rows, 3 columns
    run = load_run(tmp_path / "gran")
    z = random_streams.standard_normal([4, 3], random_streams.key(0, random_streams.SAMPLE_CLI))  # gran-sample's latents
    last = np.asarray(run.generator(z, training=False))[..., 0]
    cells = [grid[2 + 30 * i: 30 + 30 * i, 2 + 30 * 2: 30 + 30 * 2, 0] for i in range(4)]
    for cell, image in zip(cells, last):
        np.testing.assert_allclose(cell / 255.0, image, atol=0.5 / 255 + 1e-6)  # rounded to 8 bits
    result = run_cli("sample", f"--model_dir={tmp_path / 'gran'}", "--canvases", f"--out={tmp_path / 'c.npz'}")
    assert result.returncode == 2 and "--canvases needs a GRAN run and a .png --out" in result.stderr


def test_battle_degrade_plays_a_run_against_its_own_degraded_samples(run_cli, runs, tmp_path):
    result = run_cli("battle", f"--model_a={runs[0]}", "--degrade=noise:0,0.5", "--n_samples=200",
                     f"--out_dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "degrade_noise_ring_seed0.json").read_text())
    assert [r["strength"] for r in rows] == [0.0, 0.5]
    assert all(r["r_test"]["value"] in (1.0, None) for r in rows)  # one discriminator: r_test is 1 (or 0/0)
    assert rows[0]["errors"]["d1_g1"] == rows[0]["errors"]["d1_g2"]  # strength 0: the same samples
    bad = run_cli("battle", f"--model_a={runs[0]}", "--degrade=noise:a")
    assert bad.returncode == 2 and "--degrade must be KIND:S1,S2" in bad.stderr


def test_a_league_of_one_and_stray_arguments_are_one_line_errors(run_cli, runs):
    """absl reads `--models a b` as --models a plus a stray b: refused, not a silent empty league."""
    stray = run_cli("battle", "--models", str(runs[0]), str(runs[1]))
    assert stray.returncode == 2 and "unexpected arguments" in stray.stderr and "Traceback" not in stray.stderr
    alone = run_cli("battle", "--models", str(runs[0]))
    assert alone.returncode == 2 and "a league needs at least two runs" in alone.stderr


def test_evaluate_scores_given_samples_against_the_run_data_and_writes_nothing(run_cli, runs, tmp_path, assert_one_line_error):
    """Samples made elsewhere (here: the mixture's own draws, and all at one mode) get the
    evaluator's closed-form verdicts; the run directory is not touched."""
    mixture = load_run(str(runs[0])).data.mixture()
    data, _ = mixture.sample(2500, seed=5)
    np.save(tmp_path / "data.npy", np.asarray(data))
    one_mode = np.repeat(np.asarray(mixture.means)[:1], 2500, axis=0)
    np.savez(tmp_path / "one_mode.npz", samples=one_mode)
    before = sorted(p.name for p in runs[0].iterdir()), (runs[0] / "metrics.jsonl").read_text()
    scores = {}
    for name in ("data.npy", "one_mode.npz"):
        result = run_cli("evaluate", f"--model_dir={runs[0]}", f"--samples={tmp_path / name}")
        assert result.returncode == 0, result.stderr
        scores[name] = json.loads(result.stdout)
    # 2-D Gaussian: P(‖x − μ‖ < 3σ) = 1 − exp(−9/2) = 98.89%; binomial s.e. at 2,500 samples 0.21%
    assert scores["data.npy"]["eval/modes/modes_covered"] == 8
    assert scores["data.npy"]["eval/modes/hq_percent"] == pytest.approx(100 * (1 - np.exp(-4.5)), abs=1.0)
    assert scores["data.npy"]["eval/modes/reverse_kl"] < 0.01
    assert scores["one_mode.npz"]["eval/modes/modes_covered"] == 1
    assert scores["one_mode.npz"]["eval/modes/hq_percent"] == 100
    assert scores["one_mode.npz"]["eval/modes/reverse_kl"] == pytest.approx(np.log(8))
    assert (sorted(p.name for p in runs[0].iterdir()), (runs[0] / "metrics.jsonl").read_text()) == before
    np.save(tmp_path / "flat.npy", np.zeros([2500, 3]))
    np.save(tmp_path / "few.npy", np.asarray(data)[:10])
    (tmp_path / "cut.npy").write_bytes((tmp_path / "data.npy").read_bytes()[:200])
    for name, needle in (("flat.npy", "do not match"), ("few.npy", "10 were given"), ("missing.npy", "does not exist"),
                         ("cut.npy", "not a readable")):
        assert_one_line_error(run_cli("evaluate", f"--model_dir={runs[0]}", f"--samples={tmp_path / name}"), needle)
