"""Milliseconds per generator update, and peak memory, of each update rule side by side.

    python bench/updater_cost.py [--gin_file ring] [--rules unrolled|brc|all] [--batch_size N]
                                 [--steps 20] [--rounds 3] [--solver_iters 10] [--xla] [--memory]

Every rule runs on the models, data and optimizers of --gin_file. Rules that take
discriminator steps of their own (BRC's inner steps) take one, so the rows differ only by
the generator update's cost. Each rule is traced and warmed up first; then the rules are
timed in turn, --rounds times over --steps steps each (interleaved, so a busy machine slows
all alike); the fastest round is reported (the least disturbed by other load).
--memory adds each rule's step memory: the summed size of every tensor its traced step
produces (MiB). TensorFlow keeps no allocator statistics on CPU, and a process's peak
resident memory is dominated by the runtime and the input pipeline (it came out identical for
every rule), so this count stands in for the paper's memory column; it is an upper bound on
what one update holds at once.
"""
import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def unrolled_rules():
    from gran_tf.training.updaters import Unrolled

    table = {"Alternating (K=0)": lambda: Unrolled(steps=0)}
    for k in (1, 5, 10):
        table[f"Unrolled K={k}"] = lambda k=k: Unrolled(steps=k)
        table[f"Unrolled K={k}, first order"] = lambda k=k: Unrolled(steps=k, second_order=False)
    return table


def brc_rules(solver_iters):
    from gran_tf.training.updaters import BRC, Unrolled
    from gran_tf.training.updaters.brc import lwcl_brc

    return {
        "Alternating (K=0)": lambda: Unrolled(steps=0),
        "BRC outer_product": lambda: BRC(hessian="outer_product", inner_steps=1),
        "BRC woodbury (rank 64)": lambda: BRC(hessian="woodbury", inner_steps=1, rank=64),
        f"BRC cg ({solver_iters} iters)": lambda: BRC(hessian="cg", inner_steps=1, solver_iters=solver_iters),
        f"BRC neumann ({solver_iters} iters)": lambda: BRC(hessian="neumann", inner_steps=1,
                                                           solver_iters=solver_iters, neumann_lr=0.1),
        f"BRC cg ({solver_iters} iters), forward-over-reverse": lambda: BRC(
            hessian="cg", inner_steps=1, solver_iters=solver_iters, products="forward"),
        f"BRC neumann ({solver_iters} iters), forward-over-reverse": lambda: BRC(
            hessian="neumann", inner_steps=1, solver_iters=solver_iters, neumann_lr=0.1, products="forward"),
        "Unrolled K=5 (RHG)": lambda: Unrolled(steps=5),
        # BRC as its authors run it: 1 committed D step, K = 10 look-ahead steps, the response there
        "BRC authors' (lwcl, K=10 look-ahead)": lambda: lwcl_brc(look_ahead_steps=10),
        "BRC authors' look-ahead only (c = 0)": lambda: lwcl_brc(look_ahead_steps=10, response=False),
        "Unrolled K=10 (RHG)": lambda: Unrolled(steps=10),
    }


def rules(which, solver_iters):
    if which == "unrolled":
        return unrolled_rules()
    if which == "brc":
        return brc_rules(solver_iters)
    return {**unrolled_rules(), **brc_rules(solver_iters)}


def make_trainer(gin_file, batch_size, make_updater, model_dir, jit=False):
    from gran_tf import config
    from gran_tf.training.trainer import Trainer

    params = [f"Trainer.jit_compile = {jit}", "Trainer.eval_every = 0"]
    if batch_size:
        params.append(f"Trainer.batch_size = {batch_size}")
    config.parse([gin_file], params)
    return Trainer(model_dir=model_dir, updater=make_updater())


def seconds_per_step(trainer, steps):
    start = time.perf_counter()
    trainer.train_steps(steps)  # returns floats: waits for the last step
    return (time.perf_counter() - start) / steps


def step_tensor_mib(trainer):
    """Σ over the traced step's ops (nested function graphs included) of their outputs' sizes."""
    graph = trainer._train_step.get_concrete_function(next(trainer._current_iterator())).graph
    graphs, seen, total = [graph], set(), 0
    while graphs:
        g = graphs.pop()
        for op in g.get_operations():
            for t in op.outputs:
                if t.shape.is_fully_defined() and t.dtype.is_numpy_compatible:
                    total += t.shape.num_elements() * t.dtype.size
        for f in getattr(g, "_functions", {}).values():
            if getattr(f, "graph", None) is not None and id(f.graph) not in seen:
                seen.add(id(f.graph))
                graphs.append(f.graph)
    return total / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gin_file", default="ring")
    parser.add_argument("--rules", choices=("unrolled", "brc", "all"), default="all")
    parser.add_argument("--batch_size", type=int, default=None, help="default: the gin file's")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per rule and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--solver_iters", type=int, default=10)
    parser.add_argument("--xla", action="store_true", help="also time every rule with jit_compile=True")
    parser.add_argument("--memory", action="store_true", help="tensor memory of each rule's traced step")
    args = parser.parse_args()

    table = rules(args.rules, args.solver_iters)
    with tempfile.TemporaryDirectory() as root:
        trainers = {}
        for name, make in table.items():
            for jit in (False, True) if args.xla else (False,):
                label = f"{name} + XLA" if jit else name
                trainers[label] = make_trainer(args.gin_file, args.batch_size, make,
                                               os.path.join(root, str(len(trainers))), jit)
        compile_s = {}
        for name, trainer in trainers.items():
            start = time.perf_counter()
            trainer.train_steps(2)  # tracing and warm-up
            compile_s[name] = time.perf_counter() - start
        times = {name: [] for name in trainers}
        for _ in range(args.rounds):
            for name, trainer in trainers.items():
                times[name].append(seconds_per_step(trainer, args.steps))
        memory = {name: step_tensor_mib(trainers[name]) for name in table} if args.memory else {}

    base = min(times["Alternating (K=0)"])
    batch = args.batch_size or next(iter(trainers.values())).batch_size
    print(f"{args.gin_file}, batch {batch}, {args.steps} steps x {args.rounds} rounds, fastest round\n")
    header = "| rule | ms / G update | G updates / s | x Alternating | trace + 2 warm-up steps (s) |"
    if memory:
        header += " step tensors (MiB) | x Alternating |"
    print(header)
    print("|---" + "|---:" * (header.count("|") - 2) + "|")
    for name, values in times.items():
        ms = 1000 * min(values)
        row = f"| {name} | {ms:.1f} | {1000 / ms:.1f} | {ms / (1000 * base):.2f} | {compile_s[name]:.1f} |"
        if memory:
            mib = memory.get(name)
            row += f" {mib:.1f} | {mib / memory['Alternating (K=0)']:.2f} |" if mib else " | |"
        print(row)


if __name__ == "__main__":
    main()
