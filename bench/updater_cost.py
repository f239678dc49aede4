"""Milliseconds per generator update of each update rule, side by side, on the ring MLP setting.

    python bench/updater_cost.py [--batch_size 512] [--steps 20] [--rounds 3] [--solver_iters 10] [--xla]

gin/ring.gin models and Adam optimizers. Every rule does one ordinary D step per generator
update (BRC with inner_steps=1), so the rows differ only by the generator update's cost.
Each rule is traced and warmed up first; then the rules are timed in turn, --rounds times
over --steps steps each (interleaved, so a busy machine slows all alike); the fastest round
is reported (the least disturbed by other load on a shared machine). Prints a Markdown table.
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def rules(solver_iters):
    from gran_tf.training.updaters import BRC, Alternating, Unrolled

    return {
        "Alternating": lambda: Alternating(),
        "Unrolled K=1": lambda: Unrolled(steps=1),
        "Unrolled K=1, first order": lambda: Unrolled(steps=1, second_order=False),
        "Unrolled K=5": lambda: Unrolled(steps=5),
        "Unrolled K=5, first order": lambda: Unrolled(steps=5, second_order=False),
        "Unrolled K=10": lambda: Unrolled(steps=10),
        "Unrolled K=10, first order": lambda: Unrolled(steps=10, second_order=False),
        "BRC outer_product": lambda: BRC(hessian="outer_product", inner_steps=1),
        f"BRC cg ({solver_iters} iters)": lambda: BRC(hessian="cg", inner_steps=1, solver_iters=solver_iters),
        f"BRC neumann ({solver_iters} iters)": lambda: BRC(hessian="neumann", inner_steps=1,
                                                           solver_iters=solver_iters, neumann_lr=0.1),
    }


def build_trainers(batch_size, solver_iters, root, xla=False):
    from gran_tf import config
    from gran_tf.training.trainer import Trainer

    trainers = {}
    for name, make in rules(solver_iters).items():
        for jit in (False, True) if xla else (False,):
            config.parse(["ring"], [f"Trainer.batch_size = {batch_size}", f"Trainer.jit_compile = {jit}"])
            label = f"{name} + XLA" if jit else name
            trainers[label] = Trainer(model_dir=os.path.join(root, str(len(trainers))), updater=make())
    return trainers


def seconds_per_step(trainer, steps):
    start = time.perf_counter()
    trainer.train_steps(steps)  # returns floats: waits for the last step
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per rule and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--solver_iters", type=int, default=10)
    parser.add_argument("--xla", action="store_true", help="also time every rule with jit_compile=True")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as root:
        trainers = build_trainers(args.batch_size, args.solver_iters, root, args.xla)
        compile_s = {}
        for name, trainer in trainers.items():
            start = time.perf_counter()
            trainer.train_steps(2)  # tracing and warm-up
            compile_s[name] = time.perf_counter() - start
        times = {name: [] for name in trainers}
        for _ in range(args.rounds):
            for name, trainer in trainers.items():
                times[name].append(seconds_per_step(trainer, args.steps))

    base = min(times["Alternating"])
    print(f"batch {args.batch_size}, {args.steps} steps x {args.rounds} rounds, fastest round\n")
    print("| rule | ms / G update | x Alternating | trace + 2 warm-up steps (s) |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        ms = 1000 * min(values)
        print(f"| {name} | {ms:.1f} | {ms / (1000 * base):.2f} | {compile_s[name]:.1f} |")


if __name__ == "__main__":
    main()
