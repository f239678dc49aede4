"""Evaluation figures as PNG files or RGB arrays (for TensorBoard's image summaries).

Image grids are assembled pixel-exactly in NumPy (``image_grid``). Matplotlib figures are
built on the Agg canvas without pyplot (no global state, no display): every ``*_figure``
builder returns a Figure, ``figure_to_rgb`` renders it to uint8 [H, W, 3] and
``save_figure`` writes it as PNG; the path-taking functions do build + save in one call.
"""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from scipy.stats import gaussian_kde

from gran_tf import storage

FIGSIZE = (6.0, 4.5)
DPI = 100


# ---------------------------------------------------------------- image grids


def _to_nhwc3(images):
    """Images [N,H,W], [N,H,W,1] or [N,H,W,3] in [0, 1] -> float [N,H,W,3] (gray repeated)."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images [N,H,W], [N,H,W,1] or [N,H,W,3], got shape {images.shape}")
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def image_grid(images, nrow, pad=2, pad_value=1.0):
    """Tile images row-major, ``nrow`` images per row, into one uint8 RGB array.

    Image n goes to grid row n // nrow, column n % nrow, with its top-left pixel at
    (pad + row * (H + pad), pad + col * (W + pad)); borders and empty cells are
    ``pad_value``. Values are clipped to [0, 1] and mapped to round(255 * v).
    Result shape: [pad + rows * (H + pad), pad + nrow * (W + pad), 3].
    """
    images = _to_nhwc3(images)
    n, h, w, _ = images.shape
    rows = -(-n // nrow)
    grid = np.full((pad + rows * (h + pad), pad + nrow * (w + pad), 3), pad_value, dtype=np.float64)
    for i, img in enumerate(images):
        top, left = pad + (i // nrow) * (h + pad), pad + (i % nrow) * (w + pad)
        grid[top : top + h, left : left + w] = img
    return np.round(255.0 * np.clip(grid, 0.0, 1.0)).astype(np.uint8)


def save_png(array, path):
    """Write a uint8 [H, W, 3] (or [H, W]) array as a PNG; creates parent folders; returns ``path``."""
    image = Image.fromarray(np.asarray(array, dtype=np.uint8))
    return storage.save_with(lambda f: image.save(f, format="PNG"), path)


def worst_reconstructions_image(targets, recons, mse, k):
    """Grid of the ``k`` worst-reconstructed targets (top row) above their reconstructions (bottom row), worst first."""
    order = np.argsort(np.asarray(mse), kind="stable")[::-1][:k]
    return image_grid(np.concatenate([np.asarray(targets)[order], np.asarray(recons)[order]]), nrow=len(order))


def worst_reconstructions_grid(targets, recons, mse, k, path):
    """Save ``worst_reconstructions_image`` as PNG; returns ``path``."""
    return save_png(worst_reconstructions_image(targets, recons, mse, k), path)


def nearest_neighbour_image(samples, train, indices):
    """One row per sample: the sample, then its nearest training images ``train[indices[i]]`` in order."""
    indices = np.asarray(indices)
    rows = [np.concatenate([np.asarray(samples)[i : i + 1], np.asarray(train)[idx]]) for i, idx in enumerate(indices)]
    return image_grid(np.concatenate(rows), nrow=1 + indices.shape[1])


def nearest_neighbour_grid(samples, train, indices, path):
    """Save ``nearest_neighbour_image`` as PNG; returns ``path``."""
    return save_png(nearest_neighbour_image(samples, train, indices), path)


# ---------------------------------------------------------------- matplotlib figures


def new_figure(figsize=FIGSIZE, dpi=DPI):
    """A Figure on its own Agg canvas."""
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_to_rgb(fig):
    """Render a figure to uint8 [H, W, 3] (H, W = figsize * dpi)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def save_figure(fig, path):
    """Write a figure as PNG (figsize * dpi pixels); creates parent folders; returns ``path``."""
    return storage.save_with(lambda f: fig.savefig(f, format="png"), path)


def _sample_density_contour(ax, samples, data):
    """Gaussian-KDE contours of 2-D samples over the data's extent; skipped when the samples are degenerate."""
    try:
        kde = gaussian_kde(samples.T)
    except (np.linalg.LinAlgError, ValueError):  # collapsed samples: singular covariance
        return
    both = np.concatenate([samples, data])
    lo, hi = both.min(axis=0), both.max(axis=0)
    margin = 0.05 * (hi - lo + 1e-9)
    gx, gy = np.meshgrid(*(np.linspace(lo[d] - margin[d], hi[d] + margin[d], 100) for d in range(2)))
    density = kde(np.stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contour(gx, gy, density, levels=6, cmap="Blues")


def scatter_over_data_figure(samples, data, means=None):
    """Samples (blue) over data (gray), with the samples' KDE contours (2-D) and mode ``means`` (red x)."""
    samples, data = np.asarray(samples, np.float64), np.asarray(data, np.float64)
    dim = samples.shape[1]
    if dim not in (2, 3) or data.shape[1] != dim:
        raise ValueError(f"expected 2-D or 3-D points, got samples {samples.shape} and data {data.shape}")
    fig = new_figure()
    ax = fig.add_subplot(projection="3d" if dim == 3 else None)
    ax.scatter(*data.T, s=4, c="0.6", alpha=0.5, label="data")
    ax.scatter(*samples.T, s=4, c="tab:blue", alpha=0.6, label="samples")
    if dim == 2:
        _sample_density_contour(ax, samples, data)
    if means is not None:
        ax.scatter(*np.asarray(means, np.float64).T, marker="x", s=40, c="tab:red", label="modes")
    ax.legend(loc="upper right", fontsize="small")
    return fig


def scatter_over_data(samples, data, means=None, *, path):
    """Save ``scatter_over_data_figure`` as PNG; returns ``path``."""
    return save_figure(scatter_over_data_figure(samples, data, means), path)


def _cell_edges(centres):
    """Bin edges around sorted cell centres (midpoints; outer cells mirrored)."""
    c = np.asarray(centres, np.float64)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])


def mode_occupancy_figure(occupancy, steps):
    """Heatmap of mode occupancy (fraction of samples nearest each mode) against training step."""
    occupancy = np.asarray(occupancy, np.float64)  # [steps, K]
    if occupancy.shape[0] != len(steps):
        raise ValueError(f"occupancy has {occupancy.shape[0]} rows but {len(steps)} steps were given")
    fig = new_figure()
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(_cell_edges(steps), np.arange(occupancy.shape[1] + 1) - 0.5, occupancy.T, cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="fraction of samples")
    ax.set_xlabel("training step")
    ax.set_ylabel("mode")
    return fig


def mode_occupancy_plot(occupancy, steps, path):
    """Save ``mode_occupancy_figure`` as PNG; returns ``path``."""
    return save_figure(mode_occupancy_figure(occupancy, steps), path)


def distance_histograms_figure(result):
    """Densities of pairwise distances of samples and data, medians as vertical lines (paper's Figure)."""
    edges = np.asarray(result["bin_edges"])
    fig = new_figure()
    ax = fig.add_subplot()
    for key, colour in (("data", "tab:red"), ("samples", "tab:blue")):
        ax.stairs(result[key]["histogram"], edges, color=colour, label=key)
        ax.axvline(result[key]["quantiles"]["0.5"], color=colour, linestyle="--", linewidth=1)
    ax.set_xlabel("pairwise L2 distance")
    ax.set_ylabel("probability density")
    ax.set_title(f"JS divergence {result['js_divergence']:.4f} bits")
    ax.legend()
    return fig


def distance_histograms(result, path):
    """Save ``distance_histograms_figure`` for a ``diversity.pairwise_distances`` result; returns ``path``."""
    return save_figure(distance_histograms_figure(result), path)


def density_grid_figure(rows, data, extent, bins=120):
    """The Unrolled GAN paper's Figure 1 layout: one row per run, one heatmap of the 2-D sample
    density per training step, the data's own heatmap last.

    ``rows``: [(label, [(step, points [N, 2]), ...]), ...]; ``extent``: (lo, hi) of both axes.
    Each panel is a 2-D histogram over the same grid, shown with a square-root colour scale so
    that sparse mass stays visible beside a collapsed mode.
    """
    columns = max(len(panels) for _, panels in rows) + 1
    fig = new_figure(figsize=(1.6 * columns, 1.7 * len(rows)))
    edges = np.linspace(extent[0], extent[1], bins + 1)

    def panel(ax, points, title):
        hist, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=(edges, edges))
        ax.imshow(np.sqrt(hist.T), origin="lower", extent=(*extent, *extent), cmap="viridis", aspect="equal")
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(title, fontsize=7)

    for r, (label, panels) in enumerate(rows):
        for c, (step, points) in enumerate(panels):
            ax = fig.add_subplot(len(rows), columns, r * columns + c + 1)
            panel(ax, np.asarray(points, np.float64), f"step {step:,}")
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
        panel(fig.add_subplot(len(rows), columns, r * columns + columns), np.asarray(data, np.float64), "data")
    fig.tight_layout()
    return fig
