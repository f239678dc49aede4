"""Training throughput (steps/s, median of repeats) of shipped configs on this machine.

    python bench/train_throughput.py [--configs ring mnist_gran1 ...] [--steps 30] [--repeats 5]

Every config is built once and timed in the same process, so ratios between rows (notably
GRAN5 / GRAN1) are measured side by side. Prints a Markdown table.
"""
import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from gran_tf import config
from gran_tf.training.trainer import Trainer

DEFAULT_CONFIGS = ("ring", "mnist_gran1", "mnist_gran3", "mnist_gran5", "stacked_mnist_dcgan")


def build(name, params):
    config.parse([name], params)
    return Trainer(model_dir=tempfile.mkdtemp(prefix=f"bench_{name}_"))


def time_steps(trainer, steps):
    start = time.perf_counter()
    trainer.train_steps(steps)
    return steps / (time.perf_counter() - start)


def measure(names, steps, repeats, params):
    trainers = {name: build(name, params) for name in names}
    for trainer in trainers.values():
        trainer.train_steps(3)  # trace and warm up
    rates = {name: [] for name in names}
    for _ in range(repeats):  # interleaved, so load changes hit every config alike
        for name, trainer in trainers.items():
            rates[name].append(time_steps(trainer, steps))
    return {name: statistics.median(r) for name, r in rates.items()}, trainers


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gin_param", action="append", default=[])
    args = parser.parse_args()
    medians, trainers = measure(args.configs, args.steps, args.repeats, args.gin_param)
    print(f"| config | batch | steps/s (median of {args.repeats} x {args.steps} steps) | examples/s |")
    print("|---|---|---|---|")
    for name, rate in medians.items():
        batch = trainers[name].batch_size
        print(f"| {name} | {batch} | {rate:.2f} | {rate * batch:.0f} |")
    if "mnist_gran1" in medians and "mnist_gran5" in medians:
        print(f"\nGRAN cost ratio T=5 / T=1 (time per step): {medians['mnist_gran1'] / medians['mnist_gran5']:.2f}")


if __name__ == "__main__":
    main()
