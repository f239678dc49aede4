"""Keras callbacks for what the gran_tf CLI does between loops, for a ``GANModel`` trained with
``fit``: sample grids (``SampleGrid``), the training-time evaluation (``Evaluate``) and the run
directory that ``gran-evaluate``, ``gran-battle`` and ``gran-sample`` read (``RunDirectory``).

They act at the end of every ``every``-th epoch (give ``fit`` a ``steps_per_epoch`` to set how
many steps that is) and name records by the GAN's training step, not the epoch. Keras' own
callbacks (TensorBoard, ModelCheckpoint, BackupAndRestore, EarlyStopping, CSVLogger) work
beside them; put ``Evaluate`` before a callback that monitors an ``eval/...`` value.
"""
import json

import keras
import tensorflow as tf

from gran_tf import run_record
from gran_tf.data import as_data_record
from gran_tf.errors import ConfigError
from gran_tf.eval import reference
from gran_tf.rundir import RunDir
from gran_tf.settings import integer_setting
from gran_tf.training import summaries


def data_record(data):
    """A ``DataRecord`` from a record, a dataset's name (its gin recipe), a NumPy array or a
    tf.data.Dataset of examples; None stays None."""
    return None if data is None else as_data_record(data)


class _EveryEpochs(keras.callbacks.Callback):
    def __init__(self, every):
        super().__init__()
        self.every = integer_setting(f"{type(self).__name__}.every", every, 1)

    def due(self, epoch):
        return (epoch + 1) % self.every == 0

    @property
    def step(self):
        """The GAN's training step (``GANModel.step``)."""
        return int(self.model.step.numpy())


class SampleGrid(_EveryEpochs):
    """A grid of ``n`` samples of fixed latents (GRAN: and its canvas after each drawing step) as
    ``samples/samples_<step>.png`` under ``directory`` and, with ``log_dir``, as TensorBoard
    images; for point data (``data`` a point set), the scatter over the data and the points.
    ``output="tanh"`` shows [-1, 1] images of a generator without gran_tf's ``out_activation``."""

    def __init__(self, directory, every=1, n=64, data=None, log_dir=None, output=None):
        super().__init__(every)
        self.run_dir, self.data, self.output = RunDir(directory), data_record(data), output
        self.n = integer_setting("SampleGrid.n", n, 1)
        self.log_dir, self._writer = log_dir, None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(self.log_dir) if self.log_dir else tf.summary.create_noop_writer()

    def on_epoch_end(self, epoch, logs=None):
        if self.due(epoch):
            gan = self.model
            source = summaries.SampleSource(gan.generator, self.data, gan.seed, self.run_dir, self.n, self.output)
            with self._writer.as_default():
                summaries.write_samples(source, self.step)

    def on_train_end(self, logs=None):
        self._writer.flush()


class Evaluate(_EveryEpochs):
    """The training-time evaluation: gran_tf ``metrics`` (``modes``, ``fid``, ``mnist_score``,
    ...) of the generator on the run's ``data``, added to the epoch's logs as ``eval/<name>``
    (for EarlyStopping, ModelCheckpoint(save_best_only=True), CSVLogger) and, with ``directory``,
    to its metrics.jsonl; with ``log_dir``, to TensorBoard. ``fid_reference``: a statistics file
    (``gran-fid-stats``, TTUR) that FID, KID and prdc compare with instead of the data's images."""

    def __init__(self, metrics, data, every=1, n_samples=None, directory=None, log_dir=None, fid_reference=None):
        super().__init__(every)
        from gran_tf.eval import run_metrics

        self.metrics = tuple(metrics)
        run_metrics.check_names(self.metrics)
        self.data = data_record(data)
        if self.data is None:
            raise ConfigError("Evaluate needs the data the GAN is trained on (a dataset name or DataRecord)")
        self.n_samples = None if n_samples is None else integer_setting("Evaluate.n_samples", n_samples, 1)
        self.run_dir = RunDir(directory) if directory else None
        self.log_dir, self._writer = log_dir, None
        self.fid_reference = None if fid_reference is None else reference.FeatureStatistics.load(fid_reference)

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(self.log_dir) if self.log_dir else tf.summary.create_noop_writer()

    def on_epoch_end(self, epoch, logs=None):
        if not self.due(epoch):
            return
        with self._writer.as_default():
            values = summaries.evaluate_and_record(self.model.generator, self.data, self.model.seed, self.metrics,
                                                   self.step, n_samples=self.n_samples, run_dir=self.run_dir,
                                                   fid_reference=self.fid_reference)
        if logs is not None:
            logs.update({f"eval/{k}": v for k, v in values.items()})

    def on_train_end(self, logs=None):
        self._writer.flush()


class RunDirectory(keras.callbacks.Callback):
    """Makes ``directory`` a gran_tf run directory of the GAN trained on ``data`` (a built-in
    dataset's name or a ``DataRecord``): claimed and locked while training (a directory of
    another run is refused), ``run.json`` and ``config.gin`` (the run's identity),
    ``versions.json``, the epoch logs (losses; evaluations come from ``Evaluate``) in
    ``metrics.jsonl`` by step, and at the end
    ``export/{generator,discriminator}.keras``. ``gran-evaluate``, ``gran-battle`` and
    ``gran-sample`` then work on it as on a run of ``gran-train``."""

    def __init__(self, directory, data):
        super().__init__()
        self.run_dir = RunDir(directory)
        self.data = data_record(data)
        if self.data is None:
            raise ConfigError("RunDirectory needs the data the GAN is trained on (a dataset name or DataRecord)")

    def record(self):
        gan = self.model
        record = run_record.for_training(self.data, gan.seed, gan.generator, gan.discriminator, gan.gan_loss,
                                         gan.updater)
        run_record.check_output_range(record)
        return record

    def set_model(self, model):
        """Claims the directory as soon as fit hands over the model, before any other callback
        (TensorBoard creates its folders here) can write into it."""
        super().set_model(model)
        self.claim()

    def claim(self):
        record = self.record()
        identity = {k: v for k, v in record.to_dict().items() if k != "versions"}
        self.run_dir.claim("# a GANModel.fit run: its record without versions\n" + json.dumps(identity, indent=1) + "\n")
        if self.run_dir.read_json(run_record.RECORD_FILE) is None:
            run_record.write(self.run_dir, record)
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        """At the first epoch, after every callback's on_train_begin (BackupAndRestore restores
        there): the start's versions, and the history after the restored step dropped."""
        if not self._started:
            step = int(self.model.step.numpy())
            self.run_dir.record_start(step)
            self.run_dir.rewind_history(step, ("metrics.jsonl", summaries.OCCUPANCY_FILE))
            self._started = True

    def on_epoch_end(self, epoch, logs=None):
        # Evaluations are recorded by Evaluate(directory=...), with the networks that judged them.
        values = {k: float(v) for k, v in (logs or {}).items() if not k.startswith("eval/")}
        self.run_dir.append_metrics({"step": int(self.model.step.numpy()), "epoch": epoch + 1, **values})
        self.run_dir.renew_lock()

    def on_train_end(self, logs=None):
        try:
            gan = self.model
            self.run_dir.export_networks(gan.generator, gan.discriminator, int(gan.step.numpy()))
        finally:
            self.run_dir.unlock()
