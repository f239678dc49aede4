"""The one place where a tf.distribute strategy is chosen (gin: ``make_strategy.name``), and
where a process learns its role among several workers."""
import dataclasses

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


@dataclasses.dataclass(frozen=True)
class WorkerRole:
    """This process among the Python workers of a multi-worker strategy (one worker otherwise).

    ``writes`` is the chief: the one worker that writes the run directory (TF's multi-worker
    rule: the others save their checkpoint shards to temporary folders and delete them).
    """

    task_id: int = 0
    num_workers: int = 1
    writes: bool = True

    @property
    def several(self):
        return self.num_workers > 1


def worker_role(strategy):
    """The WorkerRole of this process: only MultiWorkerMirroredStrategy has several Python
    workers (a TPU pod's hosts are driven by one client)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return WorkerRole()
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec()
    workers = sum(spec.num_tasks(job) for job in spec.jobs if job in ("chief", "worker")) if spec.jobs else 1
    return WorkerRole(int(resolver.task_id or 0), max(workers, 1), bool(strategy.extended.should_checkpoint))


class WorkerSum:
    """Sums small float vectors over the workers (a collective: every worker calls it in turn)."""

    def __init__(self, strategy, role):
        local_replicas = strategy.num_replicas_in_sync // role.num_workers
        run = lambda x: strategy.run(lambda: x / local_replicas)  # noqa: E731
        self._sum = tf.function(lambda x: strategy.reduce(tf.distribute.ReduceOp.SUM, run(x), axis=None))

    def __call__(self, values):
        return self._sum(tf.constant(values, tf.float64)).numpy()
