"""gran-fid-stats and gran-evaluate's FID settings on a tiny run trained on a folder of photos,
through the real FID Inception network (16x16 images, a dozen of them: seconds), the commands
run in-process (run_cli): the network is built once for them all."""
import hashlib
import json

import numpy as np
import pytest

from gran_tf.eval.reference import FeatureStatistics

TINY_FOLDER_RUN = ["--gin_file=folder_dcgan", "--gin_param=image_folder.size = 16",
                   "--gin_param=image_folder.test_fraction = 0.25", "--gin_param=Trainer.total_steps = 1",
                   "--gin_param=Trainer.batch_size = 4", "--gin_param=DCGANGenerator.kernels = (8, 4, 3)",
                   "--gin_param=DCGANDiscriminator.kernels = (4, 8)", "--gin_param=DCGANGenerator.z_dim = 4"]


@pytest.fixture(scope="module")
def launch(run_cli):
    """``launch(command, cache, *args)``: gran-<command> in-process (run_cli) with $GRAN_TF_CACHE at
    ``cache`` (image folders decoded privately)."""
    return lambda command, cache, *args: run_cli(command, *args, env={"GRAN_TF_CACHE": str(cache)})


@pytest.fixture(scope="module")
def folder_run(launch, tmp_path_factory):
    """A one-step DCGAN run on 40 random 20x20 photos (its folder decoded into a private cache)."""
    from gran_tf.smoke import random_photos

    root = tmp_path_factory.mktemp("folder_run")
    folder = random_photos(str(root / "photos"), 40, size=(20, 20))
    run, cache = root / "run", root / "cache"
    result = launch("train", cache, f"--model_dir={run}", *TINY_FOLDER_RUN,
                    f"--gin_param=image_folder.path = '{folder}'")
    assert result.returncode == 0, result.stderr
    return folder, run, cache


def test_statistics_from_a_run_and_from_its_folder_agree_and_score_the_run(launch, folder_run, tmp_path):
    folder, run, cache = folder_run
    n_test = json.loads((run / "run.json").read_text())["data"]["split_sizes"]["test"]
    from_run = launch("fid_stats", cache, f"--model_dir={run}", "--split=test", f"--out={tmp_path / 'run.npz'}")
    assert from_run.returncode == 0, from_run.stderr
    from_folder = launch("fid_stats", cache, f"--dataset=folder:{folder}", "--gin_param=image_folder.size = 16",
                         "--gin_param=image_folder.test_fraction = 0.25", "--split=test", f"--out={tmp_path / 'f.npz'}")
    assert from_folder.returncode == 0, from_folder.stderr
    stats = FeatureStatistics.load(tmp_path / "run.npz")
    assert stats.mu.shape == (2048,) and stats.features.shape == (n_test, 2048) and stats.info["split"] == "test"
    np.testing.assert_allclose(FeatureStatistics.load(tmp_path / "f.npz").mu, stats.mu, rtol=1e-5, atol=1e-6)

    scored = launch("evaluate", cache, f"--model_dir={run}", "--metrics=fid,kid", f"--n_samples={n_test}",
                    f"--fid_reference={tmp_path / 'run.npz'}")
    assert scored.returncode == 0, scored.stderr
    direct = launch("evaluate", cache, f"--model_dir={run}", "--metrics=fid", f"--n_samples={n_test}")
    assert direct.returncode == 0, direct.stderr
    with_file, with_images = json.loads(scored.stdout), json.loads(direct.stdout)
    assert with_file["eval/inception/fid"] == pytest.approx(with_images["eval/inception/fid"], rel=1e-4)
    reference = with_file["protocols"]["fid"]["reference"]
    assert reference["sha256"] == hashlib.sha256((tmp_path / "run.npz").read_bytes()).hexdigest()
    assert with_images["protocols"]["fid"]["quantize"] is True
    assert with_file["networks"]["feature_network"]["sha256"] == stats.network_sha256


def test_fid_settings_refused_with_one_line(launch, folder_run, tmp_path, assert_one_line_error):
    _, run, cache = folder_run
    evaluate = ("evaluate", cache, f"--model_dir={run}", "--metrics=fid")
    assert_one_line_error(launch(*evaluate, f"--fid_reference={tmp_path / 'missing.npz'}", "--n_samples=4"),
                          "does not exist")
    assert_one_line_error(launch(*evaluate, "--n_samples=500"), "ask for fewer, or allow repeated examples")
    assert_one_line_error(launch("fid_stats", cache, f"--out={tmp_path / 'x.npz'}"),
                          "exactly one of --dataset and --model_dir")
    assert_one_line_error(launch("fid_stats", cache, f"--model_dir={run}", f"--out={tmp_path / 'x.txt'}"),
                          "must name a .npz")
    assert_one_line_error(launch("fid_stats", cache, "--dataset=ring", f"--out={tmp_path / 'x.npz'}"),
                          "need image data")
