"""The named run metrics on a tiny MNIST generator: values, figures, errors."""
import hashlib

import gin
import numpy as np
import pytest

from gran_tf.data import DataRecord, data_params
from gran_tf.errors import ConfigError
from gran_tf.eval import run_metrics
from gran_tf.models import DCGANGenerator, MLPGenerator


@pytest.fixture(scope="module")
def mnist_ctx(tmp_path_factory):
    g = DCGANGenerator(image_shape=(28, 28, 1), kernels=(4, 2, 1), z_dim=3, filter_size=3)
    return run_metrics.EvalContext(g, DataRecord("mnist", "unit"), n_samples=12,
                                   plot_dir=str(tmp_path_factory.mktemp("plots")))


def test_real_and_generated_batches_have_the_requested_size_and_range(mnist_ctx):
    real, fake = mnist_ctx.real(12), mnist_ctx.samples(12)
    assert real.shape == fake.shape == (12, 28, 28, 1)
    assert 0.0 <= real.min() and real.max() <= 1.0 and real.max() > 0.5


def test_image_metrics_write_their_figures(mnist_ctx):
    import os

    values = run_metrics.evaluate(mnist_ctx, ["pairwise", "neighbours", "inference"])
    assert values["inference/n"] == 12
    # The mean MSE is the mean of the per-image MSEs the metric saves beside it.
    per_image = np.load(os.path.join(mnist_ctx.plot_dir, "inference_mse.npy"))
    assert per_image.shape == (12,) and values["inference/mean_mse"] == pytest.approx(float(per_image.mean()))
    assert values["neighbours/mean_nearest_distance"] > 0 and 0 < values["pairwise/js"] <= 1.0  # bits
    for name in ("pairwise_distances.png", "nearest_neighbours.png", "worst_reconstructions.png"):
        assert os.path.getsize(os.path.join(mnist_ctx.plot_dir, name)) > 0


def test_modes_metric_on_a_generator_that_outputs_a_mode_exactly():
    ring = run_metrics.EvalContext(MLPGenerator(image_shape=(2,), z_dim=2, hidden=(4,)),
                                   DataRecord("ring", params=data_params("ring")), n_samples=50)
    ring.generator.net.layers[-1].kernel.assign(np.zeros((4, 2), np.float32))
    ring.generator.net.layers[-1].bias.assign(np.array([2.0, 0.0], np.float32))  # mode 0 of the radius-2 ring
    values = run_metrics.evaluate(ring, ["modes"])
    assert values["modes/modes_covered"] == 1 and values["modes/hq_percent"] == 100.0
    assert values["modes/n"] == 50


def test_an_evaluation_is_recorded_in_metrics_jsonl_and_tensorboard(tmp_path):
    """The one record of an evaluation that the trainer, the Evaluate callback and gran-evaluate
    write: the given fields, ``eval/<name>`` values and the judging networks, as a metrics.jsonl
    line and as TensorBoard scalars."""
    import tensorflow as tf

    from gran_tf.rundir import RunDir

    ctx = run_metrics.EvalContext(None, DataRecord("ring", params=data_params("ring")))
    ctx.networks["judge"] = {"name": "d", "sha256": "abc"}
    values = {"modes/modes_covered": 7, "modes/hq_percent": 91.5}
    run_dir = RunDir(str(tmp_path))
    record = run_metrics.evaluation_record(ctx, values, step=12, checkpoint="final", split="test")
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        assert run_metrics.record_evaluation(record, run_dir) is record
    expected = {"step": 12, "checkpoint": "final", "split": "test", "eval/modes/modes_covered": 7,
                "eval/modes/hq_percent": 91.5, "networks": {"judge": {"name": "d", "sha256": "abc"}}}
    assert record == expected and list(record)[:3] == ["step", "checkpoint", "split"]
    assert run_dir.read_metrics() == [expected]
    scalars = {}
    for path in tmp_path.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                scalars[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)))
    assert scalars == {"eval/modes/modes_covered": (12, 7.0), "eval/modes/hq_percent": (12, 91.5)}
    assert run_metrics.evaluation_record(ctx, values, samples="x.npy") == {
        "samples": "x.npy", **{f"eval/{k}": v for k, v in values.items()}, "networks": ctx.networks}
    with tf.summary.create_noop_writer().as_default():  # no run directory: nothing appended
        run_metrics.record_evaluation({**record, "step": 13})
    assert len(run_dir.read_metrics()) == 1


def test_metrics_reject_the_wrong_data(mnist_ctx):
    with pytest.raises(ConfigError):
        run_metrics.evaluate(mnist_ctx, ["modes"])
    with pytest.raises(ConfigError):
        run_metrics.evaluate(mnist_ctx, ["stacked_modes"])
    with pytest.raises(ConfigError):
        run_metrics.check_names(["fid", "bogus"])


def test_inception_score_without_a_classifier_is_refused_before_training():
    gin.clear_config()
    with pytest.raises(ConfigError, match="inception_score.path"):
        run_metrics.check_names(["fid", "is"])
    gin.bind_parameter("inception_score.path", "/some/logits.keras")
    try:
        run_metrics.check_names(["fid", "is"])  # accepted once a classifier is named
    finally:
        gin.clear_config()


def test_scores_record_the_classifier_that_gave_them(mnist_ctx, monkeypatch):
    from gran_tf.eval import classifier as classifier_module

    keras_model = classifier_module.build_model()
    monkeypatch.setattr(classifier_module, "cached_classifier",
                        lambda: classifier_module.DigitClassifier(keras_model, {"test_accuracy": 0.25}))
    mnist_ctx.networks.clear()
    values = run_metrics.evaluate(mnist_ctx, ["mnist_score"])
    assert 1.0 <= values["mnist_score/score"] <= 10.0
    used = mnist_ctx.networks["mnist_classifier"]
    assert used == {"name": keras_model.name, "sha256": run_metrics.weights_digest(keras_model), "test_accuracy": 0.25}
    # The hash is of the weights: one changed number gives another.
    kernel = keras_model.weights[0]
    kernel.assign(kernel.numpy() + np.float32(1e-3) * (np.arange(kernel.numpy().size) == 0).reshape(kernel.shape))
    assert run_metrics.weights_digest(keras_model) != used["sha256"]


@pytest.fixture
def photos(monkeypatch, tmp_path):
    """Forty random 8x8 RGB photos given as an array (10 in the test split), with a private cache."""
    monkeypatch.setenv("GRAN_TF_CACHE", str(tmp_path / "cache"))
    images = np.random.default_rng(0).integers(0, 256, size=(40, 8, 8, 3), dtype=np.uint8)
    return DataRecord.from_array(images, "unit", test_fraction=0.25)


def _fid_context(data, network, samples, **fid):
    return run_metrics.GivenSamples(samples, data, n_samples=len(samples), feature_network=network, **fid)


def test_fid_records_its_protocol_and_caches_the_real_statistics(photos, fake_feature_network, tmp_path):
    n_test, net = photos.split_size("test"), fake_feature_network()
    samples = np.random.default_rng(1).uniform(0, 1, size=(n_test, 8, 8, 3)).astype(np.float32)
    ctx = _fid_context(photos, net, samples)
    values = run_metrics.evaluate(ctx, ["fid", "kid", "prdc"])
    assert values["inception/n_real"] == values["inception/n_fake"] == n_test
    assert {"inception/fid", "inception/kid", "inception/precision", "inception/coverage"} <= set(values)
    facts = ctx.record_facts()["protocols"]["fid"]
    assert {k: facts[k] for k in ("name", "n_fake", "n_real", "split", "quantize")} == {
        "name": "custom", "n_fake": n_test, "n_real": n_test, "split": "test", "quantize": True}
    cache = list((tmp_path / "cache" / "reference_stats").glob("*.npz"))
    assert len(cache) == 1 and facts["reference"]["sha256"] == hashlib.sha256(cache[0].read_bytes()).hexdigest()
    mtime = cache[0].stat().st_mtime_ns
    again = run_metrics.evaluate(_fid_context(photos, net, samples), ["fid"])
    assert again["inception/fid"] == values["inception/fid"]  # the cached statistics, the same kernels
    assert cache[0].stat().st_mtime_ns == mtime


def test_fid_against_a_statistics_file_equals_fid_against_its_images(photos, fake_feature_network, tmp_path):
    from gran_tf.eval.features import feature_statistics
    from gran_tf.eval.reference import to_pixels

    n_test, net = photos.split_size("test"), fake_feature_network()
    samples = np.random.default_rng(2).uniform(0, 1, size=(n_test, 8, 8, 3)).astype(np.float32)
    real = to_pixels(photos.real(n_test, seed=0), (0, 1))
    feature_statistics(real, net, progress=False).save(tmp_path / "ref.npz")
    from_file = _fid_context(photos, net, samples, fid_reference=str(tmp_path / "ref.npz"))
    values = run_metrics.evaluate(from_file, ["fid"])
    expected = run_metrics.evaluate(_fid_context(photos, net, samples), ["fid"])
    assert values["inception/fid"] == pytest.approx(expected["inception/fid"], rel=1e-9)
    assert from_file.protocols["fid"]["reference"]["path"] == str(tmp_path / "ref.npz")


def test_more_real_images_than_the_split_holds_needs_allow_repeats(photos, fake_feature_network):
    n_test, net = photos.split_size("test"), fake_feature_network()
    samples = np.zeros((n_test + 5, 8, 8, 3), np.float32)
    with pytest.raises(ConfigError, match=f"which holds {n_test}: ask for fewer"):
        run_metrics.evaluate(_fid_context(photos, net, samples), ["fid"])
    allowed = _fid_context(photos, net, samples, allow_repeats=True)
    assert run_metrics.evaluate(allowed, ["fid"])["inception/n_real"] == n_test + 5
