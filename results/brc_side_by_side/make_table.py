"""The side-by-side table of docs/brc.md: the authors' ring script against gran_tf, one evaluator.

    python results/brc_side_by_side/make_table.py --theirs lwcl_runs \
        --ours "PyTorch init=runs/brc_ring_torchinit" --ours "orthogonal init=runs/brc_ring" \
        --data_run runs/brc_ring/ring_brc_authors_vgan/seed1 > table.md

Every run's final 2,500 samples are scored by ``gran-evaluate --samples`` against one gran_tf run
of the authors' ring (radius 5, std 0.02): theirs from ``<theirs>/ring_{vgan,gn}_s<seed>/samples_final.npy``
(the patched script's dump), ours from ``<ours>/<config>/seed<seed>/samples/points_00005000.npy``
(``--ours LABEL=DIR``, once per sweep directory)
(the 2,500 points a run keeps at its last sample step). Mean ± s.e. over seeds. A run whose median
distance to the nearest mode exceeds 1 (50σ; neighbouring modes are 3.8 apart) is counted as
diverged. "Modes reached": modes that are the nearest mode of at least 1% of the samples. Reverse
KL is undefined for a run with no high-quality sample and is averaged over the others. For our
BRC runs the per-seed rows add the medians over the logged steps of ``brc/cos_to_plain`` (cosine of
the G gradient used to the plain ∇_θ F) and ``brc/response_ratio`` (‖c ∇_θ f‖ / ‖∇_θ F‖), and
in how many logged steps the gradient used pointed against the plain one (cosine < 0).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np

import gran_tf as gt

KEYS = ["modes/modes_covered", "modes/hq_percent", "modes/reverse_kl", "modes/js"]
OURS = [("VGAN (10 D steps)", "ring_brc_authors_vgan"), ("VGAN + GN", "ring_brc_authors_vgan_gn"),
        ("VGAN + GN, c clipped to ±0.1", "ring_brc_authors_vgan_gn_clip"),
        ("VGAN (1 D step)", "ring_brc_ablation_vgan_1d"), ("look-ahead only (c = 0)", "ring_brc_ablation_look_ahead"),
        ("Unrolled K = 10 (second order)", "ring_brc_ablation_unrolled10")]
THEIRS = [("VGAN (10 D steps)", "vgan"), ("VGAN + GN", "gn")]


def gran_evaluate():
    """The ``gran-evaluate`` console script of this Python's environment, else the PATH's."""
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return shutil.which("gran-evaluate", path=path) or sys.exit("gran-evaluate is not installed: pip install -e .")


def score(path, data_run):
    """The evaluator's report of the samples in ``path`` (cached beside them), plus two distances."""
    cache = path + ".eval.json"
    if not os.path.exists(cache):
        out = subprocess.run([gran_evaluate(), f"--model_dir={data_run}", f"--samples={path}"],
                             capture_output=True, text=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        if out.returncode:
            sys.exit(out.stderr)
        with open(cache, "w") as f:
            f.write(out.stdout)
    with open(cache) as f:
        record = json.load(f)
    result = {k: record.get("eval/" + k, float("nan")) for k in KEYS}
    x = np.load(path)
    angles = 2 * np.pi * np.arange(8) / 8
    means = 5.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    dist = np.linalg.norm(x[:, None] - means[None], axis=2)
    result["median_dist"] = float(np.median(dist.min(axis=1)))
    result["reached"] = int(np.count_nonzero(np.bincount(dist.argmin(axis=1), minlength=8) >= 0.01 * len(x)))
    result["diagnostics"] = brc_diagnostics(os.path.join(os.path.dirname(os.path.dirname(path)), "metrics.jsonl"))
    return result


def brc_diagnostics(metrics_path):
    """'cos / ratio' medians over a run's logged steps, or '' (no such log: their runs, or no BRC)."""
    if not os.path.exists(metrics_path):
        return ""
    with open(metrics_path) as f:
        logs = [json.loads(line) for line in f if '"brc/cos_to_plain"' in line]
    if not logs:
        return ""
    cos, ratio = (float(np.median([r[k] for r in logs])) for k in ("brc/cos_to_plain", "brc/response_ratio"))
    reversed_steps = sum(r["brc/cos_to_plain"] < 0 for r in logs)
    return f"{cos:.2f} / {ratio:.2f} / {reversed_steps} of {len(logs)}"


def mean_se(values):
    """'mean ± s.e.' of the finite values ('mean' alone for one, '—' for none)."""
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "—"
    m, se = gt.mean_se(values)
    return f"{m:.3g}" if len(values) == 1 else f"{m:.3g} ± {se:.2g}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--theirs", required=True)
    parser.add_argument("--ours", action="append", required=True, help="LABEL=DIR of a gran-sweep output")
    parser.add_argument("--data_run", required=True, help="a gran_tf run of the authors' ring (its data record)")
    args = parser.parse_args()
    arms = [("theirs", label, os.path.join(args.theirs, f"ring_{name}_s{{s}}", "samples_final.npy"))
            for label, name in THEIRS]
    for ours in args.ours:
        name, _, directory = ours.rpartition("=")
        arms += [(f"ours ({name})", label, os.path.join(directory, config, "seed{s}", "samples", "points_00005000.npy"))
                 for label, config in OURS]
    print("| implementation | method | seeds | modes of 8 | HQ % | reverse KL | JS | modes reached | diverged (seeds) |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for impl, label, pattern in arms:
        results = {s: score(pattern.format(s=s), args.data_run) for s in range(10) if os.path.exists(pattern.format(s=s))}
        if not results:
            continue
        rows += [(impl, label, s, r) for s, r in sorted(results.items())]
        diverged = [s for s, r in results.items() if r["median_dist"] > 1.0]
        kl = [r["modes/reverse_kl"] for r in results.values() if math.isfinite(r["modes/reverse_kl"])]
        cells = [mean_se([r[k] for r in results.values()]) for k in KEYS[:2]]
        cells.append(mean_se(kl) + (f" (n = {len(kl)})" if len(kl) < len(results) else ""))
        cells += [mean_se([r[KEYS[3]] for r in results.values()]), mean_se([r["reached"] for r in results.values()])]
        cells.append(f"{len(diverged)}" + (f" ({', '.join(map(str, diverged))})" if diverged else ""))
        print(f"| {impl} | {label} | {len(results)} | " + " | ".join(cells) + " |")
    print("\n| implementation | method | seed | modes | HQ % | reverse KL | JS | modes reached "
          "| median distance to nearest mode | cos to plain / response ratio (medians) / logs with cos < 0 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for impl, label, s, r in rows:
        print(f"| {impl} | {label} | {s} | {r[KEYS[0]]:.0f} | {r[KEYS[1]]:.1f} | {r[KEYS[2]]:.3f} | {r[KEYS[3]]:.3f} "
              f"| {r['reached']} | {r['median_dist']:.3g} | {r['diagnostics']} |")


if __name__ == "__main__":
    main()
