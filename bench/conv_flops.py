"""Achieved GFLOP/s of the conv configs' training step against the CPU's fp32 peak.

    python bench/conv_flops.py [--configs mnist_gran1 mnist_gran3 mnist_gran5 stacked_mnist_dcgan]
                               [--rounds 3] [--peak_ghz 2.6] [--cores 2]

FLOPs of one training step, two ways:
  analytic  every Conv2D / Conv2DTranspose / Dense call of one eager forward pass of G (on a
            batch of latents) and of D (on a batch of images) is recorded with its shapes
            (MACs = output pixels x kh x kw x c_in x c_out for a conv, input pixels x the
            same for a transposed conv, rows x in x out for a dense layer); eager runs
            GRAN's tf.while_loop T times and its tf.cond on the branch taken, so every
            drawing step is counted. FLOPs = 2 x MACs per forward pass, and a backward pass
            counts 2x its forward (input and weight gradients). One Alternating step
            (n_disc = 1) is then: D step = G fwd (no backward) + D fwd/bwd on real and fake
            (2B rows), G step = G fwd/bwd + D fwd/bwd (B rows), i.e.
            2 x [G(B) + 3 D(2B) + 3 G(B) + 3 D(B)] in MACs. Elementwise work (BN, activations,
            Adam) is left out.
  profiler  tf.compat.v1.profiler's float-op count of the traced step (nested function graphs
            once each). It counts a while loop's body once and skips ops of unknown shape,
            so it undercounts GRAN (its drawing loop); it is a cross-check for DCGAN.

Time per step: Trainer.steps_per_loop 10, XLA off, fastest of --rounds interleaved rounds of 10
steps (bench/loop_throughput.py's build and timing). Peak fp32 = cores x GHz x 2 FMA pipes x 16
fp32 lanes (AVX-512) x 2 FLOPs per FMA.
"""
import argparse
import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loop_throughput import build, ms_per_step  # noqa: E402

DEFAULT_CONFIGS = ("mnist_gran1", "mnist_gran3", "mnist_gran5", "stacked_mnist_dcgan")


@contextlib.contextmanager
def mac_counter():
    """Records the MACs of every Conv2D, Conv2DTranspose and Dense call made inside."""
    import numpy as np
    from keras import layers

    record = []

    def wrap(cls, macs):
        original = cls.call

        def call(self, inputs, *args, **kwargs):
            out = original(self, inputs, *args, **kwargs)
            record.append((self.name, macs(self, tuple(inputs.shape), tuple(out.shape))))
            return out

        cls.call = call
        return cls, original

    def conv(layer, x, y):  # output pixels x kernel volume x c_out
        return int(np.prod(y[:-1])) * int(np.prod(layer.kernel.shape))

    def deconv(layer, x, y):  # input pixels scatter one kernel each
        return int(np.prod(x[:-1])) * int(np.prod(layer.kernel.shape))

    def dense(layer, x, y):
        return int(np.prod(x[:-1])) * int(np.prod(layer.kernel.shape))

    patched = [wrap(layers.Conv2DTranspose, deconv), wrap(layers.Conv2D, conv), wrap(layers.Dense, dense)]
    try:
        yield record
    finally:
        for cls, original in patched:
            cls.call = original


def forward_macs(model, x):
    with mac_counter() as record:
        model(x, training=True)
    return sum(m for _, m in record), len(record)


def analytic_step_flops(trainer):
    import tensorflow as tf

    b = trainer.batch_size
    z = tf.random.normal([b, *trainer.generator.z_shape])
    g_macs, g_calls = forward_macs(trainer.generator, z)
    x = trainer.generator(z, training=False)
    d_macs, d_calls = forward_macs(trainer.discriminator, x)  # D is per-row: D(2B) = 2 D(B)
    n_disc = getattr(trainer.updater, "n_disc", 1)
    macs = n_disc * (g_macs + 3 * 2 * d_macs) + 3 * g_macs + 3 * d_macs
    return 2 * macs, dict(g_fwd=2 * g_macs, d_fwd=2 * d_macs, g_calls=g_calls, d_calls=d_calls)


def profiler_step_flops(trainer):
    """tf.compat.v1.profiler float ops of the traced one-step function and each function graph
    it calls (each counted once)."""
    import tensorflow as tf

    graph = trainer._train_step.get_concrete_function(next(trainer._current_iterator())).graph
    seen, total, graphs = set(), 0, [graph]
    while graphs:
        g = graphs.pop()
        opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        opts["output"] = "none"
        total += tf.compat.v1.profiler.profile(g, options=opts).total_float_ops
        for f in getattr(g, "_functions", {}).values():
            fg = getattr(f, "graph", None)
            if fg is not None and id(fg) not in seen:
                seen.add(id(fg))
                graphs.append(fg)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per config and round")
    parser.add_argument("--loop", type=int, default=10, help="Trainer.steps_per_loop")
    parser.add_argument("--peak_ghz", type=float, default=2.6, help="clock for the peak (lscpu / cpu MHz)")
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    args = parser.parse_args()
    peak = args.cores * args.peak_ghz * 2 * 16 * 2  # GFLOP/s

    trainers = {name: build(name, args.loop, False)[0] for name in args.configs}
    times = {name: [] for name in trainers}
    for _ in range(args.rounds):
        for name, trainer in trainers.items():
            times[name].append(ms_per_step(trainer, args.steps))
    print(f"peak fp32 = {args.cores} cores x {args.peak_ghz} GHz x 2 FMA x 16 lanes x 2 = {peak:.0f} GFLOP/s; "
          f"steps_per_loop {args.loop}, {args.steps} steps x {args.rounds} interleaved rounds, fastest round\n")
    print("| config | batch | G fwd GFLOP | D fwd GFLOP | step GFLOP (analytic) | step GFLOP (profiler) "
          "| ms / step | GFLOP/s | % of peak |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, trainer in trainers.items():
        flops, parts = analytic_step_flops(trainer)
        prof = profiler_step_flops(trainer)
        ms = min(times[name])
        rate = flops / ms / 1e6
        print(f"| {name} | {trainer.batch_size} | {parts['g_fwd'] / 1e9:.3f} | {parts['d_fwd'] / 1e9:.3f} "
              f"| {flops / 1e9:.2f} | {prof / 1e9:.2f} | {ms:.1f} | {rate:.1f} | {100 * rate / peak:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
