"""What FID costs on this machine (issue #28 §5): images/s of Inception feature extraction by batch
size, eager vs XLA, float32 vs bfloat16 (with the features' error against float32), and the cost
of a training-time FID evaluation before and after the real statistics are cached, and of FID's
matrix square root (TF-GAN's SVDs vs the eigensolves gran_tf uses).

    python bench/fid_cost.py [--batch_sizes 16 50 100] [--batches 2] [--n 200] [--image_size 32]

Extraction: random [0, 255] RGB images of --image_size (resized inside the network to 299x299),
each setting warmed up with one batch (XLA: its compilation), then --batches batches timed.
bfloat16 builds the port under Keras' "mixed_bfloat16" policy (float32 weights, bfloat16
compute); its error is ‖f_bf16 − f_fp32‖ / ‖f_fp32‖ per image, mean and max. Training-time FID:
``run_metrics.evaluate(ctx, ["fid"])`` of a small DCGAN generator on MNIST with n samples against
n test images, in a fresh cache (first: real and generated features) then again (cached real
statistics: generated features only).
"""
import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def seconds(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def images_per_second(call, images, batches):
    call(images)  # warm-up: tracing, XLA compilation
    return batches * len(images) / sum(seconds(call, images) for _ in range(batches))


def networks():
    """name -> (callable on a batch, Keras model) for fp32 eager, fp32 XLA and bfloat16 eager."""
    import keras
    import tensorflow as tf

    from gran_tf.eval import inception

    fp32 = inception.load_fid_inception()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        bf16 = inception.build_fid_inception()
    finally:
        keras.config.set_dtype_policy(previous)
    inception.set_converted_weights(bf16, inception.cached_weights_path())
    xla = tf.function(lambda x: fp32(x, training=False), jit_compile=True)
    return {"float32 eager": lambda x: np.asarray(fp32.predict_on_batch(x)),
            "float32 XLA": lambda x: np.asarray(xla(tf.constant(x))),
            "bfloat16 eager": lambda x: np.asarray(bf16.predict_on_batch(x), np.float32)}


def extraction_table(batch_sizes, batches, image_size):
    calls = networks()
    rng = np.random.default_rng(0)
    print(f"\n| batch | {' | '.join(calls)} | XLA / eager | bf16 / fp32 |\n|---:|" + "---:|" * (len(calls) + 2))
    for batch in batch_sizes:
        images = rng.integers(0, 256, (batch, image_size, image_size, 3)).astype(np.float32)
        rates = {name: images_per_second(call, images, batches) for name, call in calls.items()}
        cells = " | ".join(f"{rate:.1f}" for rate in rates.values())
        print(f"| {batch} | {cells} | {rates['float32 XLA'] / rates['float32 eager']:.2f} | "
              f"{rates['bfloat16 eager'] / rates['float32 eager']:.2f} |", flush=True)
    images = rng.integers(0, 256, (max(batch_sizes), image_size, image_size, 3)).astype(np.float32)
    reference = calls["float32 eager"](images)
    for name in ("float32 XLA", "bfloat16 eager"):
        error = np.linalg.norm(calls[name](images) - reference, axis=1) / np.linalg.norm(reference, axis=1)
        print(f"{name} features vs float32 eager on {len(images)} images: relative error mean "
              f"{error.mean():.2e}, max {error.max():.2e}")


def fid_math_seconds(n=3000, dim=2048):
    """Seconds of Tr((Σa Σb)^½) at D = 2048: TF-GAN's SVD route vs gran_tf's eigensolves."""
    import tensorflow as tf

    from gran_tf.eval import tfgan_math

    rng = np.random.default_rng(0)
    sa, sb = (np.cov(rng.normal(size=(n, dim)), rowvar=False) for _ in range(2))
    tfgan = tfgan_math.classifier_metrics().trace_sqrt_product
    tfgan(tf.constant(sa), tf.constant(sb))  # warm-up
    theirs = seconds(lambda: tfgan(tf.constant(sa), tf.constant(sb)).numpy())
    ours = seconds(tfgan_math.trace_sqrt_product, sa, sb)
    print(f"\nFID matrix square root at D = {dim}: TF-GAN's SVDs {theirs:.1f} s, eigensolves {ours:.1f} s "
          f"({theirs / ours:.1f}x)")


def training_time_fid(n):
    from gran_tf.data import DataRecord
    from gran_tf.eval import run_metrics
    from gran_tf.models import DCGANGenerator

    generator = DCGANGenerator(image_shape=(28, 28, 1), kernels=(16, 8, 1), z_dim=8, filter_size=3)
    weights = os.environ.get("GRAN_TF_CACHE")
    with tempfile.TemporaryDirectory() as cache:
        from gran_tf.eval import inception

        os.makedirs(os.path.join(cache, "inception"))
        os.symlink(inception.cached_weights_path(), os.path.join(cache, "inception", inception.WEIGHTS_FILE))
        os.environ["GRAN_TF_CACHE"] = cache
        try:
            context = lambda: run_metrics.EvalContext(generator, DataRecord("mnist"), n_samples=n)  # noqa: E731
            first = seconds(run_metrics.evaluate, context(), ["fid"])
            again = seconds(run_metrics.evaluate, context(), ["fid"])
        finally:
            os.environ.pop("GRAN_TF_CACHE") if weights is None else os.environ.update(GRAN_TF_CACHE=weights)
    print(f"\ntraining-time FID, {n} samples vs {n} MNIST test images: {first:.1f} s with the real "
          f"features computed, {again:.1f} s with them cached ({first / again:.2f}x)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[16, 50, 100])
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--image_size", type=int, default=32)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU cores")
    extraction_table(args.batch_sizes, args.batches, args.image_size)
    fid_math_seconds()
    training_time_fid(args.n)


if __name__ == "__main__":
    main()
