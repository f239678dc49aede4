"""The pairwise-distance figure of docs/unrolled.md (the Unrolled GAN paper's §3.4.2 figure):
for each group of runs, the density of L2 distances between random pairs of generated samples,
one blue line per seed, and between random pairs of training images (red, from the first run);
dashed lines mark medians.

    python results/unrolled_inference/pairwise_figure.py \\
        --group "K = 0=runs/stacked/stacked_mnist_unrolled0_dquarter" \\
        --group "K = 5=runs/stacked/stacked_mnist_unrolled5_dquarter" --seeds 3 --out docs/figures/stacked_pairwise.png

Each run's final weights draw 2,000 samples (the ``pairwise`` metric's protocol: seeded z,
inference-mode batch norm) against 2,000 training images; 10,000 random pairs each
(``gt.pairwise_distances``, the function behind the ``pairwise`` metric of ``gran-evaluate``).
"""
import argparse
import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import gran_tf as gt

N = 2000


def distances_of(run_dir):
    """``gt.pairwise_distances`` of the run's samples against training data."""
    ctx = gt.load_run(run_dir).context(split="train")
    return gt.pairwise_distances(ctx.samples(N), ctx.real(N))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", action="append", required=True, help="LABEL=DIR holding seed<k> run directories")
    parser.add_argument("--seeds", type=int, required=True, help="runs seed0 .. seed<N-1> of each group")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    groups = [g.rsplit("=", 1) for g in args.group]
    fig = Figure(figsize=(5 * len(groups), 3.6), dpi=100)
    FigureCanvasAgg(fig)
    for i, (label, folder) in enumerate(groups):
        ax = fig.add_subplot(1, len(groups), i + 1)
        runs = [os.path.join(folder, f"seed{k}") for k in range(args.seeds)]
        for j, run_dir in enumerate(runs):
            result = distances_of(run_dir)
            ax.stairs(result["samples"]["histogram"], result["bin_edges"], color="tab:blue", alpha=0.7,
                      label="samples (one line per seed)" if j == 0 else None)
            ax.axvline(result["samples"]["quantiles"]["0.5"], color="tab:blue", linestyle="--", linewidth=0.8)
            if j == 0:
                ax.stairs(result["data"]["histogram"], result["bin_edges"], color="tab:red", linewidth=2, label="data")
                ax.axvline(result["data"]["quantiles"]["0.5"], color="tab:red", linestyle="--", linewidth=1)
        ax.set_title(f"{label} ({len(runs)} seeds)")
        ax.set_xlabel("pairwise L2 distance")
        ax.set_ylabel("probability density")
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, format="png")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
