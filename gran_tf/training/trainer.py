"""The Trainer: the controller of a ``GANModel`` for the CLI and gin.

It does what Keras ``fit`` lacks for a research run: claiming and locking the run directory,
stopping at an exact step on SIGTERM/SIGINT with a checkpoint, the data iterator in the
checkpoint, multi-worker agreement, logging, samples and evaluation between loops. Each step is
``GANModel.update`` (the model's ``train_step``), run by ``strategy.run`` as ``fit`` runs it.

Models, optimizers, the step counter, the checkpoint and the distributed dataset are all
created inside ``strategy.scope()``. Randomness comes from stateless draws keyed by
(seed, step), so a resumed run continues exactly as an uninterrupted one.
"""
import contextlib
import dataclasses
import errno
import math
import os
import re
import signal
import sys
import time

import gin
import keras
import numpy as np
import tensorflow as tf
import tqdm

from gran_tf import data as gdata
from gran_tf import run_record, settings, storage
from gran_tf.distribute import WorkerSum, make_strategy, worker_role
from gran_tf.errors import ConfigError, RunDirError, TrainingDivergedError, TrainingInterrupted, WorkerLost
from gran_tf.eval import reference, run_metrics
from gran_tf.rundir import RunDir, checkpoint_number, checkpoint_steps, network_checkpoint, restore_networks
from gran_tf.training.optimizers import checked_optimizer  # importing registers the optimizers with gin
from gran_tf.training import summaries
from gran_tf.training.preemption import stop_requests
from gran_tf.training.losses import NonSaturating
from gran_tf.training.updaters.alternating import Alternating
from gran_tf.training.gan_model import GANModel, group_batches


def integer_setting(name, value, minimum=None):
    """``Trainer.<name>`` as an int, or a ConfigError saying what is wrong with it."""
    return settings.integer_setting(f"Trainer.{name}", value, minimum)


def lost_worker(error, own_task):
    """The peer a collective's error names ("/job:worker/replica:0/task:1"), or "a worker"."""
    named = {m for m in re.findall(r"/job:[\w-]+/replica:\d+/task:\d+", str(error))
             if not m.endswith(f"/task:{own_task}")}
    return ", ".join(sorted(named)) if named else "a worker"


def recover_checkpoint_state(ckpt_dir):
    """Rewrites a lost or unreadable ``checkpoint`` state file from the ckpt-N files on disk, so
    that a run with checkpoints never silently starts over; returns the recovered latest path."""
    try:
        if tf.train.latest_checkpoint(ckpt_dir):
            return None
    except UnicodeDecodeError:  # binary garbage (text garbage reads as no checkpoint)
        pass
    numbers = checkpoint_steps(ckpt_dir)
    if not numbers:
        return None
    paths = [os.path.join(ckpt_dir, f"ckpt-{n}") for n in numbers]
    # With their files' times, so that the CheckpointManager keeps managing (and rotating) them.
    times = [storage.getmtime(p + ".index") for p in paths]
    tf.compat.v1.train.update_checkpoint_state(ckpt_dir, paths[-1], all_model_checkpoint_paths=paths,
                                               all_model_checkpoint_timestamps=times,
                                               last_preserved_timestamp=min(times) - 1)
    return paths[-1]



def is_storage_error(err):
    """A full or read-only disk (not, say, a device out of memory, also ResourceExhausted)."""
    if isinstance(err, OSError):
        return err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES)
    return "No space left" in str(err)


def build_model(model_class, spec, dataset):
    """``model_class(image_shape=...)`` for the dataset, or a ConfigError if it cannot model that
    data (an image network on 2-D points, say)."""
    try:
        return model_class(image_shape=spec.shape)
    except (IndexError, ValueError, TypeError) as err:
        name = getattr(model_class, "__name__", model_class)
        raise ConfigError(f"{name} cannot model {dataset} data of shape {tuple(spec.shape)} "
                          f"({type(err).__name__}: {' '.join(str(err).split())[:100]})") from None


# "mixed_bfloat16": layers compute in bfloat16 (TPU-native) and keep float32 weights, so the
# optimizers' state is float32; the discriminators' logits and GRAN's canvas sum are float32, so
# the losses are too. "mixed_float16" (GPUs without bfloat16) is the same with float16, whose
# narrow range needs loss scaling: both optimizers become Keras LossScaleOptimizers (dynamic
# scale, a step with non-finite gradients skipped and the scale halved).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def with_precision(optimizer, precision):
    """``optimizer`` wrapped for ``precision``: a LossScaleOptimizer under mixed float16."""
    if precision == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


@contextlib.contextmanager
def dtype_policy(name):
    """Keras' global dtype policy set to ``name`` while the networks are built (their layers keep
    it), and restored afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def set_seeds(seed):
    keras.utils.set_random_seed(seed)  # python, numpy and TF global seeds (weight init)


@gin.configurable(denylist=["model_dir"])
class Trainer:
    """Trains ``generator`` against ``discriminator`` on batches of the named ``dataset``.

    ``generator``/``discriminator`` are model classes (gin: ``@GRANGenerator``), called with the
    dataset's ``image_shape``, or built networks; ``g_optimizer``/``d_optimizer`` optimizer
    classes, names or instances. ``self.gan`` is the ``GANModel`` it trains.
    """

    def __init__(self, model_dir, dataset=gin.REQUIRED, generator=gin.REQUIRED,
                 discriminator=gin.REQUIRED, loss=None, updater=None, batch_size=100, total_steps=1000, seed=0,
                 g_optimizer=keras.optimizers.Adam, d_optimizer=keras.optimizers.Adam,
                 log_every=100, sample_every=500, checkpoint_every=1000, keep_checkpoints=3,
                 n_samples=64, jit_compile=False, strategy=None, eval_every=0, eval_metrics=(),
                 eval_samples=None, best_metric=None, best_mode="max", steps_per_loop=1,
                 precision="float32", fid_reference=None):
        self.run_dir, self._manager = RunDir(model_dir), None
        # Every setting is checked here, before the run directory is touched.
        self.total_steps = integer_setting("total_steps", total_steps, 1)
        self.log_every = integer_setting("log_every", log_every, 1)
        self.sample_every = integer_setting("sample_every", sample_every, 1)
        self.checkpoint_every = integer_setting("checkpoint_every", checkpoint_every, 1)
        self.keep_checkpoints = integer_setting("keep_checkpoints", keep_checkpoints, 1)
        self.n_samples, self.jit_compile = integer_setting("n_samples", n_samples, 1), bool(jit_compile)
        self.eval_every, self.eval_metrics = integer_setting("eval_every", eval_every, 0), tuple(eval_metrics)
        run_metrics.check_names(self.eval_metrics)
        if eval_samples is not None:
            eval_samples = integer_setting("eval_samples", eval_samples, 1)
        self.steps_per_loop = integer_setting("steps_per_loop", steps_per_loop, 1)
        self.precision = settings.one_of(*PRECISIONS)("Trainer.precision", precision)
        self.seed = integer_setting("seed", seed, 0)
        if self.seed >= 2**32:
            raise ConfigError(f"Trainer.seed must be < 2**32, got {seed!r}")
        self.eval_samples, self.best = eval_samples, BestTracker(best_metric, best_mode, self.eval_metrics)
        # FID of training-time evaluations against a statistics file (gran-fid-stats, TTUR), else
        # against the run's real images, whose statistics are cached per data, split and n.
        self.fid_reference = None if fid_reference is None else reference.FeatureStatistics.load(fid_reference)
        self.updater = updater or Alternating()
        self.strategy = strategy or make_strategy()
        self.role = worker_role(self.strategy)
        self._worker_sum = WorkerSum(self.strategy, self.role) if self.role.several else None
        replicas = self.strategy.num_replicas_in_sync
        batch_size = integer_setting("batch_size", batch_size, 1)
        if batch_size % replicas:
            raise ConfigError(f"batch_size {batch_size} is not divisible by {replicas} replicas")
        self.batch_size = int(batch_size)
        self.data = gdata.as_data_record(dataset)  # the data, fixed now: evaluation reads this, not gin
        self.dataset_name = self.data.name
        self.spec = self.data.spec
        set_seeds(self.seed)
        self._build_state(generator, discriminator, loss or NonSaturating(), g_optimizer, d_optimizer)
        # Built now so that missing data or a bad shape fails before anything is written.
        self._batches = self._grouped_batches()
        self._iterator = None
        self._check_generator_output()
        self.record = run_record.for_training(self.data, self.seed, self.generator, self.discriminator,
                                              self.state.loss, self.updater)
        run_record.check_output_range(self.record)
        self._train_step = tf.function(self._distributed_step, jit_compile=self.jit_compile)
        # The multi-step loop stays outside XLA (it reads the iterator); each step inside is compiled.
        self._train_loop = tf.function(self._distributed_loop)

    @property
    def generator(self):
        return self.gan.generator

    @property
    def discriminator(self):
        return self.gan.discriminator

    def loop_length(self, step):
        """Steps of the loop starting after ``step``: at most steps_per_loop, ending where the next
        log line, samples, checkpoint or evaluation is due, or at total_steps (as Orbit's
        controller cuts its loops at summary and checkpoint steps). So every interval holds with
        every steps_per_loop; the loop's length is a tensor, and no length retraces the loop."""
        intervals = [self.log_every, self.sample_every, self.checkpoint_every, self.eval_every]
        due = min((step // every + 1) * every for every in intervals if every)
        return min(self.steps_per_loop, due - step, self.total_steps - step)

    def _build_state(self, generator, discriminator, loss, g_optimizer, d_optimizer):
        """The GANModel (networks, step counter), its optimizers with their slots, and the
        checkpoint of them all, built under the strategy and the precision policy."""
        with self.strategy.scope(), dtype_policy(self.precision):
            self.gan = GANModel(build_model(generator, self.spec, self.dataset_name),
                                build_model(discriminator, self.spec, self.dataset_name),
                                updater=self.updater, loss=loss, seed=self.seed)
            g_optimizer, d_optimizer = (with_precision(checked_optimizer(f"Trainer.{name}", value), self.precision)
                                        for name, value in (("g_optimizer", g_optimizer), ("d_optimizer", d_optimizer)))
            self.gan.compile(g_optimizer=g_optimizer, d_optimizer=d_optimizer,
                             steps_per_execution=self.steps_per_loop, jit_compile=self.jit_compile)
            self.step = self.gan.step
            self.checkpoint = network_checkpoint(
                self.generator, self.discriminator, step=self.step,
                g_optimizer=self.gan.g_optimizer, d_optimizer=self.gan.d_optimizer)

    @property
    def state(self):
        """What the updater acts on (networks, optimizers, loss, global batch, seed)."""
        return self.gan.gan_state(self.batch_size)

    def _check_generator_output(self):
        z = tf.zeros([1, *self.generator.z_shape])
        shape = tuple(self.generator(z).shape[1:])
        if shape != tuple(self.spec.shape):
            raise ConfigError(f"generator makes {shape} samples but the dataset has shape {tuple(self.spec.shape)}")

    def _distributed_step(self, batches):
        """``GANModel.update`` in every replica, as ``fit`` runs ``train_step``; its metrics are
        already summed over the replicas, so any replica's are the step's."""
        per_replica = self.strategy.run(self.gan.update, args=(batches,))
        return {k: self.strategy.experimental_local_results(v)[0] for k, v in per_replica.items()}

    def _distributed_loop(self, iterator, num_steps):
        """``num_steps`` (>= 1) training steps in one call, an in-graph loop over the distributed
        iterator (as Orbit and Keras' steps_per_execution do); returns the last step's metrics."""
        metrics = self._train_step(next(iterator))
        for _ in tf.range(num_steps - 1):
            metrics = self._train_step(next(iterator))
        return metrics

    def _current_iterator(self):
        if self._iterator is None:
            self._iterator = self._make_iterator()
        return self._iterator

    def _run_steps(self, n):
        """n training steps: one call per step when steps_per_loop is 1, else one in-graph loop."""
        if self.steps_per_loop == 1:
            return self._train_step(next(self._current_iterator()))
        return self._train_loop(self._current_iterator(), tf.constant(n, tf.int64))

    def _grouped_batches(self, start=0):
        """The run's batches from batch ``start`` on, grouped as the updater takes them a step."""
        batches = self.data.make_dataset(self.batch_size, self.seed, start=start)
        return group_batches(batches, self.updater.batches_per_step)

    def _make_iterator(self):
        """The distributed batch iterator, positioned after the batches already consumed.

        Indexed pipelines are deterministic functions of (seed, batch index): a resumed run's
        pipeline starts at its batch directly (``make_dataset(start=...)``), on any strategy.
        The streamed tfds sets are positioned by restoring their checkpointed iterator
        (``_checkpoint_iterator``); only where that is not possible do they read the skipped
        batches, as a tf.data.Dataset given from Python always does.
        """
        consumed = int(self.step.numpy()) * self.updater.batches_per_step
        batches = self._batches if consumed == 0 else self._grouped_batches(start=consumed)
        return iter(self.strategy.experimental_distribute_dataset(batches))

    def _checkpoint_iterator(self):
        """Puts a streamed (tfds) data set's iterator in the checkpoint, so that a restore puts it
        back at its position in time independent of the step (the shuffle buffer is saved with it,
        a few hundred MB at most). Not for multi-worker runs (each worker's shard has its own
        position, and only the chief's checkpoint is kept: they read the skipped batches)."""
        if not self.data.iterator_in_checkpoint or self.role.several:
            return
        self._iterator = iter(self.strategy.experimental_distribute_dataset(self._batches))
        self.checkpoint.data_iterator = self._iterator

    def restore(self, manager):
        """Restores the newest readable checkpoint, with a warning line for each unreadable one
        skipped (truncated or bit-flipped files); returns its path, or None if there is none.
        Checkpoints of which none can be read stop the run: it never starts over on top of them."""
        known = set(manager.checkpoints) | ({manager.latest_checkpoint} if manager.latest_checkpoint else set())
        for path in sorted(known, key=checkpoint_number, reverse=True):
            try:
                restore_networks(self.checkpoint, path)  # weights, optimizers, step, data iterator
            except (tf.errors.OpError, ValueError, IndexError, AssertionError) as err:
                reason = " ".join(str(err).split())[:120]
                print(f"warning: checkpoint {path} is unreadable ({type(err).__name__}: {reason}); "
                      f"trying the one before", flush=True)
                continue
            if not hasattr(self.checkpoint, "data_iterator"):
                self._iterator = None  # rebuilt at the restored step
            return path
        if known:
            raise RunDirError(f"no checkpoint in {manager.directory} is readable; move them away to start over")
        return None

    def train_steps(self, n):
        """Runs n steps, in loops of steps_per_loop, without I/O (tests, benchmarks); returns the
        last step's metrics."""
        metrics, done = {}, 0
        while done < n:
            chunk = min(self.steps_per_loop, n - done)
            metrics, done = self._run_steps(chunk), done + chunk
        return {k: float(v) for k, v in metrics.items()}

    @property
    def samples(self):
        """Where the run's sample pictures come from (``summaries.SampleSource``)."""
        return summaries.SampleSource(self.generator, self.data, self.seed, self.run_dir, self.n_samples)

    def fixed_z(self):
        return self.samples.fixed_z()

    def train(self, config_str, operative_config_fn=gin.operative_config_str):
        """The full run: claim the run dir, resume, train with logging, checkpoints, export.

        Only the writing worker (the chief; the only worker outside multi-worker runs) touches the
        run directory, and holds its lock until it returns. SIGTERM/SIGINT stop training after the
        current step with a checkpoint (TrainingInterrupted); with several workers all stop at the
        same step.
        """
        if self.role.writes:
            self.run_dir.claim(config_str)
        try:
            if self.role.writes and self.run_dir.read_json(run_record.RECORD_FILE) is None:
                run_record.write(self.run_dir, self.record)
            return self._train(config_str, operative_config_fn)
        except (OSError, tf.errors.ResourceExhaustedError) as err:
            if not is_storage_error(err):
                raise
            reason = err.strerror if isinstance(err, OSError) else "No space left on device"
            raise RunDirError(f"cannot write to {self.run_dir.path} ({reason}); {self._last_checkpoint_note()}; "
                              f"rerun the same command to resume once there is room") from None
        except (tf.errors.UnavailableError, tf.errors.AbortedError) as err:
            if not self.role.several:
                raise
            note = self._last_checkpoint_note() if self.role.writes else "the chief's last checkpoint is intact"
            raise WorkerLost(f"lost {lost_worker(err, self.role.task_id)} of this {self.role.num_workers}-worker run "
                             f"at step {int(self.step.numpy())}; {note}: restart every worker with the same command "
                             f"to resume") from None
        finally:
            self.run_dir.unlock()

    def _train(self, config_str, operative_config_fn):
        writes = self.role.writes
        manager = self._resume()
        if writes:  # resumed (or refused) first: a refused command changes nothing
            self.run_dir.write_config(config_str)
        start = int(self.step.numpy())
        best_manager = tf.train.CheckpointManager(self.checkpoint, self.run_dir.join("ckpt_best"), max_to_keep=1)
        writer = tf.summary.create_file_writer(self.run_dir.path) if writes else tf.summary.create_noop_writer()
        progress = Progress(start, self.total_steps)
        metrics = {}
        self._manager = manager
        step = start
        with writer.as_default(), stop_requests() as stop, contextlib.closing(progress):
            if writes and start == 0:
                summaries.write_hparams(config_str, trial_id=self.run_dir.path)
            hooks = self._hooks(progress, best_manager)
            while step < self.total_steps:  # loops of up to steps_per_loop steps; I/O at their ends
                chunk = self.loop_length(step)
                metrics, step = self._run_steps(chunk), step + chunk
                if step == start + chunk and writes:
                    self.run_dir.write_operative_config(operative_config_fn())
                for hook in hooks:
                    hook.maybe_run(step, self.total_steps, metrics)
                if self._stop_requested(stop):
                    writer.flush()
                    self._stop(step, metrics, stop)
        writer.flush()
        if writes:
            self.export()
            summaries.save_final_plot(self.samples)
        return {k: float(v) for k, v in metrics.items()}

    def _hooks(self, progress, best_manager):
        """What runs between loops, in this order: the log line, samples, the checkpoint (after a
        NaN check), the evaluation. Only the writing worker writes samples and evaluates."""
        writes = self.role.writes
        hooks = [Hook(self.log_every, lambda step, metrics: self._log(step, metrics, progress))]
        if writes:
            hooks.append(Hook(self.sample_every, lambda step, _: summaries.write_samples(self.samples, step)))
        hooks.append(Hook(self.checkpoint_every, self._checkpoint))
        if writes and self.eval_every:
            hooks.append(Hook(self.eval_every, lambda step, _: self._evaluate(step, best_manager)))
        return hooks

    def _checkpoint(self, step, metrics):
        self._check_finite(step, metrics)
        self._save(step)
        self.run_dir.renew_lock()

    def _resume(self):
        """Restores the newest readable checkpoint of ``ckpt/`` (every worker reads the chief's) and
        returns the manager this worker saves with: ``ckpt/`` itself for the writer, a temporary
        ``ckpt/workertemp_<id>/`` for other workers (deleted after each save)."""
        ckpt_dir = self.run_dir.ckpt_dir
        if self.role.writes:
            for temp in storage.glob(os.path.join(ckpt_dir, "ckpt-*_temp")):  # a save cut short by a kill
                storage.rmtree(temp)
            recovered = recover_checkpoint_state(ckpt_dir)
            if recovered:
                print(f"warning: {ckpt_dir}/checkpoint was missing or unreadable; "
                      f"rebuilt it from the files on disk (latest {os.path.basename(recovered)})", flush=True)
        manager = tf.train.CheckpointManager(self.checkpoint, ckpt_dir, max_to_keep=self.keep_checkpoints)
        self._checkpoint_iterator()
        restored = self.restore(manager)
        start = int(self.step.numpy())
        if self.role.several:
            self._check_workers_agree(start)
        if not self.role.writes:
            temp_dir = os.path.join(ckpt_dir, f"workertemp_{self.role.task_id}")
            return tf.train.CheckpointManager(self.checkpoint, temp_dir, max_to_keep=1)
        self.run_dir.record_start(start)
        self.run_dir.rewind_history(start, ("metrics.jsonl", summaries.OCCUPANCY_FILE))
        self.best.load(self.run_dir.read_json("best.json"))
        if restored:
            print(f"resumed from {restored} at step {start}", flush=True)
        return manager

    def _check_workers_agree(self, start):
        """All workers must resume from one step: the sum and sum of squares of their steps tell."""
        total, squares, workers = self._worker_sum([start, start * start, 1.0])
        if abs(workers * squares - total * total) > 0.5:
            raise RunDirError(
                f"the workers restored different steps (this one {start}, mean {total / workers:g}): every "
                f"worker must see the chief's {self.run_dir.ckpt_dir} (one shared --model_dir)")

    def _save(self, step):
        self._manager.save(checkpoint_number=step)
        if not self.role.writes:
            storage.rmtree(self._manager.directory)

    def _stop_requested(self, stop):
        """A stop signal here, or with several workers on any worker (all then stop at this step)."""
        if not self.role.several:
            return stop.requested
        return self._worker_sum([float(stop.requested)])[0] > 0

    def _stop(self, step, metrics, stop):
        """After a stop signal: checkpoint this step (unless it just was), then TrainingInterrupted."""
        self._check_finite(step, metrics)
        if self._manager.latest_checkpoint != self._checkpoint_path(step) or not self.role.writes:
            self._save(step)
        where = self._checkpoint_path(step) if self.role.writes else f"step {step} (the chief's ckpt/)"
        cause = stop.name if stop.requested else "another worker's stop signal"
        raise TrainingInterrupted(
            f"{cause} at step {step}/{self.total_steps}: checkpoint {where} written; rerun the same "
            f"command to resume", exit_code=128 + (stop.signum or signal.SIGTERM))

    def _checkpoint_path(self, step):
        return os.path.join(self.run_dir.ckpt_dir, f"ckpt-{step}")

    def _last_checkpoint_note(self):
        latest = self._manager and self._manager.latest_checkpoint
        return f"the last checkpoint {latest} is intact" if latest else "no checkpoint was written"

    def _log(self, step, metrics, progress):
        values = self._check_finite(step, metrics)
        rate = progress.update(step)
        values["steps_per_sec"] = rate
        for k, v in values.items():
            tf.summary.scalar(f"train/{k}", v, step=step)
        if self.role.writes:
            self.run_dir.append_metrics({"step": step, **values})
            self.run_dir.renew_lock()
            progress.show(step, values)

    def _evaluate(self, step, best_manager):
        """Training-time evaluation: metrics to TensorBoard and metrics.jsonl, best checkpoint kept."""
        values = summaries.evaluate_and_record(self.generator, self.data, self.seed, self.eval_metrics, step,
                                               n_samples=self.eval_samples, run_dir=self.run_dir,
                                               fid_reference=self.fid_reference)
        if self.best.improved(values, step):
            best_manager.save(checkpoint_number=step)
            self.run_dir.write_json("best.json", self.best.as_dict())
        tqdm.tqdm.write(f"eval step {step}: " + "  ".join(f"{k} {v:.4g}" for k, v in values.items()), file=sys.stdout)
        sys.stdout.flush()

    def _check_finite(self, step, metrics):
        values = {k: float(v) for k, v in metrics.items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        weights = self.generator.trainable_variables + self.discriminator.trainable_variables
        if not bad and not all(np.isfinite(w.numpy()).all() for w in weights):
            bad = ["weights"]
        if bad:
            raise TrainingDivergedError(
                f"training diverged at step {step}: {', '.join(bad)} not finite; {self._last_checkpoint_note()}"
            )
        return values

    def export(self):
        """export/{generator,discriminator}.keras and export.json (the step they were trained to)."""
        self.run_dir.export_networks(self.generator, self.discriminator, int(self.step.numpy()))


class BestTracker:
    """Remembers the best value of one evaluation metric (``mode`` "max" or "min")."""

    def __init__(self, metric, mode="max", evaluated=()):
        if mode not in ("max", "min"):
            raise ConfigError(f"best_mode must be 'max' or 'min', got {mode!r}")
        groups = {"inception" if m in run_metrics.INCEPTION_METRICS else m for m in evaluated}
        if metric is not None and (not isinstance(metric, str) or metric.split("/")[0] not in groups):
            raise ConfigError(f"Trainer.best_metric {metric!r} is none of the evaluated metrics' values "
                              f"(<metric>/<value> of Trainer.eval_metrics {list(evaluated)})")
        self.metric, self.mode, self.value, self.step = metric, mode, None, None

    def improved(self, values, step):
        if self.metric is None:
            return False
        if self.metric not in values:
            raise ConfigError(f"best_metric {self.metric!r} is not among the evaluated {sorted(values)}")
        value = values[self.metric]
        better = self.value is None or (value > self.value if self.mode == "max" else value < self.value)
        if better:
            self.value, self.step = value, step
        return better

    def load(self, record):
        """Continues from a resumed run's best.json (None: nothing yet)."""
        if record and record.get("metric") == self.metric:
            self.value, self.step = record["value"], record["step"]

    def as_dict(self):
        return {"metric": self.metric, "mode": self.mode, "value": self.value, "step": self.step}


@dataclasses.dataclass
class Hook:
    """``action(step, metrics)`` every ``every`` steps and at the last step."""

    every: int
    action: object

    def maybe_run(self, step, total_steps, metrics):
        if step % self.every == 0 or step == total_steps:
            self.action(step, metrics)


class Progress:
    """steps/s over the last logging interval and the ETA: a tqdm bar on a terminal, one line per
    log elsewhere (log files, CI), ``step 400/5000  d_loss 1.3  g_loss 0.7  230.1 steps/s  ETA 0m20s``."""

    def __init__(self, start, total, stream=None):
        self.stream = stream or sys.stdout
        self.total, self.last_step, self.last_time, self.rate = total, start, time.perf_counter(), 0.0
        self.bar = tqdm.tqdm(total=total, initial=start, unit="step", file=self.stream, dynamic_ncols=True,
                             disable=not self.stream.isatty(), leave=True)

    def update(self, step):
        now = time.perf_counter()
        rate = (step - self.last_step) / max(now - self.last_time, 1e-9)
        self.last_step, self.last_time, self.rate = step, now, rate
        self.bar.update(step - self.bar.n)
        return rate

    def line(self, step, values):
        eta = (self.total - step) / self.rate if self.rate > 0 else None
        return (f"step {step}/{self.total}  {losses_text(values)}  {self.rate:.1f} steps/s  "
                f"ETA {'?' if eta is None else tqdm.tqdm.format_interval(eta)}")

    def show(self, step, values):
        if self.bar.disable:
            print(self.line(step, values), file=self.stream, flush=True)
        else:
            self.bar.set_postfix_str(losses_text(values))

    def close(self):
        self.bar.close()


def losses_text(values):
    return "  ".join(f"{k} {v:.4f}" for k, v in values.items() if k != "steps_per_sec")