"""Parsing gin files and bindings into one clear ConfigError on failure."""
import contextlib
import logging
import os

import gin

from gran_tf.errors import ConfigError

# The shipped configs are package data, so bare names resolve in a checkout and in an installed
# wheel alike (the checkout's top-level gin/ is a link to this folder).
GIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


def register_configurables():
    """Imports every module that registers gin configurables."""
    import gran_tf.data  # noqa: F401
    import gran_tf.distribute  # noqa: F401
    import gran_tf.models  # noqa: F401
    import gran_tf.training.losses  # noqa: F401
    import gran_tf.training.trainer  # noqa: F401
    import gran_tf.training.updaters  # noqa: F401


def resolve_gin_file(path):
    """A path as given, or a bare name (``ring``, ``lsun_gran5.gin``) looked up in the shipped configs."""
    if os.path.isfile(path):
        return path
    candidate = os.path.join(GIN_DIR, path if path.endswith(".gin") else path + ".gin")
    if os.path.isfile(candidate):
        return candidate
    raise ConfigError(f"gin file {path!r} not found (looked in the working directory and {GIN_DIR})")


class _DropPathNotFound(logging.Filter):
    def filter(self, record):
        return "Path not found" not in record.getMessage()


@contextlib.contextmanager
def quiet_include_lookup():
    """gin logs an error each time an include is not found relative to the working
    directory before it finds it on the search path; those lines are noise."""
    root, drop = logging.getLogger(), _DropPathNotFound()
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)


def parse(gin_files=(), gin_params=()):
    """Clears gin and parses ``gin_files`` then ``gin_params``; returns the config string."""
    register_configurables()
    gin.clear_config()
    gin.add_config_file_search_path(GIN_DIR)
    files = [resolve_gin_file(f) for f in gin_files]
    try:
        with quiet_include_lookup():
            gin.parse_config_files_and_bindings(files, list(gin_params), finalize_config=False)
    except (ValueError, SyntaxError, KeyError, TypeError, ImportError) as e:
        message = " ".join(str(e).split())
        raise ConfigError(f"bad gin config: {message}") from None
    return gin.config_str()

