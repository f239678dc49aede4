"""Images per second of the image-folder pipeline at 64x64 from JPEGs, first pass (decode into the
cache) and cached (memory-mapped batches), with peak memory, beside what ``lsun_gran5`` consumes.

    python bench/data_throughput.py [--sizes 2000 20000] [--batches 200] [--train_steps 3]

For each folder size a folder of JPEGs (smooth random scenes, 96x128, quality 90, like exported
LSUN frames) is written once under --work; a fresh subprocess per size decodes it (first pass:
images/s of ``DataRecord.current("folder:...")``) and then reads ``--batches`` batches of 64 from
the cache (cached: images/s), reporting its peak RSS. ``lsun_gran5`` (the paper's widths, batch 64)
is timed on the same folder for ``--train_steps`` steps after one warm-up step: images/s it
consumes. Targets (#26): cached >= 10x lsun_gran5's consumption and >= 2,000 images/s on two
cores; peak memory flat as the folder grows from 2k to 20k images.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BATCH = 64


def scene(rng, shape=(96, 128)):
    """A smooth random RGB image (JPEG-compressible like a photograph, unlike white noise)."""
    coarse = rng.integers(0, 256, (6, 8, 3)).astype(np.float32)
    ys, xs = np.linspace(0, 5, shape[0]), np.linspace(0, 7, shape[1])
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    y1, x1 = np.minimum(y0 + 1, 5), np.minimum(x0 + 1, 7)
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x1] * fx
    bottom = coarse[y1][:, x0] * (1 - fx) + coarse[y1][:, x1] * fx
    image = top * (1 - fy) + bottom * fy + rng.normal(0, 8, (*shape, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def jpeg_folder(root, n):
    from PIL import Image

    done = os.path.join(root, ".complete")
    if not os.path.exists(done):
        rng = np.random.default_rng(n)
        for i in range(n):
            sub = os.path.join(root, f"{i // 1000:03d}")
            os.makedirs(sub, exist_ok=True)
            Image.fromarray(scene(rng)).save(os.path.join(sub, f"{i:06d}.jpg"), quality=90)
        open(done, "w").close()
    return root


def measure_folder(root, batches):
    """In this (fresh) process: first-pass and cached images/s, peak RSS in MiB."""
    from gran_tf.data import DataRecord

    start = time.perf_counter()
    record = DataRecord.current(f"folder:{root}")
    first = record.params["file_count"] / (time.perf_counter() - start)
    dataset = record.make_dataset(BATCH, seed=0)
    iterator = iter(dataset)
    next(iterator)  # build the pipeline
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    cached = batches * BATCH / (time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"files": record.params["file_count"], "first_pass": first, "cached": cached, "peak_rss_mib": peak}


def lsun_gran5_consumption(root, steps):
    """Images/s that lsun_gran5 (paper widths, batch 64) trains on, on the folder."""
    from gran_tf import config
    from gran_tf.training.trainer import Trainer

    config.parse(["lsun_gran5"], [f"Trainer.dataset = 'folder:{root}'", f"Trainer.batch_size = {BATCH}"])
    trainer = Trainer(model_dir=tempfile.mkdtemp(prefix="bench_data_"))
    trainer.train_steps(1)
    start = time.perf_counter()
    trainer.train_steps(steps)
    return steps * BATCH / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--train_steps", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "gran_tf_bench_data"))
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: measure this folder, print JSON
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure_folder(args.measure, args.batches)))
        return
    env = {**os.environ, "GRAN_TF_CACHE": os.path.join(args.work, "cache")}
    os.environ["GRAN_TF_CACHE"] = env["GRAN_TF_CACHE"]
    rows = []
    for n in args.sizes:
        root = jpeg_folder(os.path.join(args.work, f"jpegs_{n}"), n)
        subprocess.run(["rm", "-rf", env["GRAN_TF_CACHE"]], check=True)  # a true first pass
        out = subprocess.run([sys.executable, __file__, "--measure", root, "--batches", str(args.batches)],
                             env=env, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    consumed = lsun_gran5_consumption(os.path.join(args.work, f"jpegs_{args.sizes[0]}"), args.train_steps)
    print(f"lsun_gran5 (batch {BATCH}) consumes {consumed:.1f} images/s")
    print("| JPEGs | first pass images/s | cached images/s | cached / lsun_gran5 | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['files']} | {row['first_pass']:.0f} | {row['cached']:.0f} | {row['cached'] / consumed:.0f}x "
              f"| {row['peak_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
