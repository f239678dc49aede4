"""make_dataset / dataset_spec: names, options, specs without loading, shape validation."""
import numpy as np
import pytest

from gran_tf.data import DATASET_NAMES, DatasetSpec, dataset_spec, make_dataset, mnist_loaders, registry
from gran_tf.data import tfds_source
from gran_tf.errors import ConfigError


def first_line(err):
    # gin appends "In call to configurable ..." lines to errors raised inside configurables.
    return str(err.value).splitlines()[0]


def test_unknown_name_lists_the_known_names():
    with pytest.raises(ConfigError) as err:
        make_dataset("svhn")
    assert "svhn" in first_line(err)
    assert all(name in first_line(err) for name in DATASET_NAMES)
    with pytest.raises(ConfigError):
        dataset_spec("svhn")


@pytest.mark.parametrize("option", [{"pixel_range": "bytes"}, {"split": "validation"}])
@pytest.mark.parametrize("name", ["ring", "mnist", "cifar10"])
def test_unknown_option_is_a_config_error(name, option):
    with pytest.raises(ConfigError) as err:
        make_dataset(name, **option)
    assert repr(next(iter(option.values()))) in first_line(err)


def test_specs_load_no_data(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("dataset_spec must not load data")

    monkeypatch.setattr(mnist_loaders, "digits", refuse)
    monkeypatch.setattr(tfds_source, "_as_dataset", refuse)
    specs = {name: dataset_spec(name) for name in DATASET_NAMES}
    assert specs["ring"] == DatasetSpec((2,), "points", 8)
    assert specs["grid"] == DatasetSpec((2,), "points", 25)
    assert specs["cube"] == DatasetSpec((3,), "points", 27)
    assert specs["stacked_mnist"] == DatasetSpec((28, 28, 3), "image", 1000)
    assert specs["lsun_kitchen"] == DatasetSpec((64, 64, 3), "image", None)
    assert all(spec.kind == "image" for name, spec in specs.items() if name not in ("ring", "grid", "cube"))


def test_points_ignore_pixel_range():
    x_unit, _ = next(iter(make_dataset("cube", batch_size=16, pixel_range="unit")))
    x_sym, _ = next(iter(make_dataset("cube", batch_size=16, pixel_range="symmetric")))
    np.testing.assert_array_equal(x_unit.numpy(), x_sym.numpy())


def test_shape_mismatch_with_the_spec_is_a_config_error(monkeypatch):
    monkeypatch.setitem(registry._IMAGE_SPECS, "mnist", DatasetSpec((32, 32, 1), "image", 10))
    with pytest.raises(ConfigError, match=r"\(28, 28, 1\).*\(32, 32, 1\)"):
        make_dataset("mnist", batch_size=8)


def test_sources_import_nothing_from_each_other():
    # The sources (files, tfds, the MNIST family, mixtures) build on the pipeline only; the
    # registry alone knows them all, so the package has no import cycle.
    import ast
    import pathlib

    package = pathlib.Path(registry.__file__).parent
    imports = {}
    for path in package.glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gran_tf.data"):
                names |= ({a.name for a in node.names} if node.module == "gran_tf.data"
                          else {node.module.rsplit(".", 1)[1]})
        imports[path.stem] = names
    for source in ("mnist_files", "tfds_source", "mnist_family", "synthetic"):
        assert imports[source] <= {"pipeline"}, (source, imports[source])
    assert imports["pipeline"] == set()
    # MNIST's loaders (offline files, else tfds) are theirs; the registry only registers them.
    assert imports["mnist_loaders"] == {"mnist_files", "tfds_source"}
    assert "mnist_files" not in imports["registry"] and not hasattr(registry, "load_mnist")
