"""Inference via optimisation (Unrolled GAN paper, CIFAR10 section).

For each target image x, find z* = argmin_z ||G(z) - x||^2 with L-BFGS from random starts
(the best of ``restarts``), and report the pixel-space MSE between G(z*) and x. A generator
that dropped modes cannot reconstruct the training images that lie in them.
``percent_best_rank`` then gives, for a set of models, the percentage of target images each
model reconstructs best.

Batching: tensorflow-probability's L-BFGS accepts a batch of independent problems, a
position of shape [N, dz]. The objective value is the per-image squared error [N]; its
gradient is taken of the sum over images, which decouples into the per-image gradients
because G maps each z to its own image (the generator must not mix a batch: batch norm in
inference mode). Each image therefore gets its own line search and convergence test, and
the run stops when every image has converged or failed, or after ``max_iterations``.
"""
import dataclasses

import numpy as np
import tensorflow as tf

PRIORS = ("normal", "uniform")


@dataclasses.dataclass
class InferenceResult:
    """Per-image reconstruction errors and the latents found."""

    mse: np.ndarray  # [N] mean over pixels of (G(z*) - x)^2
    z: np.ndarray  # [N, dz]
    reconstructions: np.ndarray  # [N, ...] G(z*)
    converged: np.ndarray  # [N] bool: L-BFGS met its gradient tolerance

    @property
    def mean_mse(self):
        return float(np.mean(self.mse))

    def summary(self):
        """JSON-friendly figures: mean and median MSE, images, fraction converged."""
        return {
            "n_images": int(len(self.mse)),
            "mean_mse": self.mean_mse,
            "median_mse": float(np.median(self.mse)),
            "fraction_converged": float(np.mean(self.converged)),
        }


def _tfp():
    """tensorflow-probability, imported on first use (it needs tf-keras installed)."""
    try:
        import tensorflow_probability as tfp
    except ImportError as err:
        raise ImportError(
            "inference via optimisation needs tensorflow-probability==0.25.0 and tf-keras "
            f"(pip install tensorflow-probability==0.25.0 tf-keras==2.21.0): {err}"
        ) from err
    return tfp


def initial_latents(n, latent_dim, prior="normal", seed=0):
    """Seeded random starting points: N(0, I) or U(-1, 1) over [n, latent_dim], float32."""
    rng = np.random.default_rng(seed)
    if prior == "normal":
        return rng.standard_normal((n, latent_dim)).astype(np.float32)
    if prior == "uniform":
        return rng.uniform(-1.0, 1.0, (n, latent_dim)).astype(np.float32)
    raise ValueError(f"unknown prior {prior!r}; expected one of {PRIORS}")


def _lbfgs_solver(generator, latent_dim, image_size, max_iterations, tolerance):
    """A compiled function (z0 [n, dz], x [n, pixels]) -> (z*, converged) for one batch."""
    tfp = _tfp()

    def squared_error(z, x):  # ||G(z) - x||^2 per image, the paper's objective; x is flattened
        return tf.reduce_sum(tf.square(tf.reshape(generator(z), tf.shape(x)) - x), axis=1)

    def solve(z0, x):
        result = tfp.optimizer.lbfgs_minimize(
            lambda z: tfp.math.value_and_gradient(lambda z_: squared_error(z_, x), z),
            initial_position=z0,
            max_iterations=max_iterations,
            tolerance=tolerance,
        )
        return result.position, result.converged

    # one trace for every batch size: [batch, dz] latents, [batch, pixels] flattened targets
    signature = [tf.TensorSpec([None, latent_dim], tf.float32), tf.TensorSpec([None, image_size], tf.float32)]
    return tf.function(solve, input_signature=signature)


def infer_latents(
    generator,
    targets,
    latent_dim,
    max_iterations=100,
    prior="normal",
    seed=0,
    batch_size=256,
    tolerance=1e-6,
    restarts=1,
):
    """Reconstruct each target by L-BFGS over z; returns an ``InferenceResult``.

    ``generator``: callable z [n, latent_dim] float32 -> images shaped like ``targets``
    (a Keras model, called in inference mode, or a tf.function); ``targets`` must be on the
    generator's output scale. Targets are optimised ``batch_size`` at a time, each batch as
    one batched L-BFGS run from seeded starts drawn from ``prior``. ``tolerance`` bounds the
    sup-norm of each image's gradient for convergence. With ``restarts`` > 1 the search is
    repeated from fresh starts (restart r draws them with seed ``seed + r``) and each image
    keeps the restart that reconstructs it best (the paper's random restarts).
    """
    if restarts < 1:
        raise ValueError(f"restarts must be >= 1, got {restarts}")
    targets = np.asarray(targets, dtype=np.float32)
    n = len(targets)
    image_size = np.asarray(generator(initial_latents(1, latent_dim, prior, seed))).size
    if image_size != targets[0].size:
        raise ValueError(f"generator images have {image_size} values but targets have shape {targets.shape[1:]}")
    flat = targets.reshape(n, -1)
    solve = _lbfgs_solver(generator, latent_dim, image_size, max_iterations, tolerance)
    best = None
    for restart in range(restarts):
        z0 = initial_latents(n, latent_dim, prior, seed + restart)
        found = _solve_in_batches(generator, solve, z0, flat, batch_size)
        best = found if best is None else _keep_better(best, found)
    return best


def _solve_in_batches(generator, solve, z0, flat_targets, batch_size):
    """One L-BFGS search per image from ``z0``, ``batch_size`` images per compiled call."""
    n = len(z0)
    z, converged = np.empty_like(z0), np.empty(n, dtype=bool)
    for start in range(0, n, batch_size):
        sl = slice(start, start + batch_size)
        z_b, ok_b = solve(tf.constant(z0[sl]), tf.constant(flat_targets[sl]))
        z[sl], converged[sl] = z_b.numpy(), ok_b.numpy()
    recons = np.concatenate([np.asarray(generator(z[s : s + batch_size])) for s in range(0, n, batch_size)])
    mse = np.mean(np.square(recons.reshape(n, -1) - flat_targets), axis=1)
    return InferenceResult(mse=mse, z=z, reconstructions=recons, converged=converged)


def _keep_better(a, b):
    """Per image, the result of ``a`` or ``b`` with the lower MSE (``a`` on ties)."""
    take_b = b.mse < a.mse
    pick = lambda x, y: np.where(take_b.reshape(-1, *[1] * (x.ndim - 1)), y, x)  # noqa: E731
    return InferenceResult(mse=pick(a.mse, b.mse), z=pick(a.z, b.z),
                           reconstructions=pick(a.reconstructions, b.reconstructions),
                           converged=pick(a.converged, b.converged))


def percent_best_rank(mse_by_model):
    """Percentage of images on which each model has the lowest MSE (paper's "percent best rank").

    ``mse_by_model``: name -> per-image MSE [N], all models on the same N targets. An image
    on which m models tie for the lowest MSE credits 1/m to each, so the percentages sum to 100.
    """
    names = list(mse_by_model)
    mse = np.stack([np.asarray(mse_by_model[n], dtype=np.float64) for n in names])  # [models, N]
    best = mse == mse.min(axis=0, keepdims=True)
    credit = best / best.sum(axis=0, keepdims=True)
    return {n: float(100.0 * c) for n, c in zip(names, credit.mean(axis=1))}
