"""The user's own data: image folders, array files and arrays from Python (issue #26)."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from gran_tf import config
from gran_tf.data import DataRecord, image_folder, make_dataset, registry
from gran_tf.errors import ConfigError, DataUnavailableError
from gran_tf.eval.loading import load_run
from gran_tf.training.trainer import Trainer

# A DCGAN small enough to train on 16x16 grey images in a unit test.
TINY_DCGAN = ["Trainer.batch_size = 4", "Trainer.generator = @DCGANGenerator", "DCGANGenerator.kernels = (4, 2, 1)",
              "DCGANGenerator.z_dim = 3", "DCGANDiscriminator.kernels = (2, 4)", "DCGANDiscriminator.hidden = 3",
              "Trainer.log_every = 3", "Trainer.sample_every = 100", "Trainer.checkpoint_every = 6"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAN_TF_CACHE", str(tmp_path / "cache"))


def save(path, array, fmt=None, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = Image.fromarray(array, mode) if mode else Image.fromarray(array)
    image.save(path, format=fmt)


def mixed_folder(root, n=24, seed=0):
    """n images of mixed formats, modes, sizes and nesting, plus a corrupt file and a text file."""
    rng = np.random.default_rng(seed)
    kinds = [("png", "RGB"), ("JPG", "RGB"), ("png", "L"), ("png", "RGBA"), ("bmp", "RGB"), ("gif", "P"),
             ("png", "LA"), ("jpeg", "L")]
    for i in range(n):
        ext, mode = kinds[i % len(kinds)]
        h, w = rng.integers(20, 60, 2)
        channels = {"RGB": 3, "L": 1, "RGBA": 4, "LA": 2, "P": 1}[mode]
        pixels = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
        image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, None if mode == "P" else mode)
        if mode == "P":
            image = image.convert("P")
        sub = ["", "a", "a/b"][i % 3]
        path = os.path.join(root, sub, f"im{i:02d}.{ext}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        image.save(path, format={"JPG": "JPEG", "jpeg": "JPEG"}.get(ext, ext.upper()))
    with open(os.path.join(root, "a", "corrupt.png"), "wb") as f:
        f.write(b"\x89PNG\r\n not really")
    with open(os.path.join(root, "notes.txt"), "w") as f:
        f.write("not an image")
    return root


def batches(dataset, n):
    return [x.numpy() for x, _ in dataset.take(n)]


def test_a_mixed_folder_decodes_every_image_to_the_settings_and_skips_the_corrupt_file(tmp_path, capfd):
    root = mixed_folder(str(tmp_path / "images"))
    record = registry.DataRecord.current(f"folder:{root}")
    assert record.spec.shape == (64, 64, 3) and record.spec.kind == "image"
    assert record.params["file_count"] == 25 and record.params["skipped"] == 1
    assert sum(record.params["split_sizes"].values()) == 24
    assert capfd.readouterr().err.count("warning: skipped 1 of 25 files") == 1
    registry.DataRecord.current(f"folder:{root}")  # from the cache: no second warning
    assert "warning" not in capfd.readouterr().err
    x = np.concatenate(batches(record.make_dataset(4, seed=0), 5))
    assert x.shape == (20, 64, 64, 3) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    config.parse([], ["image_folder.channels = 1", "image_folder.size = 16"])
    grey = registry.DataRecord.current(f"folder:{root}")
    assert grey.spec.shape == (16, 16, 1)
    assert batches(grey.make_dataset(2, seed=0, split="test"), 1)[0].shape == (2, 16, 16, 1)


def test_decoding_drops_alpha_repeats_grey_and_keeps_the_centre_square(tmp_path):
    # 40x120 landscape: a red centre square between green borders; grey+alpha of value 77.
    landscape = np.zeros((40, 120, 3), np.uint8)
    landscape[:, :40] = (0, 255, 0)
    landscape[:, 40:80] = (255, 0, 0)
    landscape[:, 80:] = (0, 255, 0)
    encoded = tf.io.encode_png(landscape)
    centre = image_folder.decode(encoded, 8, 3).numpy()
    assert centre.shape == (8, 8, 3)
    # Lanczos-3 rings by a grey level or two near the green borders.
    np.testing.assert_allclose(centre[1:-1, 1:-1], np.broadcast_to([255, 0, 0], (6, 6, 3)), atol=2)
    grey_alpha = np.stack([np.full((10, 10), 77, np.uint8), np.zeros((10, 10), np.uint8)], -1)
    as_rgb = image_folder.decode(tf.io.encode_png(grey_alpha), 10, 3).numpy()
    np.testing.assert_array_equal(as_rgb, np.full((10, 10, 3), 77))
    rgba = np.concatenate([np.full((10, 10, 3), 200, np.uint8), np.zeros((10, 10, 1), np.uint8)], -1)
    np.testing.assert_array_equal(image_folder.decode(tf.io.encode_png(rgba), 10, 1).numpy(), np.full((10, 10, 1), 200))


def test_the_test_split_is_the_test_subfolder_else_a_hash_that_adding_files_does_not_move(tmp_path):
    files = [(f"x/{i}.png", 10) for i in range(200)]
    hashed = image_folder.assign_splits(files, 0.25)
    assert 30 < len(hashed["test"]) < 70 and not set(hashed["test"]) & set(hashed["train"])
    grown = image_folder.assign_splits(files + [(f"y/{i}.png", 10) for i in range(100)], 0.25)
    assert set(hashed["test"]) <= set(grown["test"]) and set(hashed["train"]) <= set(grown["train"])
    with_test = image_folder.assign_splits(files + [("test/a.png", 1), ("test/b.png", 1)], 0.25)
    assert with_test["test"] == ["test/a.png", "test/b.png"] and len(with_test["train"]) == 200


def test_a_folder_gives_the_same_batches_in_any_order_of_listing_and_starts_at_any_batch(tmp_path):
    root = str(tmp_path / "images")
    rng = np.random.default_rng(1)
    for i in range(40):
        save(os.path.join(root, f"{i:02d}.png"), rng.integers(0, 256, (12, 12, 3), dtype=np.uint8))
    params = registry.data_params("folder", root)
    first = batches(make_dataset("folder", batch_size=8, seed=3, params=params), 9)
    again = batches(make_dataset("folder", batch_size=8, seed=3, params=params), 9)
    started = batches(make_dataset("folder", batch_size=8, seed=3, params=params, start=4), 5)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first[4:], started, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])


def test_a_changed_folder_warns_naming_the_change_and_a_cache_is_decoded_once(tmp_path, capfd, monkeypatch):
    root = str(tmp_path / "images")
    for i in range(10):
        save(os.path.join(root, f"{i}.png"), np.full((8, 8, 3), 20 * i, np.uint8))
    record = registry.DataRecord.current(f"folder:{root}")
    monkeypatch.setattr(image_folder, "build_cache", lambda *a: pytest.fail("decoded twice"))
    batches(record.make_dataset(2, seed=0), 1)
    assert "warning" not in capfd.readouterr().err
    monkeypatch.undo()
    save(os.path.join(root, "new.png"), np.zeros((8, 8, 3), np.uint8))
    batches(record.make_dataset(2, seed=0), 1)
    err = capfd.readouterr().err
    assert "warning: image folder" in err and "10 files then, 11 now" in err


@pytest.mark.parametrize("case,error,message", [
    ("missing", DataUnavailableError, "does not exist"),
    ("empty", ConfigError, "holds no image files"),
    ("undecodable", ConfigError, "leave a split empty"),
    ("size", ConfigError, "image_folder.size must be a positive integer"),
    ("channels", ConfigError, "image_folder.channels must be 1 or 3"),
])
def test_a_bad_folder_is_one_clear_error(tmp_path, case, error, message):
    root = tmp_path / "images"
    if case != "missing":
        root.mkdir()
    if case == "undecodable":
        (root / "a.png").write_bytes(b"garbage")
    settings = {"size": ["image_folder.size = 0"], "channels": ["image_folder.channels = 2"]}.get(case, [])
    config.parse([], settings)
    with pytest.raises(error, match=message):
        registry.DataRecord.current(f"folder:{root}")


def test_array_files_of_images_and_points(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 8, 8, 1), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    record = DataRecord.current(f"array:{tmp_path / 'images.npy'}")
    assert record.spec.shape == (8, 8, 1) and record.params["kind"] == "image"
    assert sum(record.params["split_sizes"].values()) == 50
    x = np.concatenate(batches(record.make_dataset(5, seed=0), 20))
    as_unit = {tuple(row.ravel()) for row in np.round(x * 255).astype(np.uint8)}
    assert as_unit <= {tuple(row.ravel()) for row in images}  # every batch row is a row of the file
    floats = rng.uniform(-1, 1, (30, 4, 4, 3)).astype(np.float32)
    np.savez(tmp_path / "floats.npz", x=floats, x_test=floats[:6])
    config.parse([], ["make_dataset.pixel_range = 'symmetric'"])
    symmetric = DataRecord.current(f"array:{tmp_path / 'floats.npz'}")
    assert symmetric.params["split_sizes"] == {"train": 30, "test": 6}
    test = np.concatenate(batches(symmetric.make_dataset(6, seed=0, split="test", shuffle=False), 1))
    np.testing.assert_allclose(test, floats[:6], atol=1e-6)
    points = rng.normal(size=(400, 2)).astype(np.float32)
    np.save(tmp_path / "points.npy", points)
    config.parse([], ["array_data.means = [[0.0, 0.0]]", "array_data.std = 1.0"])
    point_record = DataRecord.current(f"array:{tmp_path / 'points.npy'}")
    assert point_record.spec.kind == "points" and point_record.spec.num_classes == 1
    assert point_record.mixture().num_modes == 1
    real = point_record.real(100, seed=0, split="train")
    assert real.shape == (100, 2) and {tuple(p) for p in real} <= {tuple(p) for p in points}


@pytest.mark.parametrize("array,message", [
    (np.zeros((5, 3, 3)), "expected images"),
    (np.zeros((5, 4, 4, 2), np.uint8), "2 channels"),
    (np.zeros((5, 4), np.int32), "dtype int32"),
    (np.full((5, 4), np.nan, np.float32), "not finite"),
    (np.full((5, 4, 4, 3), 2.0, np.float32), "outside the pixel range"),
    (np.zeros((0, 4, 4, 3), np.uint8), "holds no examples"),
])
def test_a_bad_array_is_one_clear_error(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(ConfigError, match=message):
        DataRecord.current(f"array:{tmp_path / 'bad.npy'}")
    with pytest.raises(ConfigError, match=message):
        DataRecord.from_array(array)


def folder_of_digits(root, n=48):
    rng = np.random.default_rng(2)
    for i in range(n):
        save(os.path.join(root, f"{i:02d}.png"), rng.integers(0, 256, (20, 20), dtype=np.uint8), mode="L")
    return root


def test_a_folder_run_resumes_bit_exactly_and_is_evaluated_from_its_record(tmp_path, resumes_bit_exactly):
    root = folder_of_digits(str(tmp_path / "digits"))
    params = TINY_DCGAN + [f"Trainer.dataset = 'folder:{root}'", "image_folder.size = 16", "image_folder.channels = 1"]

    def run(name, steps):
        config_str = config.parse(["mnist_gran3"], params + [f"Trainer.total_steps = {steps}"])
        trainer = Trainer(model_dir=str(tmp_path / name))
        trainer.train(config_str)
        return trainer

    resumes_bit_exactly(run)
    data = json.loads((tmp_path / "resumed" / "run.json").read_text())["data"]
    assert data["name"] == "folder" and data["params"]["path"] == root and data["split_sizes"]["test"] > 0
    loaded = load_run(str(tmp_path / "resumed"))
    test = np.concatenate(batches(loaded.data.make_dataset(1, 0, split="test", shuffle=False, repeat=False), 100))
    real = loaded.context(split="test").real(len(test))
    assert {r.tobytes() for r in real} == {t.tobytes() for t in test}  # FID's real set: the test split


def test_an_array_from_python_trains_and_its_run_asks_for_it_again(tmp_path):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(200, 2)).astype(np.float32)
    config_str = config.parse(["ring"], ["Trainer.batch_size = 16", "MLPGenerator.z_dim = 4",
                                         "MLPGenerator.hidden = (8,)", "MLPDiscriminator.hidden = (8,)",
                                         "Trainer.total_steps = 4", "Trainer.log_every = 2"])
    trainer = Trainer(model_dir=str(tmp_path / "run"), dataset=points)
    trainer.train(config_str)
    data = json.loads((tmp_path / "run" / "run.json").read_text())["data"]
    assert data["name"] == "memory" and data["params"]["count"] == 200 and len(data["params"]["fingerprint"]) == 64
    loaded = load_run(str(tmp_path / "run"))
    with pytest.raises(ConfigError, match="--data=FILE"):
        loaded.context().real(10)
    np.save(tmp_path / "points.npy", points)
    real = load_run(str(tmp_path / "run"), data=str(tmp_path / "points.npy")).context().real(10)
    assert {tuple(p) for p in real} <= {tuple(p) for p in points}
    with pytest.raises(ConfigError, match="is not the one the run trained on"):
        load_run(str(tmp_path / "run"), data=points[:100])


def test_gran_train_on_a_missing_folder_is_one_line_and_writes_nothing(tmp_path, run_cli):
    run_dir = tmp_path / "run"
    done = run_cli("train", "--gin_file=gin/folder_dcgan.gin", f"--gin_param=image_folder.path = '{tmp_path / 'nowhere'}'",
                   f"--model_dir={run_dir}")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: image folder") and "does not exist" in done.stderr
    assert not run_dir.exists()


def stream_of(x):
    """A tf.data.Dataset of (example, label) pairs, as a user's input pipeline would give them."""
    return tf.data.Dataset.from_tensor_slices((x, np.arange(len(x), dtype=np.int64)))


def test_a_tf_data_stream_trains_resumes_bit_exactly_and_its_run_asks_for_it_again(tmp_path, resumes_bit_exactly):
    x = np.random.default_rng(0).integers(0, 256, (60, 16, 16, 1), dtype=np.uint8)

    def run(name, steps):
        config_str = config.parse(["mnist_gran3"], TINY_DCGAN + [f"Trainer.total_steps = {steps}"])
        trainer = Trainer(model_dir=str(tmp_path / name), dataset=stream_of(x))
        trainer.train(config_str)
        return trainer

    resumes_bit_exactly(run)  # the stream is read up to batch 6 again: same batches, same weights
    data = json.loads((tmp_path / "resumed" / "run.json").read_text())["data"]
    assert data["name"] == "stream" and data["params"]["count"] == 60 and data["params"]["fingerprint"] is None
    assert data["shape"] == [16, 16, 1] and "TensorSpec(shape=(16, 16, 1), dtype=tf.uint8" in data["params"]["element_spec"]
    with pytest.raises(ConfigError, match="a tf.data.Dataset given from Python"):
        load_run(str(tmp_path / "resumed")).context().real(4)
    with pytest.raises(ConfigError, match=r"yields \[16, 16, 3\] uint8 examples"):
        load_run(str(tmp_path / "resumed"), data=stream_of(np.repeat(x, 3, axis=-1)))
    real = load_run(str(tmp_path / "resumed"), data=stream_of(x)).context(split="test").real(4)
    record = DataRecord.from_dataset(stream_of(x))
    split = {s: {r.tobytes() for r in np.concatenate(batches(record.make_dataset(1, 0, split=s, repeat=False), 60))}
             for s in ("train", "test")}
    assert not split["train"] & split["test"] and len(split["train"] | split["test"]) == 60
    assert {r.tobytes() for r in real} <= split["test"]


@pytest.mark.parametrize("dataset,error,message", [
    (lambda: tf.data.Dataset.from_tensor_slices(np.zeros((8, 4, 4, 3), np.uint8)).batch(2), ConfigError, "unbatch"),
    (lambda: tf.data.Dataset.from_tensor_slices(np.zeros((8, 4, 4, 2), np.uint8)), ConfigError, "1 or 3 channels"),
    (lambda: tf.data.Dataset.from_tensor_slices(np.zeros((8, 2), np.int32)), ConfigError, "expected uint8 images"),
    (lambda: tf.data.Dataset.from_tensor_slices(np.full((8, 4, 4, 3), np.nan, np.float32)),
     tf.errors.InvalidArgumentError, "not finite"),
    (lambda: tf.data.Dataset.from_tensor_slices(np.full((8, 4, 4, 3), 1.5, np.float32)),
     tf.errors.InvalidArgumentError, "pixels above 1"),
])
def test_a_bad_tf_data_stream_is_one_clear_error(dataset, error, message):
    with pytest.raises(error, match=message):
        record = DataRecord.from_dataset(dataset(), test_fraction=0.0)
        next(iter(record.make_dataset(2, 0)))
