"""The inference-via-optimisation table of docs/unrolled.md from ``gran-inference-rank`` records.

    python results/unrolled_inference/make_table.py results/unrolled_inference/seed*/inference_rank.json > table.md

Each record compares the models of one training seed (K = 0 against K = 5 on the same images).
Models are told apart by the config directory in their name (``<config>/seed<k>``); a row is
named by their seed directory. Prints one row per seed, then mean ± s.e. over seeds of the mean
MSE and of the percent best rank.
"""
import json
import sys

import gran_tf as gt


def config_of(name):
    return name.split("/")[0]


def seed_of(record):
    """The training seed's directory (``seed<k>``) shared by the record's models."""
    seeds = {name.rstrip("/").rsplit("/", 1)[-1] for name in record["mean_mse"]}
    if len(seeds) != 1:
        sys.exit(f"models of different seeds in one record: {sorted(seeds)}")
    return seeds.pop()


def cell(values):
    return "%.4g ± %.2g" % gt.mean_se(values)


def main(paths):
    records = [json.load(open(p)) for p in paths]
    configs = sorted({config_of(name) for r in records for name in r["mean_mse"]})
    header = " | ".join([f"{c}: mean MSE" for c in configs] + [f"{c}: % best rank" for c in configs])
    print(f"| seed pair | {header} |\n|---|" + "---|" * (2 * len(configs)))
    columns = {c: {"mse": [], "rank": []} for c in configs}
    for record in records:
        by_config = {config_of(name): name for name in record["mean_mse"]}
        row = []
        for key, field in (("mse", "mean_mse"), ("rank", "percent_best_rank")):
            for c in configs:
                value = record[field][by_config[c]]
                columns[c][key].append(value)
                row.append(f"{value:.4g}")
        print(f"| {seed_of(record)} | " + " | ".join(row) + " |")
    summary = [cell(columns[c]["mse"]) for c in configs] + [cell(columns[c]["rank"]) for c in configs]
    print(f"| mean ± s.e. ({len(records)} seeds) | " + " | ".join(summary) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
