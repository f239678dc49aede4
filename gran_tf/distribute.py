"""The one place where a tf.distribute strategy is chosen (gin: ``make_strategy.name``)."""
import gin
import tensorflow as tf

from gran_tf.errors import ConfigError

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker_mirrored", "tpu")


@gin.configurable
def make_strategy(name="default", device=None, devices=None, tpu=""):
    """Builds the strategy.

    default: no distribution. one_device: ``device`` (default GPU:0 if present, else CPU:0).
    mirrored: all local GPUs, or ``devices`` (e.g. two logical CPUs in tests).
    multi_worker_mirrored: cluster from TF_CONFIG. tpu: TPUClusterResolver(``tpu``).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(device or ("/gpu:0" if gpus else "/cpu:0"))
    if name == "mirrored":
        # Reduction through one device keeps a strict order between the all-reduces of
        # synchronised BN layers in G and D (collective ops could pair them up wrongly).
        return tf.distribute.MirroredStrategy(
            devices=devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    if name == "multi_worker_mirrored":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ConfigError(f"unknown strategy {name!r}; expected one of {STRATEGIES}")
