"""Errors that entry points turn into one clear line and exit code 2."""


class GranError(Exception):
    """Base class of the errors a user can fix (bad config, missing data)."""


class ConfigError(GranError):
    """An unknown name, a malformed gin file or an inconsistent setting."""


class DataUnavailableError(GranError):
    """A dataset is not on this machine and cannot be fetched."""


class RunDirError(GranError):
    """A run directory that belongs to another configuration or is unreadable."""


class TrainingDivergedError(GranError):
    """A loss or a weight became NaN/inf during training."""


class TrainingInterrupted(GranError):
    """SIGTERM or SIGINT stopped training after a checkpoint was written; rerunning resumes.

    ``exit_code`` is the shell's convention for death by that signal (128 + signal number), so
    schedulers see the run as preempted rather than failed on bad input.
    """

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


class WorkerLost(GranError):
    """A worker of a multi-worker run died or became unreachable: the others stop (their
    collectives abort). Restarting every worker with the same command resumes from the chief's
    last checkpoint."""
