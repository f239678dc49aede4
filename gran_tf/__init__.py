"""gran_tf: GRAN generators, game-aware GAN training and quantitative GAN evaluation.

    import gran_tf as gt

    gan = gt.GANModel(generator, discriminator, updater=gt.updaters.Unrolled(steps=5))
    gan.compile(g_optimizer="adam", d_optimizer="adam")
    gan.fit(dataset, epochs=10, callbacks=[gt.callbacks.SampleGrid("runs/mine")])

The public names, loaded on first use (``import gran_tf`` itself does not import TensorFlow):

- ``GANModel``: a ``keras.Model`` whose ``train_step`` is an updater's step (``fit``, callbacks,
  ``tf.distribute``); ``Trainer``: the CLI's controller of a GANModel (run directory, resume,
  signals, gin).
- ``updaters`` (Alternating, Unrolled, Proximal, BRC), ``losses`` (NonSaturating, Minimax,
  LeastSquares, Hinge, Wasserstein), ``models`` (GRANGenerator, DCGAN*, MLP*, LSTMGenerator),
  ``callbacks`` (SampleGrid, Evaluate, RunDirectory), ``data`` and ``make_dataset``,
  ``make_strategy``.
- Evaluation: ``frechet_distance`` and ``kernel_distance`` of two activation sets (FID, KID with
  TF-GAN's math), ``precision_recall`` and ``density_coverage`` of two feature sets,
  ``mode_coverage`` (the VEEGAN/PacGAN protocol), ``pairwise_distances`` (distances between
  random pairs of samples and of data, the ``pairwise`` metric), ``battle`` (GAM), ``evaluate``
  (the named metrics of a generator on its run's data, as ``gran-evaluate`` computes them),
  ``load_run`` (a run directory's networks and record), ``mean_se`` (mean and standard error
  over seeds, as the result tables report them).
"""
import importlib

__version__ = "0.1.0"

_MODULES = {
    "callbacks": "gran_tf.training.callbacks",
    "data": "gran_tf.data",
    "losses": "gran_tf.training.losses",
    "models": "gran_tf.models",
    "updaters": "gran_tf.training.updaters",
}
_NAMES = {
    "GANModel": "gran_tf.training.gan_model",
    "Trainer": "gran_tf.training.trainer",
    "make_dataset": "gran_tf.data",
    "make_strategy": "gran_tf.distribute",
    "frechet_distance": "gran_tf.eval.tfgan_math",
    "kernel_distance": "gran_tf.eval.tfgan_math",
    "precision_recall": "gran_tf.eval.manifold",
    "density_coverage": "gran_tf.eval.manifold",
    "mode_coverage": "gran_tf.eval.modes",
    "pairwise_distances": "gran_tf.eval.diversity",
    "battle": "gran_tf.eval.gam",
    "evaluate": "gran_tf.eval.api",
    "load_run": "gran_tf.eval.loading",
    "mean_se": "gran_tf.eval.statistics",
}
__all__ = sorted([*_MODULES, *_NAMES])


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(_MODULES[name])
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'gran_tf' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
