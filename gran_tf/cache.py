"""The project's cache directory (converted weights, classifiers, reference statistics)."""
import os
import pathlib


def cache_dir(*parts):
    """``$GRAN_TF_CACHE`` (default ``~/.cache/gran_tf``) joined with ``parts``; created on demand."""
    root = os.environ.get("GRAN_TF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "gran_tf")
    path = pathlib.Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
