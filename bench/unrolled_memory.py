"""Peak memory and time per training step of second-order Unrolled, remat off and on (#29 §2).

    python bench/unrolled_memory.py [--ks 1 5 10 20] [--gin_file stacked_mnist_dcgan] [--d_kernels 2 4 8]
                                    [--repeats 5] [--json bench_unrolled_memory.json]

The stacked-MNIST DCGAN of --gin_file (networks, Adam settings and batch size 128 from the gin
file; D = 1/4 G by default, --d_kernels 4 8 16 for D = 1/2 G) trains with
``Unrolled(steps=K, remat=...)`` (second order through D's Adam, the value objective,
simultaneous updates: base/stacked_mnist_unrolled.gin) on a fixed random batch of the data's
shape (28x28x3 in [-1, 1]), so no dataset is needed. Each (K, remat) variant is built from the
same seed, traced and warmed up by one step, then:

- memory: ``tf.config.experimental.reset_memory_stats`` / ``get_memory_info`` of the device
  around one step; "step peak" is the peak minus what was allocated before the step (weights,
  optimizer state, the batch), i.e. what the step itself holds at its fullest. On the CPU the
  script sets TF_CPU_ALLOCATOR_USE_BFC=true (unless set): oneDNN's default CPU allocator counts
  only allocations of 256 KiB and more (D's activations here are smaller), without oneDNN the
  CPU allocator keeps no statistics at all;
- time: the median of --repeats steps, the variants of one K interleaved step by step so that
  a busy machine slows both alike.

Both variants of a K take the same first step from the same weights, so their G losses must
agree (printed as a check). Prints a markdown table and writes the numbers as JSON.
"""
import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")  # every CPU allocation counted (docstring)


def build(gin_file, d_kernels, k, remat, seed=0):
    import gin
    import keras

    from gran_tf import config
    from gran_tf.models.dcgan import DCGANDiscriminator, DCGANGenerator
    from gran_tf.training.gan_model import GANModel
    from gran_tf.training.updaters import Unrolled

    params = [f"DCGANDiscriminator.kernels = {tuple(d_kernels)}"] if d_kernels else []
    config.parse([gin_file], params)
    batch = gin.query_parameter("Trainer.batch_size")

    def adam(scope):
        return keras.optimizers.Adam(**{name: gin.query_parameter(f"{scope}/keras.optimizers.Adam.{name}")
                                        for name in ("learning_rate", "beta_1", "beta_2")})

    keras.utils.set_random_seed(seed)
    shape = (28, 28, 3)
    gan = GANModel(DCGANGenerator(image_shape=shape), DCGANDiscriminator(image_shape=shape),
                   updater=Unrolled(steps=k, remat=remat), seed=seed)
    gan.compile(g_optimizer=adam("g"), d_optimizer=adam("d"))
    return gan, batch, shape


def memory_info(device):
    import tensorflow as tf

    return tf.config.experimental.get_memory_info(device)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--gin_file", default="stacked_mnist_dcgan")
    parser.add_argument("--d_kernels", type=int, nargs="*", default=None, help="default: the gin file's")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per variant (median)")
    parser.add_argument("--json", default="bench_unrolled_memory.json")
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
    rows = []
    for k in args.ks:
        variants = {}
        for remat in (False, True):
            gan, batch, shape = build(args.gin_file, args.d_kernels, k, remat)
            x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (batch, *shape)), tf.float32)
            step = tf.function(gan.update)
            start = time.perf_counter()
            first = {name: float(v) for name, v in step((x,)).items()}  # trace + warm-up
            trace_s = time.perf_counter() - start
            variants[remat] = dict(gan=gan, step=step, x=x, first=first, trace_s=trace_s, times=[])
        for remat, v in variants.items():  # memory: one step each, alone
            tf.config.experimental.reset_memory_stats(device)
            before = memory_info(device)["current"]
            float(v["step"]((v["x"],))["g_loss"])
            v["peak"] = memory_info(device)["peak"]
            v["step_peak"] = v["peak"] - before
        for _ in range(args.repeats):  # time: interleaved
            for v in variants.values():
                start = time.perf_counter()
                float(v["step"]((v["x"],))["g_loss"])
                v["times"].append(time.perf_counter() - start)
        for remat, v in variants.items():
            rows.append(dict(k=k, remat=remat, step_peak_mib=v["step_peak"] / 2**20, peak_mib=v["peak"] / 2**20,
                             median_ms=1000 * statistics.median(v["times"]), times_ms=[1000 * t for t in v["times"]],
                             trace_s=v["trace_s"], first_g_loss=v["first"]["g_loss"]))
            print(f"K={k} remat={remat}: step peak {rows[-1]['step_peak_mib']:.1f} MiB, "
                  f"median {rows[-1]['median_ms']:.0f} ms, first g_loss {v['first']['g_loss']:.7f}", flush=True)
        del variants

    by = {(r["k"], r["remat"]): r for r in rows}
    k0, k_max = min(args.ks), max(args.ks)
    print(f"\n{args.gin_file}, D kernels {args.d_kernels or 'of the gin file'}, {device}, TF {tf.__version__}, "
          f"median of {args.repeats} steps\n")
    print("| K | step peak MiB, remat off | remat on | on / off | ms / step, remat off | remat on | on / off |"
          " first ℓ_G equal |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for k in args.ks:
        off, on = by[(k, False)], by[(k, True)]
        print(f"| {k} | {off['step_peak_mib']:.1f} | {on['step_peak_mib']:.1f} | "
              f"{on['step_peak_mib'] / off['step_peak_mib']:.2f} | {off['median_ms']:.0f} | {on['median_ms']:.0f} | "
              f"{on['median_ms'] / off['median_ms']:.2f} | {off['first_g_loss'] == on['first_g_loss']} |")
    memory_ratio = by[(k_max, True)]["step_peak_mib"] / by[(k0, True)]["step_peak_mib"]
    time_ratio = max(by[(k, True)]["median_ms"] / by[(k, False)]["median_ms"] for k in args.ks)
    print(f"\nremat on: step peak K={k_max} / K={k0} = {memory_ratio:.2f} (target <= 1.5); "
          f"remat time / remat off time, worst K = {time_ratio:.2f} (target <= 1.5)")
    with open(args.json, "w") as f:
        json.dump(dict(gin_file=args.gin_file, d_kernels=args.d_kernels, device=device, tf=tf.__version__,
                       machine=platform.machine(), cpus=os.cpu_count(), repeats=args.repeats, rows=rows,
                       memory_ratio_remat=memory_ratio, worst_time_ratio=time_ratio), f, indent=1)


if __name__ == "__main__":
    main()
