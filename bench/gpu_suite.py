"""The GPU suite: checks that only a GPU can run, then what a step costs there, in one call.

    python bench/gpu_suite.py --out /tmp/gpu_suite            # on a GPU machine: ~8 minutes
    python bench/gpu_suite.py --smoke --out /tmp/gpu_suite    # anywhere, in seconds (CI runs it)

1. Checks (each passes, fails or is skipped with its reason):
   - ``nchw_conv``: a channels_first convolution, plain and spectrally normalised, equals the
     channels_last one on the transposed input (TensorFlow runs NCHW convolutions on GPUs only).
   - ``xla_loop/<config>``: every shipped image config trains a few steps with XLA in a loop of
     two steps per call (``Trainer.jit_compile``, ``steps_per_loop = 2``), mirrored over the GPUs
     when there are several, with finite losses; tfds sets are mocked, folders get random photos.
2. Timings: ms/step of ring, ring_unrolled10, mnist_gran3, cifar10_gran3, lsun_gran5 and
   stacked_mnist_dcgan for each precision (float32, mixed_bfloat16, mixed_float16), XLA off/on
   and steps_per_loop 1/100 (the shipped widths; tfds sets mocked), and the FID Inception's
   feature extraction in images/s (batch 50, XLA off/on). A variant that does not fit the time
   left (``--budget_s``) is reported as not measured rather than overrunning.

Writes ``suite.json`` and ``suite.md`` (the checks and a markdown table) under ``--out`` and exits
non-zero when a check fails. ``--smoke``: shrunk widths, mnist_gran1's XLA check, ring's timings in 2-step
loops only, a 4-image extraction without XLA, on whatever device there is.
"""
import argparse
import itertools
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

TIMED_CONFIGS = ("ring", "ring_unrolled10", "mnist_gran3", "cifar10_gran3", "lsun_gran5", "stacked_mnist_dcgan")
SMOKE_CONFIGS = ("ring",)  # timings; the smoke's XLA check trains mnist_gran1
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def gpus():
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def check_nchw_conv():
    """channels_first == channels_last on transposed inputs, plain and spectrally normalised."""
    if not gpus():
        return "skipped", "no GPU: TensorFlow's CPU kernels have no NCHW convolution"
    import keras

    from gran_tf.models.spectral_norm import SpectralNorm

    x = np.random.default_rng(0).normal(size=(2, 6, 10, 10)).astype(np.float32)
    worst = 0.0
    for wrap in (lambda layer: layer, SpectralNorm):
        first = wrap(keras.layers.Conv2D(4, 3, padding="same", data_format="channels_first"))
        last = wrap(keras.layers.Conv2D(4, 3, padding="same", data_format="channels_last"))
        first.build(x.shape), last.build((2, 10, 10, 6))
        last.set_weights(first.get_weights())
        nchw = np.asarray(first(x, training=False))
        nhwc = np.transpose(np.asarray(last(np.transpose(x, (0, 2, 3, 1)), training=False)), (0, 3, 1, 2))
        worst = max(worst, float(np.max(np.abs(nchw - nhwc))))
    return ("passed" if worst < 1e-4 else "failed"), f"max |NCHW - NHWC| = {worst:.2e} (float32 tolerance 1e-4)"


def check_xla_loop(name, work):
    from gran_tf.smoke import offline_trainer

    strategy = "mirrored" if len(gpus()) > 1 else "default"
    extra = ["Trainer.jit_compile = True", "Trainer.steps_per_loop = 2", f"make_strategy.name = '{strategy}'"]
    with offline_trainer(name, os.path.join(work, name, "run"), extra) as trainer:
        metrics = trainer.train_steps(4)
    finite = all(np.isfinite(v) for v in metrics.values())
    return ("passed" if finite else "failed"), f"{strategy} strategy, 4 steps: " + ", ".join(
        f"{k} {v:.3g}" for k, v in metrics.items())


def ms_per_step(name, precision, jit, loop, work, shrink, steps):
    """Milliseconds per step after a warm-up of two loops, or None when the precision does not
    apply (BRC under mixed float16)."""
    from gran_tf.errors import ConfigError
    from gran_tf.smoke import offline_trainer

    extra = [f"Trainer.precision = '{precision}'", f"Trainer.jit_compile = {jit}", f"Trainer.steps_per_loop = {loop}",
             "Trainer.log_every = 100000", "Trainer.sample_every = 100000", "Trainer.checkpoint_every = 100000"]
    path = tempfile.mkdtemp(prefix=f"{name}_", dir=work)
    try:
        with offline_trainer(name, os.path.join(path, "run"), extra, shrink=shrink) as trainer:
            trainer.train_steps(2 * loop)
            start = time.perf_counter()
            trainer.train_steps(steps)
            return 1000 * (time.perf_counter() - start) / steps
    except ConfigError as err:
        return str(err)


def extraction_rate(jit, images):
    import tensorflow as tf

    from gran_tf.eval.inception import load_fid_inception

    model = load_fid_inception()
    call = tf.function(lambda x: model(x, training=False), jit_compile=jit)
    call(images)
    start = time.perf_counter()
    for _ in range(3):
        np.asarray(call(images))
    return 3 * len(images) / (time.perf_counter() - start)


def run_checks(args, work):
    from gran_tf.smoke import image_configs

    checks = {"nchw_conv": check_nchw_conv()}
    for name in (["mnist_gran1"] if args.smoke else image_configs()):
        checks[f"xla_loop/{name}"] = check_xla_loop(name, work)
    return checks


def variants(loops):
    """(precision, XLA, steps per call) in the order they are measured: long loops first, then
    the precisions, XLA on before off, so a cut budget loses the least telling ones."""
    return sorted(itertools.product(PRECISIONS, (True, False), loops),
                  key=lambda v: (-v[2], PRECISIONS.index(v[0]), not v[1]))


def run_timings(args, work, deadline):
    """ms/step of every variant over every config (each variant across the configs before the
    next variant)."""
    configs = SMOKE_CONFIGS if args.smoke else TIMED_CONFIGS
    rows = []
    for precision, jit, loop in variants((2,) if args.smoke else (100, 1)):
        for name in configs:
            row = {"config": name, "precision": precision, "xla": jit, "steps_per_loop": loop}
            if time.monotonic() > deadline:
                rows.append({**row, "ms_per_step": None, "note": "not measured (time budget)"})
                continue
            value = ms_per_step(name, precision, jit, loop, work, args.smoke, 2 if args.smoke else max(loop, 20))
            rows.append({**row, "ms_per_step": value if isinstance(value, float) else None,
                         **({} if isinstance(value, float) else {"note": value})})
            print(rows[-1], flush=True)
    return rows


def markdown(result):
    lines = [f"# GPU suite ({result['device']})", "", "| check | result | detail |", "|---|---|---|"]
    lines += [f"| {name} | {status} | {detail} |" for name, (status, detail) in result["checks"].items()]
    lines += ["", "| config | precision | XLA | steps/call | ms/step |", "|---|---|---|---:|---:|"]
    for row in result["timings"]:
        value = f"{row['ms_per_step']:.2f}" if row["ms_per_step"] is not None else row.get("note", "")
        lines.append(f"| {row['config']} | {row['precision']} | {'on' if row['xla'] else 'off'} | "
                     f"{row['steps_per_loop']} | {value} |")
    lines += ["", "| FID Inception, batch | XLA | images/s |", "|---:|---|---:|"]
    lines += [f"| {row['batch']} | {'on' if row['xla'] else 'off'} | {row['images_per_s']:.1f} |"
              for row in result["extraction"]]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--smoke", action="store_true", help="seconds on any device (CI)")
    parser.add_argument("--budget_s", type=float, default=420, help="stop starting timings after this long")
    args = parser.parse_args()
    start = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    devices = gpus()
    result = {"device": ", ".join(d.name for d in devices) or "CPU (no GPU)", "smoke": args.smoke}
    with tempfile.TemporaryDirectory() as work:
        result["checks"] = run_checks(args, work)
        batch = 4 if args.smoke else 50
        images = np.random.default_rng(0).integers(0, 256, (batch, 32, 32, 3)).astype(np.float32)
        result["extraction"] = [{"batch": batch, "xla": jit, "images_per_s": extraction_rate(jit, images)}
                                for jit in ((False,) if args.smoke else (False, True))]
        result["timings"] = run_timings(args, work, start + args.budget_s)
    result["seconds"] = time.monotonic() - start
    with open(os.path.join(args.out, "suite.json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(args.out, "suite.md"), "w") as f:
        f.write(markdown(result))
    print(markdown(result))
    failed = [name for name, (status, _) in result["checks"].items() if status == "failed"]
    if failed:
        raise SystemExit(f"error: GPU suite checks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
