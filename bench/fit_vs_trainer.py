"""Milliseconds per training step: Keras ``GANModel.fit`` against ``Trainer.train_steps`` at equal
steps per call (fit's ``steps_per_execution`` = the Trainer's ``steps_per_loop``).

    python bench/fit_vs_trainer.py [--configs ring ring_unrolled10 mnist_gran3] [--rounds 3]

Both sides of a config are built once in this process, warmed up, and timed in interleaved rounds
(the fastest round counts), so each row's ratio is measured side by side. fit runs one epoch of
``steps`` steps per round on the run's own endless dataset, with no callbacks (verbose=0).
Target (#27): fit within 10% of the Trainer (ratio <= 1.10).
"""
import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from gran_tf import config
from gran_tf.training.trainer import Trainer

WORK = {"points": dict(steps=200, loop=50), "images": dict(steps=20, loop=10)}


def build(name, loop):
    config.parse([name], [f"Trainer.steps_per_loop = {loop}", "Trainer.log_every = 1000",
                          "Trainer.sample_every = 1000", "Trainer.checkpoint_every = 1000"])
    return Trainer(model_dir=tempfile.mkdtemp(prefix=f"bench_{name}_"))


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(name, rounds):
    probe = build(name, 1)
    work = WORK["points" if probe.spec.kind == "points" else "images"]
    steps, loop = work["steps"], work["loop"]
    trainer, fitted = build(name, loop), build(name, loop)
    dataset = fitted.data.make_dataset(fitted.batch_size, fitted.seed)
    run_trainer = lambda: trainer.train_steps(steps)  # noqa: E731
    run_fit = lambda: fitted.gan.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)  # noqa: E731
    run_trainer(), run_fit()  # trace and warm up
    best = {"trainer": float("inf"), "fit": float("inf")}
    for _ in range(rounds):
        best["trainer"] = min(best["trainer"], timed(run_trainer))
        best["fit"] = min(best["fit"], timed(run_fit))
    ms = {k: 1000 * v / steps for k, v in best.items()}
    return f"| {name} | {loop} | {ms['trainer']:.2f} | {ms['fit']:.2f} | {ms['fit'] / ms['trainer']:.3f} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["ring", "ring_unrolled10", "mnist_gran3"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| config | steps per call | Trainer ms/step | fit ms/step | fit / Trainer |")
    print("|---|---|---|---|---|")
    for name in args.configs:
        print(bench(name, args.rounds), flush=True)


if __name__ == "__main__":
    main()
