"""File operations for run directories, on local disk or on any TensorFlow filesystem.

Cloud TPU jobs keep their run directories on object storage (``--model_dir=gs://bucket/run``),
which Python's ``open``/``os`` cannot reach. Every run-directory read and write goes through
these functions: local paths keep Python's own calls (so a full or read-only disk raises the
``OSError`` the trainer reports), every other path (``gs://``, ``s3://``, TF's in-memory
``ram://`` used by the tests) goes through ``tf.io.gfile``.

Writes are whole-file and atomic where the store allows: write a temporary file, then rename it
over the target. Object stores have no append, so ``append_line`` on them rewrites the file
(metrics files hold one line per logged step: thousands of lines, not millions).
"""
import io
import os

import tensorflow as tf


def is_local(path):
    """True for plain paths (and ``file://`` URLs), False for ``scheme://`` filesystems."""
    return "://" not in str(path) or str(path).startswith("file://")


def _local(path):
    return str(path)[len("file://"):] if str(path).startswith("file://") else str(path)


def absolute(path):
    """An absolute local path, or a URL as given (without a trailing slash)."""
    return os.path.abspath(_local(path)) if is_local(path) else str(path).rstrip("/")


def exists(path):
    return os.path.exists(_local(path)) if is_local(path) else tf.io.gfile.exists(path)


def isdir(path):
    return os.path.isdir(_local(path)) if is_local(path) else tf.io.gfile.isdir(path)


def makedirs(path):
    if is_local(path):
        os.makedirs(_local(path), exist_ok=True)
    else:
        tf.io.gfile.makedirs(path)


def listdir(path):
    """Names in the directory ``path`` (no trailing slashes), [] if it does not exist."""
    if not isdir(path):
        return []
    names = os.listdir(_local(path)) if is_local(path) else tf.io.gfile.listdir(path)
    return [name.rstrip("/") for name in names]


def getmtime(path):
    """Modification time in seconds since the epoch."""
    return os.path.getmtime(_local(path)) if is_local(path) else tf.io.gfile.stat(path).mtime_nsec / 1e9


def remove(path):
    """Deletes a file; a missing one is fine."""
    try:
        if is_local(path):
            os.remove(_local(path))
        else:
            tf.io.gfile.remove(path)
    except (FileNotFoundError, tf.errors.NotFoundError):
        pass


def rmtree(path):
    """Deletes a directory tree; a missing one is fine."""
    if isdir(path):
        tf.io.gfile.rmtree(path)


def glob(pattern):
    return tf.io.gfile.glob(pattern)


def rename(src, dst):
    """Moves ``src`` over ``dst`` (atomic on local disk)."""
    if is_local(src):
        os.replace(_local(src), _local(dst))
    else:
        tf.io.gfile.rename(src, dst, overwrite=True)


def read_bytes(path):
    if is_local(path):
        with open(_local(path), "rb") as f:
            return f.read()
    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read()


def read_text(path):
    return read_bytes(path).decode("utf-8")


def write_bytes(path, data):
    """Writes ``data`` to ``path`` through a temporary file renamed over it: a crash leaves the
    old file or the new one, never half of one."""
    tmp = f"{path}.tmp"
    if is_local(path):
        with open(_local(tmp), "wb") as f:
            f.write(data)
    else:
        with tf.io.gfile.GFile(tmp, "wb") as f:
            f.write(data)
    rename(tmp, path)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def append_line(path, line):
    """Appends ``line`` (no newline) as one line; after a torn last line (a write cut short) it
    starts a new line."""
    data = (line + "\n").encode("utf-8")
    if not is_local(path):
        old = read_bytes(path) if exists(path) else b""
        write_bytes(path, old + (b"\n" if old and not old.endswith(b"\n") else b"") + data)
        return
    local = _local(path)
    torn = False
    if os.path.exists(local) and os.path.getsize(local):
        with open(local, "rb") as f:
            f.seek(-1, os.SEEK_END)
            torn = f.read(1) != b"\n"
    with open(local, "ab") as f:
        f.write((b"\n" if torn else b"") + data)


def save_with(writer, path):
    """Calls ``writer(file_object)`` (``np.save``, ``PIL.Image.save``, ``Figure.savefig``...) into
    memory and writes the bytes to ``path`` atomically; creates the parent directory."""
    makedirs(os.path.dirname(absolute(path)))
    buffer = io.BytesIO()
    writer(buffer)
    write_bytes(path, buffer.getvalue())
    return path
