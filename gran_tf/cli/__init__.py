"""The command-line entry points (console scripts ``gran-train``, ``gran-evaluate``, ...).

Each module defines ``main()`` (the work, flags already parsed) and ``run()`` (the console
script); ``python -m gran_tf.cli.<name>`` and the thin ``launch/<name>.py`` wrappers call ``run()``.
"""
import os

# Before TensorFlow is first imported by any command: keep its C++ start-up chatter off stderr.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
