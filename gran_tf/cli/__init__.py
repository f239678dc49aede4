"""The command-line entry points (console scripts ``gran-train``, ``gran-evaluate``, ...).

Each module defines ``main()`` (the work, flags already parsed) and ``run()`` (the console
script); ``python -m gran_tf.cli.<name>`` and the thin ``launch/<name>.py`` wrappers call ``run()``.

TensorFlow's start-up lines (oneDNN, CUDA stubs, absl's "before InitializeLog" notice), which
its C++ writes whatever TF_CPP_MIN_LOG_LEVEL says, are kept off stderr while TensorFlow is
imported and finds its devices; any other line written then (a real error) is shown.
``GRAN_TF_VERBOSE=1`` shows them all.
"""
import os
import re
import sys
import tempfile

VERBOSE_ENV = "GRAN_TF_VERBOSE"
STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} .*"  # INFO and WARNING lines of TensorFlow's C++ logging
    r"|To enable the following instructions: .*)$")
# cuInit fails where no CUDA driver is installed (said by an INFO line): a CPU machine, no error.
NO_DRIVER, CUINIT_FAILED = "Could not find cuda drivers", re.compile(r"^E\d{4} .*failed call to cuInit")


def quiet_tensorflow_import():
    """Imports TensorFlow and lists its devices with fd 2 captured; replays what is not start-up noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines()
            no_driver = any(NO_DRIVER in line for line in lines)
            kept = [line for line in lines if line.strip() and not STARTUP_NOISE.match(line)
                    and not (no_driver and CUINIT_FAILED.match(line))]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)


# Before TensorFlow is first imported by any command.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get(VERBOSE_ENV, "") not in ("", "0"):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
elif "tensorflow" not in sys.modules:
    quiet_tensorflow_import()
