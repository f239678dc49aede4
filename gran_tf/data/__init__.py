"""Datasets: 2-D/3-D Gaussian mixtures, the MNIST family and tfds image sets, as seeded tf.data pipelines."""
from gran_tf.data.registry import DATASET_NAMES, PIXEL_RANGES, DatasetSpec, dataset_spec, make_dataset
from gran_tf.data.synthetic import Mixture, cube, grid, mixture_for, ring

__all__ = [
    "DATASET_NAMES",
    "PIXEL_RANGES",
    "DatasetSpec",
    "Mixture",
    "cube",
    "dataset_spec",
    "grid",
    "make_dataset",
    "mixture_for",
    "ring",
]
