"""Shared test setup: quiet TF logs, two logical CPU devices for mirrored-strategy tests."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRAN_TF_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache", "gran_tf"))

import gin  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2
    )
except RuntimeError:  # the runtime was initialised before this file ran
    pass


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.fashion_mnist`` tests skip, with the reason, where the Debian data is absent
    (`make` installs it where apt-get can; elsewhere Fashion-MNIST comes from tfds at run time)."""
    from gran_tf.data.mnist_files import FASHION_MNIST_DIR

    if os.path.isdir(FASHION_MNIST_DIR):
        return
    skip = pytest.mark.skip(reason=f"Fashion-MNIST not installed ({FASHION_MNIST_DIR}: apt-get install dataset-fashion-mnist)")
    for item in items:
        if "fashion_mnist" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def fresh_gin_config():
    """No gin binding outlives the test that parsed it (models read gin at construction)."""
    yield
    gin.clear_config()


@pytest.fixture
def float32_paths():
    """assert_allclose tolerances for float32 results of one computation on two code paths
    (eager, tf.function, stateless_call; one device or mirrored; oneDNN on or off), whose kernels
    may sum in other orders: ~100 ulps relative, and 1e-6 absolute for O(1) values near zero.
    Same kernels on the same inputs (resume, repeated runs) are compared exactly instead."""
    return dict(rtol=1e-5, atol=1e-6)


def central_differences(loss_fn, variables, eps=1e-6):
    """(loss(v + εe_i) − loss(v − εe_i)) / 2ε for every entry of every variable (float64 tests)."""
    import numpy as np

    grads = []
    for var in variables:
        base = var.numpy()
        grad = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            values = []
            for sign in (1, -1):
                shifted = base.copy()
                shifted[i] += sign * eps
                var.assign(shifted)
                values.append(float(loss_fn()))
            grad[i] = (values[0] - values[1]) / (2 * eps)
        var.assign(base)
        grads.append(grad)
    return grads


@pytest.fixture
def finite_difference_gradient():
    """``finite_difference_gradient(loss_fn, variables, eps=1e-6)``: central differences."""
    return central_differences


def all_weights(trainer):
    """G's then D's weights (trainable and not) as NumPy arrays."""
    return [w.numpy() for w in trainer.generator.weights + trainer.discriminator.weights]


@pytest.fixture
def weights():
    """``weights(trainer)``: G's then D's weights as NumPy arrays (resume and equivalence tests)."""
    return all_weights


def _straight_and_resumed(train, steps=12):
    """``train(name, total_steps) -> Trainer`` run straight for ``steps`` and as ``steps/2`` then a
    resume to ``steps`` in another directory; asserts equal weights (bit-exact); returns both."""
    straight = train("straight", steps)
    train("resumed", steps // 2)
    resumed = train("resumed", steps)
    names = [w.path for w in straight.generator.weights + straight.discriminator.weights]
    for name, a, b in zip(names, all_weights(straight), all_weights(resumed)):
        np.testing.assert_array_equal(a, b, err_msg=name)
    return straight, resumed


@pytest.fixture
def resumes_bit_exactly():
    """``resumes_bit_exactly(train, steps=12)``: a straight run and a half-way resume end with
    the same weights, bit for bit (same kernels on the same inputs); returns (straight, resumed)."""
    return _straight_and_resumed


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """$GRAN_TF_CACHE in the test's own directory (image folders' decoded copies, statistics)."""
    monkeypatch.setenv("GRAN_TF_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def write_images(private_cache):
    """``write_images(root, n, size=(h, w), seed=0)`` -> root: random RGB PNGs for
    ``Trainer.dataset = "folder"``, decoded into a private cache."""
    from gran_tf.smoke import random_photos

    return random_photos


def _fake_feature_network(dim=12, name="fake_features"):
    """compare_gan-style stand-in for Inception: any-size images → fixed random projection."""
    images = keras.Input(shape=(None, None, None))
    x = keras.layers.Lambda(lambda t: keras.ops.mean(t, axis=-1, keepdims=True))(images)
    x = keras.layers.Resizing(6, 6)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(dim, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=0),
                             bias_initializer="zeros")(x / 255.0)
    return keras.Model(images, out, name=name)


@pytest.fixture
def fake_feature_network():
    """``fake_feature_network(dim=12, name="fake_features")``: a cheap Keras stand-in for the FID
    Inception network (any image size → a fixed random projection of a 6x6 grey thumbnail)."""
    return _fake_feature_network


def _one_error_line(stderr):
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def one_error_line():
    """``one_error_line(stderr)``: the ``error:`` line of a command's stderr, asserted to be the
    only one (a refusal, a stop signal or a divergence is said in one line)."""
    return _one_error_line


def _assert_one_line_error(result, needle):
    assert result.returncode == 2, result.stderr
    assert needle in _one_error_line(result.stderr), result.stderr


@pytest.fixture
def assert_one_line_error():
    """``assert_one_line_error(completed_process, needle)``: a CLI refused with exit 2 and one
    ``error:`` line on stderr that contains ``needle``."""
    return _assert_one_line_error


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CLI_FLAGS = {}  # "gran_tf.cli.<name>" -> the absl Flag objects that module defines


def _cli_flags_registered(module_name):
    """Leaves exactly ``module_name``'s flags registered among the commands' (they share names:
    --model_dir, --out, --seed..., which absl refuses to define twice in one process); imports it
    the first time, with no other command's flags registered."""
    import importlib

    from absl import flags

    registry = flags.FLAGS
    for name in [n for n in sys.modules if n.startswith("gran_tf.cli.")]:  # imported outside this helper
        _CLI_FLAGS.setdefault(name, registry.get_flags_for_module(name))
    if module_name not in _CLI_FLAGS:
        _CLI_FLAGS[module_name] = []  # while it imports, no command's flags are registered
    own = _CLI_FLAGS[module_name]
    for flag in [f for name, fs in _CLI_FLAGS.items() if name != module_name for f in fs]:
        if flag.name in registry and registry[flag.name] is flag:
            delattr(registry, flag.name)
    if module_name not in sys.modules:
        importlib.import_module(module_name)
        own.extend(registry.get_flags_for_module(module_name))
    for flag in own:
        if flag.name not in registry:
            registry[flag.name] = flag
            registry.register_flag_by_module(module_name, flag)


def _run_cli(name, *args, env=None):
    """``gran-<name> *args`` (the console script, ``gran_tf.cli.<name>.run()``) in this process,
    as a CompletedProcess: absl parses ``args`` afresh (flags unparsed before and after, so no
    value of an earlier call survives), gin starts and ends empty, stdout and stderr are captured,
    the exit code is SystemExit's (absl exits 0 after ``main``; a refusal, 2), the working directory
    is the checkout's, ``env`` is set in os.environ for the call. Any other exception propagates."""
    import contextlib
    import io
    import subprocess

    from absl import flags

    module_name = f"gran_tf.cli.{name}"
    _cli_flags_registered(module_name)
    argv = [f"gran-{name.replace('_', '-')}", *(str(a) for a in args)]
    out, err = io.StringIO(), io.StringIO()
    saved_env = {k: os.environ.get(k) for k in env or {}}
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    code = 0
    flags.FLAGS.unparse_flags()
    gin.clear_config()
    try:
        os.environ.update(env or {})
        os.chdir(ROOT)
        sys.argv = argv
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                sys.modules[module_name].run()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
                if isinstance(exit_.code, str):
                    print(exit_.code, file=sys.stderr)
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        flags.FLAGS.unparse_flags()
        gin.clear_config()
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def run_cli():
    """``run_cli(name, *args, env=None) -> CompletedProcess``: the command ``gran-<name>``
    (gran_tf.cli.<name>) run in this process with ``args`` as its command line: its exit code,
    stdout and stderr, as a subprocess would give them without TensorFlow's seconds of start-up.
    Tests of the process itself (signals, start-up noise, console scripts) launch one instead."""
    return _run_cli
