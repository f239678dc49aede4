"""The run record, ``run.json``: who a run is, as plain values, written when the run is claimed.

It holds the data (name, pixel range, recipe: a mixture's means and std, colored MNIST's
constants; the shape, value range and split sizes that follow from them), the seed, the
generator's output range, the model classes, loss and updater with their settings, and the
package versions at the first start. Evaluation (``gran-evaluate``, ``gran-battle``,
``gran-sample``, ``gran-inference-rank`` and training-time evaluation) takes all it needs from
the record and never from the global gin state, so two runs in one process cannot be confused.
Run directories of another run format (``rundir.RUN_FORMAT``) are refused with one line.
"""
import dataclasses

from gran_tf.data import DataRecord
from gran_tf.errors import ConfigError, RunDirError
from gran_tf.models import output_range
from gran_tf.rundir import RECORD_FILE, RUN_FORMAT, package_versions


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

    def to_dict(self):
        return {"format": RUN_FORMAT, "data": self.data.to_dict(), "seed": self.seed,
                "generator_output": self.generator_output, "models": self.models, "versions": self.versions}

    @classmethod
    def from_dict(cls, record):
        return cls(DataRecord.from_dict(record["data"]), int(record["seed"]), record["generator_output"],
                   record["models"], record["versions"])


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


def read(run_dir):
    """The record of ``run_dir``: RunDirError (one line) when it is missing, torn, of another run
    format or not a record."""
    stored = run_dir.check_format()
    try:
        return RunRecord.from_dict(stored)
    except (KeyError, TypeError, ValueError) as err:
        raise RunDirError(f"{run_dir.join(RECORD_FILE)} is not a run record ({err})") from None


def same_data(records, names):
    """Raises ConfigError, one line saying what differs, unless all runs trained on the same data."""
    first = records[0]
    for record, name in zip(records[1:], names[1:]):
        diffs = first.data.differences(record.data)
        if diffs:
            raise ConfigError(f"{names[0]} and {name} were trained on different data ({'; '.join(diffs)}) "
                              "and cannot be compared")
