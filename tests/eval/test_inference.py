import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from gran_tf.eval import inference

LATENT_DIM, IMAGE_SHAPE = 6, (4, 4, 1)


def affine_tanh_weights(seed=1):
    """A [16, 6] of full column rank and b: G(z) = tanh(A z + b) is injective, so z is identifiable."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((16, LATENT_DIM)).astype(np.float32) / np.sqrt(LATENT_DIM)
    b = (0.1 * rng.standard_normal(16)).astype(np.float32)
    return a, b


def keras_generator(a, b):
    model = keras.Sequential(
        [keras.Input((LATENT_DIM,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Reshape(IMAGE_SHAPE)]
    )
    model.layers[0].set_weights([a.T, b])
    return model


@pytest.fixture(scope="module")
def problem():
    a, b = affine_tanh_weights()
    z_true = np.random.default_rng(2).uniform(-1, 1, (10, LATENT_DIM)).astype(np.float32)
    generator = keras_generator(a, b)
    targets = np.asarray(generator(z_true))
    found = inference.infer_latents(generator, targets, LATENT_DIM, max_iterations=50, seed=3, batch_size=4)
    return generator, z_true, targets, found


def test_lbfgs_recovers_latents_of_a_keras_generator(problem):
    _, z_true, targets, res = problem
    np.testing.assert_allclose(res.z, z_true, atol=1e-4)
    assert res.mse.shape == (10,) and np.all(res.mse < 1e-10)
    assert res.mean_mse == pytest.approx(float(np.mean(res.mse)))
    assert res.reconstructions.shape == targets.shape
    assert res.converged.all()
    summary = res.summary()
    assert summary["n_images"] == 10 and summary["fraction_converged"] == 1.0
    json.dumps(summary)


@pytest.mark.slow  # a third L-BFGS trace (~10-30 s on 2 shared cores)
def test_lbfgs_on_a_tf_function_generator_matches_the_keras_one(problem):
    _, _, targets, from_keras = problem
    a, b = affine_tanh_weights()

    @tf.function
    def generator(z):
        return tf.reshape(tf.tanh(tf.matmul(z, a.T) + b), (-1, *IMAGE_SHAPE))

    # batched L-BFGS solves each image independently: the batch split does not change the answer
    from_fn = inference.infer_latents(generator, targets, LATENT_DIM, max_iterations=50, seed=3, batch_size=10)
    np.testing.assert_allclose(from_fn.z, from_keras.z, atol=1e-5)


def test_max_iterations_limits_the_search_and_targets_may_drop_the_channel_axis(problem):
    generator, _, targets, _ = problem
    start = inference.initial_latents(len(targets), LATENT_DIM, seed=3)
    start_mse = np.mean(np.square(np.asarray(generator(start)) - targets).reshape(len(targets), -1), axis=1)
    res = inference.infer_latents(generator, targets[..., 0], LATENT_DIM, max_iterations=1, seed=3)
    assert res.reconstructions.shape == targets.shape and res.mse.shape == (10,)
    assert not res.converged.any()
    assert np.all(res.mse > 1e-6)
    assert res.mean_mse < np.mean(start_mse)  # one step still descends
    with pytest.raises(ValueError, match="16 values"):
        inference.infer_latents(generator, targets[:, :2], LATENT_DIM)


def test_restarts_keep_each_images_best_start(problem):
    generator, _, targets, _ = problem
    # two L-BFGS iterations leave every start short of the optimum, by an amount that depends on the start
    singles = [inference.infer_latents(generator, targets, LATENT_DIM, max_iterations=2, seed=5 + r) for r in range(2)]
    best = inference.infer_latents(generator, targets, LATENT_DIM, max_iterations=2, seed=5, restarts=2)
    mse = np.stack([s.mse for s in singles])
    winner = np.argmin(mse, axis=0)
    assert len(set(winner)) > 1  # the restarts matter: different images are won by different starts
    np.testing.assert_allclose(best.mse, mse.min(axis=0), rtol=1e-5)
    np.testing.assert_allclose(best.z, np.stack([s.z for s in singles])[winner, np.arange(len(winner))], atol=1e-6)
    assert best.reconstructions.shape == targets.shape
    with pytest.raises(ValueError, match="restarts"):
        inference.infer_latents(generator, targets, LATENT_DIM, restarts=0)


def test_initial_latents_are_seeded():
    a = inference.initial_latents(5, 3, "normal", seed=7)
    np.testing.assert_array_equal(a, inference.initial_latents(5, 3, "normal", seed=7))
    assert not np.array_equal(a, inference.initial_latents(5, 3, "normal", seed=8))
    u = inference.initial_latents(1000, 3, "uniform", seed=7)
    assert u.dtype == np.float32 and u.min() >= -1 and u.max() <= 1 and u.min() < -0.99 and u.max() > 0.99
    with pytest.raises(ValueError):
        inference.initial_latents(5, 3, "cauchy")


def test_percent_best_rank_splits_ties():
    mse = {
        "k0": np.array([1.0, 2.0, 3.0, 4.0]),
        "k5": np.array([2.0, 1.0, 3.5, 5.0]),
        "k10": np.array([3.0, 3.0, 1.0, 4.0]),  # ties k0 on the last image
    }
    ranks = inference.percent_best_rank(mse)
    assert ranks == pytest.approx({"k0": 37.5, "k5": 25.0, "k10": 37.5})
    assert sum(ranks.values()) == pytest.approx(100.0)
    assert inference.percent_best_rank({"only": np.ones(3)}) == {"only": 100.0}
