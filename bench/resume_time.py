"""Seconds to the first batch of a resumed run: the pipeline started at the batch reached
(``make_dataset(start=k)``, what the trainer does) against replaying it (``.skip(k)``).

    python bench/resume_time.py [--datasets ring mnist stacked_mnist] [--steps 0 10000 100000]
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from gran_tf.data import make_dataset


def first_batch_seconds(build):
    start = time.perf_counter()
    next(iter(build()))
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="+", default=["ring", "mnist", "stacked_mnist"])
    parser.add_argument("--steps", nargs="+", type=int, default=[0, 10_000, 100_000])
    parser.add_argument("--batch_size", type=int, default=100)
    args = parser.parse_args()
    print("| dataset | batches reached | start=k (s) | .skip(k) (s) |\n|---|---:|---:|---:|")
    for name in args.datasets:
        make_dataset(name, batch_size=args.batch_size)  # load the arrays once, outside the timing
        for k in args.steps:
            direct = first_batch_seconds(lambda: make_dataset(name, batch_size=args.batch_size, start=k))
            replay = first_batch_seconds(lambda: make_dataset(name, batch_size=args.batch_size).skip(k))
            print(f"| {name} | {k} | {direct:.3f} | {replay:.3f} |", flush=True)


if __name__ == "__main__":
    main()
