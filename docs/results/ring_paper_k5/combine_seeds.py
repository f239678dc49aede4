"""The K = 5 rows of docs/unrolled.md's paper-ring table: seeds 0-5, 7, 9 (the sweep summaries
``summary_step<N>.json``, per-seed values in seed order) plus seeds 6 and 8 (their own
``ring_unrolled5/seed<k>/metrics.jsonl``), mean ± s.e. over the 10.

    python docs/results/ring_paper_k5/combine_seeds.py
"""
import json
import math
import os

import numpy as np

from gran_tf.cli.sweep import mean_se

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ("modes/modes_covered", "modes/hq_percent", "modes/reverse_kl", "modes/js")


def evaluation(seed, step):
    with open(os.path.join(HERE, "ring_unrolled5", f"seed{seed}", "metrics.jsonl"), encoding="utf-8") as f:
        return [e for e in map(json.loads, f) if e.get("step") == step and "eval/modes/js" in e][-1]


def row(step):
    summary = json.load(open(os.path.join(HERE, f"summary_step{step}.json")))["summary"]["ring_unrolled5"]
    values = {k: list(summary[k]["values"]) for k in KEYS}
    for seed in (6, 8):
        found = evaluation(seed, step)
        for k in KEYS:
            v = found["eval/" + k]
            if v is not None and not math.isnan(v):  # reverse KL is undefined without an HQ sample
                values[k].append(v)
    cell = {k: "%.3g ± %.2g" % mean_se(v) for k, v in values.items()}
    modes, hq = np.array(values["modes/modes_covered"]), np.array(values["modes/hq_percent"])
    n = len(modes)
    return (f"| 5 | {step:,} | {cell[KEYS[0]]} | {cell[KEYS[1]]} | {cell[KEYS[2]]} | {cell[KEYS[3]]} | "
            f"{int((modes == 8).sum())}/{n} | {int(((modes == 8) & (hq >= 80)).sum())}/{n} |")


if __name__ == "__main__":
    for step in (5000, 10000, 15000, 20000, 25000):
        print(row(step))
