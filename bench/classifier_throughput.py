"""Images/s of the MNIST digit classifier as evaluation runs it (``DigitClassifier``, traced)
against eager calls of the same Keras model, side by side, on this CPU.

    python bench/classifier_throughput.py [--images 20000] [--batch_size 1000] [--rounds 2]

Stacked-MNIST mode counting classifies 3 crops of every sample (76,800 for 25,600 samples), so
this rate sets its evaluation time. Uses the cached classifier (gran-train-classifier);
random images, same for both, interleaved rounds, fastest round. Prints a Markdown table.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from gran_tf.cli.common import run_main


def seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--batch_size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from gran_tf.eval.classifier import cached_classifier

    classifier = cached_classifier(train_if_missing=False)
    classifier.batch_size = args.batch_size
    images = np.random.default_rng(0).random((args.images, 28, 28, 1), dtype=np.float32)

    def eager():
        return np.concatenate([np.asarray(classifier.model(images[s:s + args.batch_size], training=False))
                               for s in range(0, len(images), args.batch_size)])

    ways = {"eager Keras calls": eager, "DigitClassifier (tf.function)": lambda: classifier.logits(images)}
    np.testing.assert_allclose(ways["DigitClassifier (tf.function)"](), eager(), rtol=1e-4, atol=1e-4)
    times = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, fn in ways.items():
            times[name].append(seconds(fn))
    best = {name: min(t) for name, t in times.items()}
    print(f"{args.images} images, batch {args.batch_size}, fastest of {args.rounds} rounds\n")
    print("| way | s | images/s | x eager |\n|---|---:|---:|---:|")
    for name, t in best.items():
        print(f"| {name} | {t:.2f} | {args.images / t:.0f} | {best['eager Keras calls'] / t:.2f} |")


if __name__ == "__main__":
    run_main(main)
