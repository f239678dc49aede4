"""The run record, ``run.json``: who a run is, as plain values, written when the run is claimed.

It holds the data (name, pixel range, recipe: a mixture's means and std, colored MNIST's
constants; the shape, value range and split sizes that follow from them), the seed, the
generator's output range, the model classes, loss and updater with their settings, and the
package versions at the first start. Evaluation (``gran-evaluate``, ``gran-battle``,
``gran-sample``, ``gran-inference-rank`` and training-time evaluation) takes all it needs from
the record and never from the global gin state, so two runs in one process cannot be confused.
Runs written before the record existed get one derived from their ``config.gin`` on first load.
"""
import dataclasses

from gran_tf import config
from gran_tf.data import DataRecord
from gran_tf.errors import ConfigError, RunDirError
from gran_tf.models import output_range
from gran_tf.rundir import package_versions

RECORD_FILE = "run.json"
FORMAT = 1


def describe(obj):
    """{"class": name, and the object's plain settings}: a loss or updater as the record keeps it."""
    settings = {k: v for k, v in vars(obj).items()
                if not k.startswith("_") and isinstance(v, (bool, int, float, str, type(None), tuple, list))}
    return {"class": type(obj).__name__, **{k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}}


@dataclasses.dataclass(frozen=True)
class RunRecord:
    data: DataRecord
    seed: int
    generator_output: str  # "unit" (sigmoid) | "symmetric" (tanh) | "real" (linear), see models.output_range
    models: dict = dataclasses.field(default_factory=dict)  # generator, discriminator, loss, updater
    versions: dict = dataclasses.field(default_factory=dict)
    derived: bool = False  # True: rebuilt from config.gin of a run that predates the record

    def to_dict(self):
        return {"format": FORMAT, "data": self.data.to_dict(), "seed": self.seed,
                "generator_output": self.generator_output, "models": self.models,
                "versions": self.versions, "derived": self.derived}

    @classmethod
    def from_dict(cls, record):
        return cls(DataRecord.from_dict(record["data"]), int(record["seed"]), record["generator_output"],
                   record.get("models", {}), record.get("versions", {}), bool(record.get("derived", False)))


def for_training(data, seed, generator, discriminator, loss, updater):
    """The record of a run about to train (versions: this process's)."""
    models = {"generator": type(generator).__name__, "discriminator": type(discriminator).__name__,
              "loss": describe(loss), "updater": describe(updater)}
    return RunRecord(data, int(seed), output_range(generator), models, package_versions())


def check_output_range(record):
    """The generator must produce values in the data's range: sigmoid for [0, 1] images, tanh for
    [-1, 1], linear for point sets."""
    data = record.data
    expected = "real" if data.spec.kind == "points" else data.pixel_range
    if record.generator_output != expected:
        raise ConfigError(f"the generator's output range is {record.generator_output!r} but {data.name} with "
                          f"pixel_range {data.pixel_range!r} needs {expected!r} (set the generator's "
                          "out_activation or make_dataset.pixel_range)")


def write(run_dir, record):
    run_dir.write_json(RECORD_FILE, record.to_dict())


def read(run_dir, generator=None):
    """The record of ``run_dir``; for a run that predates it, one derived from its config.gin
    (and the loaded ``generator``'s output range), written back once when the directory allows."""
    stored = run_dir.read_json(RECORD_FILE)  # torn or foreign JSON: a RunDirError line
    if stored is not None:
        try:
            return RunRecord.from_dict(stored)
        except (KeyError, TypeError, ValueError) as err:
            raise RunDirError(f"{run_dir.join(RECORD_FILE)} is not a run record ({err})") from None
    record = derive(run_dir, generator)
    try:
        write(run_dir, record)
    except (OSError, RunDirError):
        pass  # a read-only run directory: derived again next time
    return record


def derive(run_dir, generator=None):
    """A record rebuilt from ``config.gin`` (parsed into gin: only for runs without run.json)."""
    import gin

    config.parse([run_dir.join("config.gin")])
    dataset = gin.query_parameter("Trainer.dataset")
    try:
        seed = gin.query_parameter("Trainer.seed")
    except ValueError:
        seed = 0
    versions = (run_dir.read_json("versions.json") or {}).get("starts", [{}])[0].get("versions", {})
    return RunRecord(DataRecord.current(dataset), int(seed), output_range(generator) if generator else None,
                     {}, versions, derived=True)


def same_data(records, names):
    """Raises ConfigError, one line saying what differs, unless all runs trained on the same data."""
    first = records[0]
    for record, name in zip(records[1:], names[1:]):
        diffs = first.data.differences(record.data)
        if diffs:
            raise ConfigError(f"{names[0]} and {name} were trained on different data ({'; '.join(diffs)}) "
                              "and cannot be compared")
