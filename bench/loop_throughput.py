"""Milliseconds per training step: one step per call vs Trainer.steps_per_loop, XLA off and on.

    python bench/loop_throughput.py [--configs ring ring_unrolled10 ...] [--rounds 3]
    python bench/loop_throughput.py --dispatch      # ring at batch 512 vs 16: kernels vs overhead
    python bench/loop_throughput.py --precision     # conv configs: float32 vs mixed_bfloat16

Every (config, steps_per_loop, jit_compile) variant is built once in this process and timed in
interleaved rounds (the fastest round counts), so the ratios in each config's rows are measured
side by side. Point configs run 200 steps a round with loops of 50, image configs 10 with
loops of 10. Prints a Markdown table: ms/step and the speed-up over one step per call, XLA off.
"""
import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from gran_tf import config
from gran_tf.training.trainer import Trainer

DEFAULT_CONFIGS = ("ring", "ring_unrolled10", "ring8_vgan_brc", "mnist_gran1", "mnist_gran3", "mnist_gran5",
                   "stacked_mnist_dcgan")
POINT_WORK = dict(steps=200, loop=50)
IMAGE_WORK = dict(steps=10, loop=10)


PRECISION_CONFIGS = ("mnist_gran1", "mnist_gran3", "mnist_gran5", "stacked_mnist_dcgan")


def build(name, steps_per_loop, jit, precision="float32"):
    config.parse([name], [f"Trainer.steps_per_loop = {steps_per_loop}", f"Trainer.jit_compile = {jit}",
                          f"Trainer.precision = '{precision}'",
                          "Trainer.log_every = 1000", "Trainer.sample_every = 1000", "Trainer.checkpoint_every = 1000"])
    trainer = Trainer(model_dir=tempfile.mkdtemp(prefix=f"bench_{name}_"))
    start = time.perf_counter()
    trainer.train_steps(2 * steps_per_loop)  # trace, compile, warm up
    return trainer, time.perf_counter() - start


def ms_per_step(trainer, steps):
    start = time.perf_counter()
    trainer.train_steps(steps)
    return 1000 * (time.perf_counter() - start) / steps


def dispatch_table(rounds):
    """The ring step at batch 512 and 16, one step per call and loops of 50: the batch-16 loop
    is the step's fixed cost (dispatch, per-op overhead), the rest at 512 is kernel time."""
    print("| ring batch | steps/call | ms / step |\n|---:|---:|---:|")
    for batch in (512, 16):
        for n in (1, 50):
            config.parse(["ring"], [f"Trainer.batch_size = {batch}", f"Trainer.steps_per_loop = {n}"])
            trainer = Trainer(model_dir=tempfile.mkdtemp(prefix="bench_ring_"))
            trainer.train_steps(100)
            best = min(ms_per_step(trainer, 400) for _ in range(rounds))
            print(f"| {batch} | {n} | {best:.2f} |", flush=True)


def precision_table(configs, rounds):
    """float32 against mixed_bfloat16 (XLA off and on), loops of 10 steps, interleaved rounds."""
    print("| config | precision | XLA | ms / step | x float32, XLA off |\n|---|---|---|---:|---:|")
    for name in configs:
        variants = {(p, jit): build(name, IMAGE_WORK["loop"], jit, p)[0]
                    for p in ("float32", "mixed_bfloat16") for jit in (False, True)}
        times = {key: [] for key in variants}
        for _ in range(rounds):
            for key, trainer in variants.items():
                times[key].append(ms_per_step(trainer, IMAGE_WORK["steps"]))
        base = min(times[("float32", False)])
        for (precision, jit), runs in times.items():
            print(f"| {name} | {precision} | {'on' if jit else 'off'} | {min(runs):.2f} | {base / min(runs):.2f} |",
                  flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dispatch", action="store_true", help="only the batch 512 vs 16 ring table")
    parser.add_argument("--precision", action="store_true", help="only the float32 vs mixed_bfloat16 table")
    args = parser.parse_args()
    if args.dispatch:
        return dispatch_table(args.rounds)
    if args.precision:
        return precision_table(args.configs if args.configs != list(DEFAULT_CONFIGS) else PRECISION_CONFIGS,
                               args.rounds)
    print("| config | steps/call | XLA | ms / step | x one step per call, XLA off | trace+compile (s) |")
    print("|---|---:|---|---:|---:|---:|")
    for name in args.configs:
        work = POINT_WORK if name.startswith(("ring", "grid", "cube")) else IMAGE_WORK
        variants = {(n, jit): build(name, n, jit) for n in (1, work["loop"]) for jit in (False, True)}
        times = {key: [] for key in variants}
        for _ in range(args.rounds):
            for key, (trainer, _) in variants.items():
                times[key].append(ms_per_step(trainer, work["steps"]))
        base = min(times[(1, False)])
        for (n, jit), (_, setup) in variants.items():
            best = min(times[(n, jit)])
            print(f"| {name} | {n} | {'on' if jit else 'off'} | {best:.2f} | {base / best:.2f} | {setup:.1f} |", flush=True)


if __name__ == "__main__":
    main()
