"""The run directory: config, versions, events, checkpoints, exports, metrics, samples.

Layout (one run per directory, resumable)::

    config.gin            bindings the run was started with (its identity)
    run.json              the run record: data, seed, models, versions (gran_tf.run_record)
    operative_config.gin  every parameter actually used
    versions.json         python and package versions at each start: {"starts": [{step, time, versions}]}
    events.out.tfevents.* TensorBoard
    ckpt/                 tf.train.CheckpointManager
    ckpt_best/, best.json the best checkpoint by Trainer.best_metric
    export/               generator.keras, discriminator.keras
    metrics.jsonl         one JSON object per logged step or evaluation
    samples/              PNG grids and plots
    .lock                 held by the training that writes the directory: an flock on local disk,
                          a lease (owner and heartbeat time) on object stores; holds its pid

Every file operation goes through gran_tf.storage, so ``model_dir`` may be ``gs://...`` (Cloud
TPU) or any other TensorFlow filesystem.
"""
import fcntl
import importlib.metadata
import json
import os
import platform
import re
import socket
import time
import uuid

import tensorflow as tf

from gran_tf import storage
from gran_tf.errors import RunDirError

# Bindings that may change when a run is resumed (to train longer, log differently).
RESUMABLE_BINDINGS = re.compile(
    r"^Trainer\.(total_steps|log_every|sample_every|checkpoint_every|eval_every)\s*="
)
LOCK_FILE = ".lock"
RECORD_FILE = "run.json"
# The run directory's format, kept in run.json. Directories of another format (pre-release
# layouts) are refused with one line: gran_tf reads only the format it writes.
RUN_FORMAT = 2
# An object store has no flock: the lock there is a lease the training renews at every log line
# and checkpoint (RunDir.renew_lock); one not renewed for this long is taken over (a killed job).
LEASE_SECONDS = 900
PACKAGES = ("tensorflow", "keras", "gin-config", "tensorflow-datasets", "tensorflow-gan",
            "tensorflow-probability", "numpy", "scipy", "gran_tf")


def identity(config_str):
    """The bindings that define a run, without those allowed to change on resume."""
    lines = [line.rstrip() for line in config_str.splitlines()]
    return "\n".join(line for line in lines if line and not RESUMABLE_BINDINGS.match(line))


def package_versions():
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _step_of(line):
    """The step of one jsonl history record, or None for a torn or foreign line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record.get("step") if isinstance(record, dict) and isinstance(record.get("step"), int) else None


def checkpoint_number(path):
    """The step N of a checkpoint prefix ``.../ckpt-N``."""
    return int(path.rsplit("-", 1)[1])


def checkpoint_steps(ckpt_dir):
    """Sorted steps N of the ``ckpt-N`` checkpoints whose index file is in ``ckpt_dir``."""
    return sorted(int(m.group(1)) for m in (re.fullmatch(r"ckpt-(\d+)\.index", f) for f in storage.listdir(ckpt_dir)) if m)


def network_checkpoint(generator, discriminator, **objects):
    """``tf.train.Checkpoint`` of both networks (and ``objects``) that holds every weight under
    its path (``generator_weights``, ``discriminator_weights``). Keras 3 networks show TF's
    checkpoint tracking only the layers held directly as attributes: the variables of layers
    held in lists (BN moving statistics, spectral-norm vectors; trainable weights only through
    the optimizers) would be in no checkpoint."""
    return tf.train.Checkpoint(generator=generator, discriminator=discriminator,
                               generator_weights={v.path: v for v in generator.weights},
                               discriminator_weights={v.path: v for v in discriminator.weights}, **objects)


def restore_networks(checkpoint, path):
    """Restores ``network_checkpoint`` ``checkpoint`` from ``path``: every object it holds must be
    in the file (AssertionError otherwise); values in the file that it does not hold (an
    evaluation's optimizers) are left."""
    status = checkpoint.restore(path)
    status.assert_existing_objects_matched()
    status.expect_partial()


class RunDir:
    def __init__(self, path):
        self.path = storage.absolute(path)
        self._lock_fd = self._lease = None

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    @property
    def ckpt_dir(self):
        return self.join("ckpt")

    @property
    def export_dir(self):
        return self.join("export")

    @property
    def samples_dir(self):
        return self.join("samples")

    def check(self, config_str):
        """Raises RunDirError if the directory holds a run of another configuration.

        Writes nothing: call before any side effect.
        """
        if storage.exists(self.path) and not storage.isdir(self.path):
            raise RunDirError(f"model_dir {self.path} exists and is not a directory")
        config_file = self.join("config.gin")
        if storage.exists(config_file):
            previous = storage.read_text(config_file)
            if identity(previous) != identity(config_str):
                raise RunDirError(
                    f"model_dir {self.path} holds a run of another configuration "
                    f"(see its config.gin); use a new --model_dir"
                )
            if storage.exists(self.join(RECORD_FILE)) or self.checkpoints():  # else a claim cut short
                self.check_format()
        elif set(storage.listdir(self.path)) - {LOCK_FILE}:
            raise RunDirError(f"model_dir {self.path} is not empty and holds no gran_tf run")

    def checkpoints(self):
        """Steps of the checkpoints in ckpt/ (none when it is absent)."""
        return checkpoint_steps(self.ckpt_dir) if storage.isdir(self.ckpt_dir) else []

    def check_format(self):
        """The stored run record, refused (RunDirError, one line) when it is missing, torn or of
        another run format than this gran_tf writes."""
        record = self.read_json(RECORD_FILE)
        if record is None and not storage.exists(self.join("config.gin")):
            raise RunDirError(f"{self.path} is not a gran_tf run (missing {self.join(RECORD_FILE)})")
        found = record.get("format") if isinstance(record, dict) else None
        if found != RUN_FORMAT:
            written = "no run.json" if record is None else f"run format {found!r}"
            raise RunDirError(f"{self.path} was written by another gran_tf version ({written}; this one reads "
                              f"run format {RUN_FORMAT}): retrain it, or evaluate it with the version that wrote it")
        return record

    def lock(self):
        """Takes the directory's lock for as long as this process trains in it, or raises
        RunDirError naming the training that holds it. An flock dies with its process, so the
        lock file a killed run leaves behind is simply taken over (on object stores: once its
        lease has run out)."""
        if self._lock_fd is not None or self._lease is not None:
            return
        if not storage.is_local(self.path):
            self._take_lease()
            return
        os.makedirs(self.path, exist_ok=True)
        fd = os.open(self.join(LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunDirError(f"model_dir {self.path} is in use by another training (pid {holder}); "
                              f"wait for it to finish or use another --model_dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _read_lease(self):
        try:
            lease = json.loads(storage.read_text(self.join(LOCK_FILE)))
        except (OSError, ValueError, tf.errors.OpError):  # none yet, or torn
            return None
        return lease if isinstance(lease, dict) else None

    def _write_lease(self):
        lease = {"owner": self._lease, "pid": os.getpid(), "host": socket.gethostname(), "time": time.time()}
        storage.write_text(self.join(LOCK_FILE), json.dumps(lease) + "\n")

    def _take_lease(self):
        """The lock on an object store: refuse a lease renewed within LEASE_SECONDS by another
        training; else write ours and read it back (of two trainings claiming at once, the last
        writer holds it and the other one is refused)."""
        held = self._read_lease()
        if held and time.time() - held.get("time", 0) < LEASE_SECONDS:
            raise RunDirError(f"model_dir {self.path} is in use by another training (pid {held.get('pid', '?')} "
                              f"on {held.get('host', '?')}); wait for it to finish or use another --model_dir")
        storage.makedirs(self.path)
        self._lease = uuid.uuid4().hex
        self._write_lease()
        time.sleep(0.1)
        if (self._read_lease() or {}).get("owner") != self._lease:
            self._lease = None
            raise RunDirError(f"model_dir {self.path} was claimed by another training at the same moment; "
                              f"use another --model_dir")

    def renew_lock(self):
        """Renews the lease of an object-store lock (nothing to do for an flock)."""
        if self._lease is not None:
            self._write_lease()

    def unlock(self):
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._lease is not None:
            if (self._read_lease() or {}).get("owner") == self._lease:
                storage.remove(self.join(LOCK_FILE))
            self._lease = None

    def claim(self, config_str):
        """Checks, locks, creates the directory and, for a new run, records the config (by the one
        writing worker; a resumed run's is rewritten by ``write_config`` once it has resumed).
        Checked again under the lock: another process may have claimed it meanwhile."""
        self.check(config_str)
        try:
            self.lock()
            self.check(config_str)
            for sub in ("", "ckpt", "export", "samples"):
                storage.makedirs(self.join(sub))
            if not storage.exists(self.join("config.gin")):
                self.write_config(config_str)
        except OSError as err:  # read-only, below a file, disk full
            self.unlock()
            raise RunDirError(f"cannot write model_dir {self.path}: {err.strerror or err}") from None

    def write_config(self, config_str):
        self._write_text("config.gin", config_str)

    def record_start(self, step):
        """Appends this start (the step it resumes from, the time, package versions) to
        versions.json, so that every environment a run trained in stays on record."""
        starts = (self.read_json("versions.json") or {"starts": []})["starts"]
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        starts.append({"step": int(step), "time": now, "versions": package_versions()})
        self.write_json("versions.json", {"starts": starts})

    def rewind_history(self, step, names):
        """Drops from the jsonl histories ``names`` the records of steps after ``step`` (the
        restored checkpoint: a crash or signal left them, and training repeats those steps) and
        torn lines (a write cut short), so that every step appears once."""
        for name in names:
            path = self.join(name)
            if not storage.exists(path):
                continue
            lines = storage.read_text(path).splitlines()
            kept = [line for line in lines if (line_step := _step_of(line)) is not None and line_step <= step]
            if kept != lines:
                self._write_text(name, "".join(line + "\n" for line in kept))

    def write_json(self, name, obj):
        self._write_text(name, json.dumps(obj, indent=2, sort_keys=True) + "\n")

    def read_json(self, name):
        """The JSON file ``name`` of the directory, None when absent; RunDirError (one line) when
        it is torn or not JSON."""
        path = self.join(name)
        if not storage.exists(path):
            return None
        try:
            return json.loads(storage.read_text(path))
        except ValueError as err:
            raise RunDirError(f"{path} is torn or not JSON ({err}): restore it, or train in a new --model_dir") from None

    def export_networks(self, generator, discriminator, step):
        """export/{generator,discriminator}.keras (each written whole, then renamed) and
        export.json, the step they were trained to."""
        storage.makedirs(self.export_dir)
        for name, model in (("generator", generator), ("discriminator", discriminator)):
            path = os.path.join(self.export_dir, f"{name}.keras")
            model.save(path + ".tmp.keras")
            storage.rename(path + ".tmp.keras", path)
        self.write_json(os.path.join("export", "export.json"), {"step": int(step)})

    def write_operative_config(self, text):
        self._write_text("operative_config.gin", text)

    def append_metrics(self, record):
        """Appends one record; after a torn last line (a write cut short) it starts a new line."""
        self.append_record("metrics.jsonl", record)

    def append_record(self, name, record):
        """Appends one JSON line to the history ``name``."""
        storage.append_line(self.join(name), json.dumps(record, sort_keys=True))

    def read_records(self, name):
        """The records of the jsonl history ``name``, torn or foreign lines skipped."""
        path = self.join(name)
        if not storage.exists(path):
            return []
        return [json.loads(line) for line in storage.read_text(path).splitlines() if _step_of(line) is not None]

    def read_metrics(self):
        """The records of metrics.jsonl, torn or foreign lines skipped."""
        return self.read_records("metrics.jsonl")

    def _write_text(self, name, text):
        storage.write_text(self.join(name), text)  # write-then-rename: never half a file
