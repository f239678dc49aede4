import numpy as np
import pytest
from PIL import Image

from gran_tf.eval import diversity, plots

FIG_PIXELS = (int(plots.FIGSIZE[0] * plots.DPI), int(plots.FIGSIZE[1] * plots.DPI))  # (width, height)


def constant_images(values, h=3, w=2, c=1):
    return np.broadcast_to(np.asarray(values, np.float64)[:, None, None, None], (len(values), h, w, c)).copy()


def cell(grid, n, nrow, h, w, pad):
    top, left = pad + (n // nrow) * (h + pad), pad + (n % nrow) * (w + pad)
    return grid[top : top + h, left : left + w]


def test_image_grid_places_every_pixel():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(5, 3, 4, 3))
    grid = plots.image_grid(images, nrow=2, pad=1, pad_value=0.0)
    assert grid.dtype == np.uint8 and grid.shape == (1 + 3 * 4, 1 + 2 * 5, 3)
    expected = np.round(255 * images).astype(np.uint8)
    for n in range(5):
        np.testing.assert_array_equal(cell(grid, n, 2, 3, 4, 1), expected[n])
    np.testing.assert_array_equal(cell(grid, 5, 2, 3, 4, 1), 0)  # empty sixth cell
    assert grid[0].max() == 0 and grid[:, 0].max() == 0  # borders


def test_image_grid_gray_to_rgb_and_clipping():
    gray = constant_images([0.0, 0.5, 2.0])  # 2.0 is clipped to white
    for images in (gray, gray[..., 0]):  # [N,H,W,1] and [N,H,W]
        grid = plots.image_grid(images, nrow=3, pad=2, pad_value=0.25)
        assert grid.shape == (2 + 3 + 2, 2 + 3 * (2 + 2), 3)
        assert np.all(grid[..., 0] == grid[..., 1]) and np.all(grid[..., 1] == grid[..., 2])
        for n, v in enumerate((0, 128, 255)):
            np.testing.assert_array_equal(cell(grid, n, 3, 3, 2, 2), v)
        assert grid[0, 0, 0] == 64
    with pytest.raises(ValueError):
        plots.image_grid(np.zeros((2, 3, 3, 2)), nrow=1)


def test_save_png_round_trips(tmp_path):
    grid = plots.image_grid(np.random.default_rng(1).uniform(size=(4, 5, 5, 3)), nrow=2)
    path = plots.save_png(grid, str(tmp_path / "sub" / "grid.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), grid)


def test_worst_reconstructions_show_the_largest_mse_first():
    targets, recons = constant_images([0.1, 0.2, 0.3, 0.4]), constant_images([0.1, 0.6, 0.3, 1.0])
    mse = np.mean(np.square(targets - recons).reshape(4, -1), axis=1)  # 0, .16, 0, .36
    grid = plots.worst_reconstructions_image(targets, recons, mse, k=2)
    # top row: targets 3 then 1; bottom row: their reconstructions
    for n, v in enumerate((0.4, 0.2, 1.0, 0.6)):
        np.testing.assert_array_equal(cell(grid, n, 2, 3, 2, 2), round(255 * v))
    assert grid.shape == (2 + 2 * 5, 2 + 2 * 4, 3)


def test_nearest_neighbour_grid_rows(tmp_path):
    samples, train = constant_images([0.0, 1.0]), constant_images([0.2, 0.4, 0.6, 0.8])
    indices = np.array([[0, 1], [3, 2]])
    grid = plots.nearest_neighbour_image(samples, train, indices)
    for n, v in enumerate((0.0, 0.2, 0.4, 1.0, 0.8, 0.6)):
        np.testing.assert_array_equal(cell(grid, n, 3, 3, 2, 2), round(255 * v))
    path = plots.nearest_neighbour_grid(samples, train, indices, str(tmp_path / "nn.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), grid)
    path = plots.worst_reconstructions_grid(samples, samples, np.zeros(2), 2, str(tmp_path / "worst.png"))
    assert Image.open(path).size == (2 + 2 * 4, 2 + 2 * 5)


def assert_figure_png(path):
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == FIG_PIXELS
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.std() > 0  # something was drawn


def test_scatter_over_data_2d_3d_and_collapsed(tmp_path):
    rng = np.random.default_rng(0)
    means = np.stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)], axis=1)
    data = means[rng.integers(0, 8, 300)] + 0.05 * rng.normal(size=(300, 2))
    samples = means[rng.integers(0, 3, 200)] + 0.05 * rng.normal(size=(200, 2))
    assert_figure_png(plots.scatter_over_data(samples, data, means, path=str(tmp_path / "s2.png")))
    collapsed = np.tile(means[:1], (50, 1))  # singular KDE: drawn without contours
    assert_figure_png(plots.scatter_over_data(collapsed, data, path=str(tmp_path / "c2.png")))
    cube = rng.normal(size=(100, 3))
    assert_figure_png(plots.scatter_over_data(cube[:50], cube, cube[:4], path=str(tmp_path / "s3.png")))
    rgb = plots.figure_to_rgb(plots.scatter_over_data_figure(samples, data, means))
    assert rgb.dtype == np.uint8 and rgb.shape == (FIG_PIXELS[1], FIG_PIXELS[0], 3)
    with pytest.raises(ValueError):
        plots.scatter_over_data_figure(cube, data)


def test_mode_occupancy_plot(tmp_path):
    steps = [0, 100, 200, 400]
    occupancy = np.eye(4, 8)  # one mode at a time: mode hopping
    assert_figure_png(plots.mode_occupancy_plot(occupancy, steps, str(tmp_path / "occ.png")))
    assert plots.figure_to_rgb(plots.mode_occupancy_figure(occupancy[:1], steps[:1])).shape[2] == 3
    np.testing.assert_allclose(plots._cell_edges([0, 100, 200, 400]), [-50, 50, 150, 300, 500])
    with pytest.raises(ValueError):
        plots.mode_occupancy_figure(occupancy, steps[:3])


def test_distance_histograms(tmp_path):
    rng = np.random.default_rng(0)
    res = diversity.pairwise_distances(rng.normal(size=(50, 8)), 2 * rng.normal(size=(60, 8)), n_pairs=500)
    assert_figure_png(plots.distance_histograms(res, str(tmp_path / "hist.png")))
