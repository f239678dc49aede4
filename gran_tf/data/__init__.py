"""Datasets: 2-D/3-D Gaussian mixtures, the MNIST family, tfds image sets, image folders and arrays,
as seeded tf.data pipelines."""
from gran_tf.data.mnist_loaders import load_fashion_mnist, load_mnist
from gran_tf.data.registry import (
    DATASET_NAMES, KNOWN_DATASETS, PIXEL_RANGES, USER_DATASETS, VALUE_RANGES, DataRecord, DatasetSpec, as_data_record,
    data_params, dataset_spec, make_dataset)
from gran_tf.data.synthetic import Mixture, cube, grid, mixture_for, ring

__all__ = [
    "DATASET_NAMES",
    "KNOWN_DATASETS",
    "USER_DATASETS",
    "as_data_record",
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
