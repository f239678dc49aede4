"""Where the ring step's time goes (#29 §1): data, the update's kernels, the two optimizers, the
in-graph loop and the per-call dispatch, for the Unrolled GAN ring setting of bench/peer_unrolled.py.

    python bench/ring_step_profile.py [--ks 0 10] [--steps 200] [--rounds 5] [--threads 1]

For each K, one Trainer (peer_unrolled's bindings: G 256-128-128-2, D 2-128-128-1, batch 512,
second-order unrolled Adam, D first, G's own loss at θD^K) is timed in these programs, each in
interleaved rounds (the fastest round counts), all in milliseconds per step:

- ``train, 1 step/call``: ``Trainer.train_steps`` with ``steps_per_loop = 1`` (the shipped
  point configs' setting before #29);
- ``train, 50 steps/call``: the same with ``steps_per_loop = 50`` (one call per 50 steps);
- ``data``: 50 ``next()`` of the Trainer's distributed iterator in one ``tf.function`` loop;
- ``update, fixed batch``: ``GANModel.update`` on one batch, 50 times in one ``tf.function`` loop
  (the kernels of both players' steps, optimizers included, no data);
- ``optimizers``: both players' Adam ``apply_gradients`` on constant gradients, 50 times in one
  loop;
- ``latent draws``: the step's two latents (2 x batch x z_dim) from ``random_streams.standard_normal``
  (Box–Muller of Philox uniforms), and, for comparison, ``tf.random.stateless_normal``'s kernel,
  which drew them before.

The derived rows split the 1-step/call time: dispatch = 1 step/call − 50 steps/call; data; the
optimizers; the update's other kernels = update − optimizers; loop overhead = 50 steps/call −
data − update (what the in-graph loop and the iterator hand-off add). Prints a markdown table.

``--ops N`` adds, per K, the N op types of most kernel time in a ``tf.profiler`` trace of
``--steps`` steps of the 50-steps/call trainer (the executor's compute threads only; tf.data's
own threads run beside them): ms per step, ops per step and the share of all kernel time.
"""
import collections
import glob
import tempfile
import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_unrolled import build_gran  # noqa: E402  (bench/ helper: the ring trainer of the peer setting)

from gran_tf import random_streams  # noqa: E402

LOOP = 50


def looped(body):
    """A tf.function running ``body()`` LOOP times in-graph; returns its last result."""
    import tensorflow as tf

    @tf.function
    def run():
        result = body()
        for _ in tf.range(LOOP - 1):
            result = body()
        return result

    return run


def programs(k, steps):
    """{name: a callable timing one round, in ms per step} for one K."""
    import tensorflow as tf

    one, fifty = build_gran(k, 1, warmup=2 * LOOP), build_gran(k, LOOP, warmup=2 * LOOP)
    iterator = fifty._current_iterator()
    batch = next(iterator)
    gan = fifty.gan
    pairs = [(tf.zeros_like(v), v) for v in gan.generator.trainable_variables], \
            [(tf.zeros_like(v), v) for v in gan.discriminator.trainable_variables]
    data = looped(lambda: tf.nest.flatten(next(iterator))[0][0, 0])
    update = looped(lambda: gan.update(batch))
    optimizers = looped(lambda: [gan.g_optimizer.apply_gradients(pairs[0]), gan.d_optimizer.apply_gradients(pairs[1]),
                                 tf.constant(0.0)][-1])
    z_shape = [fifty.batch_size, *gan.generator.z_shape]
    draws = tf.Variable(0, dtype=tf.int64)  # a fresh key per draw: nothing for Grappler to fold

    def two_latents(draw):
        return lambda: [draw(z_shape, tf.stack([tf.constant(0, tf.int64), draws.assign_add(1)]))[0, 0]
                        for _ in range(2)][-1]

    latents = looped(two_latents(random_streams.standard_normal))
    old_latents = looped(two_latents(tf.random.stateless_normal))
    for fn in (data, update, optimizers, latents, old_latents):  # trace
        tf.nest.map_structure(lambda t: t.numpy(), fn())

    def per_step(fn, calls):
        start = time.perf_counter()
        for _ in range(calls):
            result = fn()
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, result)
        return 1000 * (time.perf_counter() - start) / (calls * LOOP)

    return {
        "train, 1 step/call": lambda: 1000 * seconds(one, steps) / steps,
        "train, 50 steps/call": lambda: 1000 * seconds(fifty, steps) / steps,
        "data": lambda: per_step(data, steps // LOOP),
        "update, fixed batch": lambda: per_step(update, steps // LOOP),
        "optimizers": lambda: per_step(optimizers, steps // LOOP),
        "latent draws": lambda: per_step(latents, steps // LOOP),
        "latent draws, tf.random.stateless_normal": lambda: per_step(old_latents, steps // LOOP),
    }


def op_times(trainer, steps):
    """{op type: (ms per step, ops per step)} of the executor's compute threads in a tf.profiler
    trace of ``steps`` training steps."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    logdir = tempfile.mkdtemp(prefix="ring_step_trace_")
    tf.profiler.experimental.start(logdir)
    trainer.train_steps(steps)
    tf.profiler.experimental.stop()
    space = xplane_pb2.XSpace()
    with open(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0], "rb") as f:
        space.ParseFromString(f.read())
    ms, count = collections.Counter(), collections.Counter()
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" in name and "::" not in name:  # "<node>:<op type>", not "ExecutorState::Process"
                    op = name.rsplit(":", 1)[1]
                    ms[op] += event.duration_ps / 1e9 / steps
                    count[op] += 1 / steps
    return {op: (ms[op], count[op]) for op in ms}


def print_op_table(k, times, top):
    total = sum(t for t, _ in times.values())
    print(f"\nK = {k}: kernel time by op type, {total:.2f} ms per step in all\n")
    print("| op type | ms per step | ops per step | share |")
    print("|---|---:|---:|---:|")
    for op, (t, n) in sorted(times.items(), key=lambda item: -item[1][0])[:top]:
        print(f"| {op} | {t:.3f} | {n:.1f} | {100 * t / total:.1f} % |")


def seconds(trainer, steps):
    start = time.perf_counter()
    trainer.train_steps(steps)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ks", type=int, nargs="+", default=[0, 10])
    parser.add_argument("--steps", type=int, default=200, help="steps per round (a multiple of 50)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="TF intra- and inter-op threads; 0 = TF's default")
    parser.add_argument("--ops", type=int, default=0, help="also print the N op types of most kernel time")
    args = parser.parse_args()
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    columns, ops = {}, {}
    for k in args.ks:
        timed = programs(k, args.steps)
        if args.ops:
            ops[k] = op_times(build_gran(k, LOOP, warmup=2 * LOOP), args.steps)
        best = {name: float("inf") for name in timed}
        for _ in range(args.rounds):
            for name, fn in timed.items():
                best[name] = min(best[name], fn())
        best["= dispatch per call"] = best["train, 1 step/call"] - best["train, 50 steps/call"]
        best["= update kernels without optimizers"] = best["update, fixed batch"] - best["optimizers"]
        best["= loop and hand-off overhead"] = (best["train, 50 steps/call"] - best["data"]
                                                - best["update, fixed batch"])
        columns[k] = best
        print(f"K = {k}: " + ", ".join(f"{n} {v:.2f}" for n, v in best.items()), file=sys.stderr, flush=True)
    names = list(next(iter(columns.values())))
    print("| ms per step | " + " | ".join(f"K = {k}" for k in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{columns[k][name]:.2f}" for k in columns) + " |")
    for k, times in ops.items():
        print_op_table(k, times, args.ops)


if __name__ == "__main__":
    main()
