"""Datasets: 2-D/3-D Gaussian mixtures, the MNIST family and tfds image sets, as seeded tf.data pipelines."""
from gran_tf.data.registry import (
    DATASET_NAMES, PIXEL_RANGES, VALUE_RANGES, DataRecord, DatasetSpec, data_params, dataset_spec, load_fashion_mnist,
    load_mnist, make_dataset)
from gran_tf.data.synthetic import Mixture, cube, grid, mixture_for, ring

__all__ = [
    "DATASET_NAMES",
    "PIXEL_RANGES",
    "VALUE_RANGES",
    "DataRecord",
    "DatasetSpec",
    "Mixture",
    "cube",
    "data_params",
    "dataset_spec",
    "load_fashion_mnist",
    "load_mnist",
    "grid",
    "make_dataset",
    "mixture_for",
    "ring",
]
