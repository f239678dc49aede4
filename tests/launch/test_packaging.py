"""The package as a user gets it from a wheel: configs inside, console scripts, no checkout needed.

A wheel is built from a copy of the checkout and installed (without dependencies) into a fresh
virtual environment whose only link to this one is a .pth line naming this environment's
site-packages, for TensorFlow and the rest of the stack. This environment holds gran_tf only as
an editable install (a finder .pth, which a plain path line does not activate), so the fresh
environment can import gran_tf only from the wheel: the test checks that it does.
"""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from gran_tf import config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = shutil.ignore_patterns(".git", ".venv", "venv", "runs", "build", "dist", "*.egg-info", "__pycache__",
                              ".cache", ".pytest_cache")
TINY = ["--gin_param=Trainer.total_steps = 4", "--gin_param=Trainer.log_every = 2",
        "--gin_param=Trainer.batch_size = 16", "--gin_param=MLPGenerator.hidden = (8,)",
        "--gin_param=MLPDiscriminator.hidden = (8,)"]


def run(command, **kwargs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    source = tmp_path_factory.mktemp("source") / "gran_tf"
    shutil.copytree(ROOT, source, symlinks=True, ignore=SKIP)
    dist = tmp_path_factory.mktemp("dist")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                 "-w", str(dist), str(source)])
    assert built.returncode == 0, built.stderr
    (path,) = glob.glob(str(dist / "gran_tf-*.whl"))
    return path


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory, wheel):
    env = tmp_path_factory.mktemp("venv") / "env"
    assert run([sys.executable, "-m", "venv", "--without-pip", str(env)]).returncode == 0
    python = str(env / "bin" / "python")
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    with open(os.path.join(site, "stack.pth"), "w", encoding="utf-8") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    installed = run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel])
    assert installed.returncode == 0, installed.stderr
    return env


def test_the_wheel_ships_every_config_and_no_tests(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {os.path.relpath(p, config.GIN_DIR) for p in glob.glob(os.path.join(config.GIN_DIR, "**", "*.gin"),
                                                                        recursive=True)}
    assert len(shipped) > 80 and "base/points.gin" in shipped
    assert {n[len("gran_tf/configs/"):] for n in names if n.startswith("gran_tf/configs/")} == shipped
    assert not any(n.startswith(("tests/", "launch/", "bench/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    for name in ("gran-train", "gran-evaluate", "gran-battle", "gran-sample", "gran-sweep"):
        assert f"{name} = gran_tf.cli." in scripts


def test_installed_wheel_resolves_bare_config_names_from_any_directory(fresh_env, tmp_path):
    probe = ("import gran_tf, gran_tf.config as c; print(gran_tf.__file__); "
             "print(c.resolve_gin_file('lsun_gran5')); print(c.resolve_gin_file('ring.gin'))")
    result = run([str(fresh_env / "bin" / "python"), "-c", probe], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    package, lsun, ring = result.stdout.split()
    assert package.startswith(str(fresh_env)), "gran_tf came from somewhere other than the wheel"
    assert lsun.startswith(str(fresh_env)) and lsun.endswith("configs/lsun_gran5.gin") and os.path.isfile(lsun)
    assert ring.endswith("configs/ring.gin")


def test_console_script_trains_the_default_outside_the_checkout(fresh_env, tmp_path):
    """The embedded default (two runs and their figure) from the installed package's configs."""
    demo_loops = ["--gin_param=Trainer.steps_per_loop = 2", "--gin_param=Trainer.sample_every = 2",
                  "--gin_param=Trainer.checkpoint_every = 4"]
    result = run([str(fresh_env / "bin" / "gran-train"), *TINY, *demo_loops], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("step 4/4") == 2
    for run_name in ("ring_demo_gan", "ring_demo_unrolled10"):
        run_dir = tmp_path / "runs" / "ring_demo" / run_name
        for name in ("config.gin", "operative_config.gin", "versions.json", "metrics.jsonl", "samples/final.png",
                     "export/generator.keras"):
            assert (run_dir / name).is_file(), name
    assert (tmp_path / "runs" / "ring_demo" / "figure1.png").stat().st_size > 0
    # python -m reaches the same command; an unknown config is one line and exit 2.
    bad = run([str(fresh_env / "bin" / "python"), "-m", "gran_tf.cli.train", "--gin_file=no_such_config"],
              cwd=tmp_path)
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert bad.returncode == 2 and len(errors) == 1 and "no_such_config" in errors[0], bad.stderr


def test_checkout_paths_and_bare_names_are_the_same_files(monkeypatch):
    monkeypatch.chdir(ROOT)  # the design card's `python launch/train.py --gin_file=gin/lsun_gran5.gin`
    by_path = config.resolve_gin_file("gin/lsun_gran5.gin")
    assert os.path.samefile(by_path, config.resolve_gin_file("lsun_gran5"))
    assert os.path.samefile(config.resolve_gin_file("gin/base/points.gin"), config.resolve_gin_file("base/points"))
