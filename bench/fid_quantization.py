"""How much FID moves when generated images are quantised to uint8 before the Inception network
(issue #28 §1): FID of a run's samples against its real test images, quantised and not.

    python launch/train.py --gin_file=mnist_gran1 --model_dir=/tmp/q/mnist_gran1 \\
        --gin_param="Trainer.total_steps=300" --gin_param="Trainer.sample_every=300" --gin_param="Trainer.checkpoint_every=300"
    python bench/fid_quantization.py --model_dir=/tmp/q/mnist_gran1 --n 1000 --out results/fid_quantization/results.json

The real images are uint8 already (quantising them changes nothing); the generator's sigmoid
outputs are floats. One feature network, the same real statistics for both scores.
"""
import argparse
import json

import numpy as np

from gran_tf.eval import features
from gran_tf.eval.loading import load_run
from gran_tf.eval.reference import to_pixels, to_uint8


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    run = load_run(args.model_dir)
    ctx = run.context(n_samples=args.n)
    fake, real = (to_pixels(x, ctx.value_range) for x in (ctx.samples(args.n), ctx.real(args.n)))
    model = features.default_feature_network()
    reference = features.feature_statistics(real, model, desc="real")
    scores = {}
    for quantize in (True, False):
        stats = features.feature_statistics(fake, model, quantize, desc=f"fake quantize={quantize}")
        scores[quantize] = features.feature_scores(reference, stats, ("fid", "kid"))
    result = {
        "run": args.model_dir, "step": run.step, "n_real": args.n, "n_fake": args.n, "split": "test",
        "fid_quantized": scores[True]["fid"], "fid_float": scores[False]["fid"],
        "kid_quantized": scores[True]["kid"], "kid_float": scores[False]["kid"],
        "fid_relative_change": (scores[True]["fid"] - scores[False]["fid"]) / scores[False]["fid"],
        "mean_abs_rounding": float(np.mean(np.abs(to_uint8(fake).astype(np.float32) - np.clip(fake, 0, 255)))),
        "real_already_uint8": bool(np.array_equal(to_uint8(real), np.clip(real, 0, 255))),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
