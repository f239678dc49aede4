"""Image datasets read through tensorflow-datasets from an already prepared data_dir.

Nothing here downloads: when the prepared files are missing, tfds's ``as_dataset`` check
fails at once and that becomes a DataUnavailableError saying how to provide the data.
tensorflow_datasets is imported lazily (it is slow to import).
"""
import dataclasses
import functools

import numpy as np
import tensorflow as tf

from gran_tf.data import pipeline
from gran_tf.errors import DataUnavailableError

# Examples held in the shuffle buffer (stored as uint8: 123 MB at 64x64x3).
SHUFFLE_BUFFER = 10_000
NO_LABEL = -1
# Examples per read when a whole split is loaded into memory.
_ARRAY_CHUNK = 10_000


@dataclasses.dataclass(frozen=True)
class TfdsImageSource:
    """tfds datasets behind one gran_tf name, the split used as "test", the square side (None: as stored)."""

    tfds_names: tuple
    held_out_split: str
    size: int = None


TFDS_IMAGE_SOURCES = {
    "cifar10": TfdsImageSource(("cifar10",), "test"),
    "lsun_church": TfdsImageSource(("lsun/church_outdoor",), "validation", 64),
    # The GRAN paper's living room + kitchen set.
    "lsun_kitchen": TfdsImageSource(("lsun/kitchen", "lsun/living_room"), "validation", 64),
    "imagenet64": TfdsImageSource(("downsampled_imagenet/64x64",), "validation", 64),
}


def prepare_help(tfds_name):
    """One line telling how to provide a tfds dataset on an offline machine."""
    return (
        f"tensorflow-datasets {tfds_name!r} is not prepared here: on a machine with internet run "
        f"`tfds build {tfds_name} --data_dir=DIR`, copy DIR to this machine and pass data_dir=DIR "
        f"(gin: make_dataset.data_dir = 'DIR')"
    )


def _as_dataset(tfds_name, split, data_dir, help_message, **kwargs):
    import tensorflow_datasets as tfds

    builder = tfds.builder(tfds_name, data_dir=data_dir)
    try:
        return builder.as_dataset(split=split, **kwargs)
    except AssertionError as err:  # tfds: "could not find data in data_dir"
        raise DataUnavailableError(f"{help_message} (looked in {builder.data_dir})") from err


def load_tfds_arrays(name, split, data_dir=None, help_message=None):
    """(images uint8 [N, H, W] or [N, H, W, C], labels int64 [N]) of a prepared tfds split.

    A single grey channel is dropped, as in the idx files.
    """
    import tensorflow_datasets as tfds

    dataset = _as_dataset(name, split, data_dir, help_message or prepare_help(name), shuffle_files=False)
    chunks = list(tfds.as_numpy(dataset.batch(_ARRAY_CHUNK)))
    images = np.concatenate([chunk["image"] for chunk in chunks])
    if images.shape[-1] == 1:
        images = images[..., 0]
    return images, np.concatenate([chunk["label"] for chunk in chunks]).astype(np.int64)


def _image_and_label(example, size):
    image = example["image"] if size is None else pipeline.resize_and_centre_crop(example["image"], size)
    label = tf.cast(example["label"], tf.int32) if "label" in example else tf.constant(NO_LABEL, tf.int32)
    return image, label


def _read_examples(source, split, data_dir, seed, shuffle):
    import tensorflow_datasets as tfds

    read_config = tfds.ReadConfig(shuffle_seed=seed)
    parts = [
        _as_dataset(n, split, data_dir, prepare_help(n), shuffle_files=shuffle, read_config=read_config)
        for n in source.tfds_names
    ]
    if not shuffle:
        return functools.reduce(lambda a, b: a.concatenate(b), parts)
    # Every example of every part once per epoch, parts interleaved at random.
    return tf.data.Dataset.sample_from_datasets(parts, seed=seed, stop_on_empty_dataset=False)


def tfds_image_dataset(name, split, data_dir, batch_size, seed, repeat, shuffle, start=0):
    """Batches (x [B, H, W, 3] in [0, 1], label [B]) of a tfds image set; label -1 where it has none.

    ``start`` skips batches by reading them (tf.data's shuffle buffer has no random access), so
    resuming a tfds run costs time proportional to the batches already seen."""
    source = TFDS_IMAGE_SOURCES[name]
    tfds_split = "train" if split == "train" else source.held_out_split
    examples = _read_examples(source, tfds_split, data_dir, seed, shuffle)
    images = examples.map(
        functools.partial(_image_and_label, size=source.size), num_parallel_calls=tf.data.AUTOTUNE
    )
    if shuffle:
        images = images.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        images = images.repeat()
    batches = images.batch(batch_size, drop_remainder=True).skip(start)
    return batches.map(lambda x, y: (pipeline.unit_pixels(x), y)).prefetch(tf.data.AUTOTUNE)
