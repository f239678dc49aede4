"""A folder of images as a dataset (``Trainer.dataset = "folder"``).

The folder is read recursively (symlinks followed; PNG, JPEG, BMP and the first frame of a GIF,
extensions in any case), on any TensorFlow filesystem. Its files are sorted by relative path, so a
seed gives the same stream on every machine. The test split is the ``test/`` subfolder when there
is one, else the files whose salted sha256 of the relative path falls below ``test_fraction``
(adding files moves no file between splits).

Each image is decoded once: RGBA, grey+alpha and palette images lose their alpha, grey is repeated
to RGB (RGB is converted to grey for ``channels = 1``), the shorter side is resized to ``size`` with
an antialiased Lanczos-3 filter (PIL's ANTIALIAS, as StyleGAN's dataset tool and the LSUN
conversions use) and the centre square cropped, rounded to uint8. The pixels go to an on-disk
cache (``$GRAN_TF_CACHE/image_folders/<fingerprint>-<settings>/``: one raw uint8 file per
split) that training memory-maps, so a folder larger than memory trains without being held in
it. A file that does not decode is skipped with one warning line naming it.
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

import gin
import numpy as np
import tensorflow as tf

from gran_tf.cache import cache_dir
from gran_tf.data import arrays, pipeline
from gran_tf.errors import ConfigError, DataUnavailableError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
TEST_FOLDER = "test"
CACHE_FORMAT = 1
_DECODE_BATCH = 64
_WARNED = set()  # caches whose skipped files this process has reported


@gin.configurable("image_folder")
def image_folder(path=gin.REQUIRED, size=64, channels=3, test_fraction=0.1):
    """The settings of ``Trainer.dataset = "folder"``: the folder, the square side of the
    training images, 1 (grey) or 3 (RGB) channels, the held-out fraction without a ``test/``."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ConfigError(f"image_folder.size must be a positive integer, got {size!r}")
    if channels not in (1, 3):
        raise ConfigError(f"image_folder.channels must be 1 or 3, got {channels!r}")
    return {"path": str(path), "size": int(size), "channels": int(channels),
            "test_fraction": arrays.check_fraction(test_fraction, "image_folder")}


def _is_image(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _walk(path):
    if "://" in path:
        for root, _, files in tf.io.gfile.walk(path):
            yield root, files
    else:
        for root, _, files in os.walk(path, followlinks=True):
            yield root, files


def _size_of(path):
    return os.path.getsize(path) if "://" not in path else tf.io.gfile.stat(path).length


def scan(path):
    """Sorted [(relative path with '/', bytes)] of the folder's image files."""
    if not tf.io.gfile.isdir(path):
        raise DataUnavailableError(f"image folder {path} does not exist or is not a folder")
    found = []
    for root, files in _walk(path):
        rel_root = os.path.relpath(root, path) if "://" not in path else root[len(path):].strip("/")
        for name in files:
            if _is_image(name):
                rel = name if rel_root in ("", ".") else f"{rel_root}/{name}".replace(os.sep, "/")
                found.append((rel, _size_of(os.path.join(root, name))))
    if not found:
        raise ConfigError(f"image folder {path} holds no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return sorted(found)


def fingerprint(files):
    """sha256 of the sorted relative paths with their sizes."""
    return hashlib.sha256("\n".join(f"{rel}\t{size}" for rel, size in files).encode()).hexdigest()


def _hashed_fraction(rel):
    return int.from_bytes(hashlib.sha256(f"gran_tf-test-split:{rel}".encode()).digest()[:8], "big") / 2.0**64


def assign_splits(files, test_fraction):
    """{"train": [rel], "test": [rel]}: ``test/...`` files when the folder has them, else by hash."""
    rels = [rel for rel, _ in files]
    prefix = TEST_FOLDER + "/"
    if any(rel.startswith(prefix) for rel in rels):
        test = [rel for rel in rels if rel.startswith(prefix)]
    else:
        test = [rel for rel in rels if _hashed_fraction(rel) < test_fraction]
    held_out = set(test)
    return {"train": [rel for rel in rels if rel not in held_out], "test": test}


def as_channels(image, channels):
    """uint8 [H, W, c] with c in 1..4 -> [H, W, channels]: alpha dropped, grey <-> RGB."""
    c = tf.shape(image)[-1]
    image = image[..., :tf.where(tf.equal(c % 2, 0), c - 1, c)]  # drop alpha of grey+alpha / RGBA
    if channels == 3:
        image = tf.cond(tf.equal(tf.shape(image)[-1], 1), lambda: tf.tile(image, [1, 1, 3]), lambda: image)
    else:
        image = tf.cond(tf.equal(tf.shape(image)[-1], 3), lambda: tf.image.rgb_to_grayscale(image), lambda: image)
    return tf.ensure_shape(image, [None, None, channels])


def decode(contents, size, channels):
    """Encoded image bytes -> uint8 [size, size, channels], resized and centre-cropped."""
    image = tf.io.decode_image(contents, expand_animations=False, dtype=tf.uint8)
    return pipeline.resize_and_centre_crop(as_channels(image, channels), size, method="lanczos3")


def _decoded(path, rels, size, channels):
    """(index, uint8 image) of each file that decodes, in order; the others are left out."""
    paths = [path.rstrip("/") + "/" + rel for rel in rels]
    files = tf.data.Dataset.from_tensor_slices((tf.range(len(rels)), tf.constant(paths, tf.string)))
    images = files.map(lambda i, p: (i, decode(tf.io.read_file(p), size, channels)),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return images.ignore_errors().batch(_DECODE_BATCH).prefetch(2)


def _write_split(path, rels, settings, out_file):
    """Decodes ``rels`` into ``out_file`` (raw uint8 rows); returns the files that did not decode."""
    decoded = np.zeros(len(rels), bool)
    with open(out_file, "wb") as out:
        for indices, images in _decoded(path, rels, settings["size"], settings["channels"]):
            decoded[indices.numpy()] = True
            out.write(np.ascontiguousarray(images.numpy()).tobytes())
    return [rel for rel, ok in zip(rels, decoded) if not ok]


def _cache_key(settings, print_):
    return f"{print_[:24]}-s{settings['size']}-c{settings['channels']}-t{settings['test_fraction']:g}"


def build_cache(settings, files, where):
    """Decodes the folder into ``where`` (a fresh directory): ``train.u8``, ``test.u8`` and
    ``meta.json``; returns the meta."""
    splits = assign_splits(files, settings["test_fraction"])
    skipped, sizes = [], {}
    for split, rels in splits.items():
        failed = _write_split(settings["path"], rels, settings, os.path.join(where, f"{split}.u8"))
        skipped += failed
        sizes[split] = len(rels) - len(failed)
    meta = {"format": CACHE_FORMAT, "split_sizes": sizes, "skipped": skipped}
    with open(os.path.join(where, "meta.json"), "w") as f:
        json.dump(meta, f)
    return meta


def cached(settings, files):
    """(directory, meta) of the folder's decoded pixels, decoding it on first use. Concurrent
    builders each decode into a private directory and the first rename wins."""
    print_ = fingerprint(files)
    root = cache_dir("image_folders")
    final = os.path.join(root, _cache_key(settings, print_))
    if not os.path.exists(os.path.join(final, "meta.json")):
        print(f"decoding {len(files)} images of {settings['path']} once into {final}", file=sys.stderr)
        work = tempfile.mkdtemp(dir=root, prefix=".building-")
        try:
            build_cache(settings, files, work)
            try:
                os.rename(work, final)
            except OSError:  # another process finished first
                pass
        finally:
            shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(final, "meta.json")) as f:
        return final, json.load(f)


def describe(settings):
    """The folder's identity as run.json keeps it (decodes it into the cache if needed):
    settings, file count, split sizes, skipped files, fingerprint."""
    files = scan(settings["path"])
    where, meta = cached(settings, files)
    if meta["skipped"] and where not in _WARNED:
        _WARNED.add(where)
        shown = ", ".join(meta["skipped"][:3]) + (", ..." if len(meta["skipped"]) > 3 else "")
        print(f"warning: skipped {len(meta['skipped'])} of {len(files)} files of {settings['path']} that do not "
              f"decode as images: {shown}", file=sys.stderr)
    if min(meta["split_sizes"].values()) == 0:
        raise ConfigError(f"image folder {settings['path']}: split sizes {meta['split_sizes']} leave a split "
                          "empty (add images, a test/ subfolder or change image_folder.test_fraction)")
    return {**settings, "file_count": len(files), "split_sizes": meta["split_sizes"],
            "skipped": len(meta["skipped"]), "fingerprint": fingerprint(files)}


def changes(recorded, files):
    """What differs between a recorded folder identity and the folder's files now."""
    diffs = []
    if len(files) != recorded["file_count"]:
        diffs.append(f"{recorded['file_count']} files then, {len(files)} now")
    if fingerprint(files) != recorded["fingerprint"]:
        diffs.append("file names or sizes changed")
    return diffs


def split_pixels(params, split):
    """uint8 [N, size, size, channels] of one split, memory-mapped from the cache (rebuilt if
    gone); warns once when the folder changed since ``params`` were recorded."""
    settings = {k: params[k] for k in ("path", "size", "channels", "test_fraction")}
    files = scan(settings["path"])
    diffs = changes(params, files)
    if diffs:
        print(f"warning: image folder {settings['path']} changed since the run was recorded "
              f"({'; '.join(diffs)}); using it as it is now", file=sys.stderr)
    where, meta = cached(settings, files)
    n, side = meta["split_sizes"][split], settings["size"]
    return np.memmap(os.path.join(where, f"{split}.u8"), np.uint8, "r", shape=(n, side, side, settings["channels"]))


def folder_dataset(params, split, batch_size, seed, repeat, shuffle, start=0):
    """Batches (x [B, size, size, channels] in [0, 1], label -1) of a recorded folder."""
    return arrays.gathered_batches(split_pixels(params, split), batch_size, seed, split, repeat, shuffle, start)
