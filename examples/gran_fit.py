"""GRAN (T = 3 drawing steps, Im et al. 2016) on MNIST with Keras `fit` and the gran_tf callbacks:
sample grids with the canvas after each drawing step, the MNIST-classifier score every epoch,
and a run directory that `gran-evaluate`, `gran-battle` and `gran-sample` read.

    python examples/gran_fit.py                  # GRAN_EXAMPLE_STEPS=20 for a smoke run
    gran-sample --model_dir=runs/examples/gran_fit --n=8 --canvases --out=canvases.png
"""
import os

import keras

import gran_tf as gt

STEPS = int(os.environ.get("GRAN_EXAMPLE_STEPS", 6000))
OUT = os.path.join(os.environ.get("GRAN_EXAMPLE_DIR", "runs/examples"), "gran_fit")

keras.utils.set_random_seed(0)
dataset = gt.make_dataset("mnist", batch_size=100, seed=0)  # [0, 1] images for GRAN's sigmoid canvas
gan = gt.GANModel(gt.models.GRANGenerator(image_shape=(28, 28, 1), steps=3),
                  gt.models.DCGANDiscriminator(image_shape=(28, 28, 1)), seed=0)
gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
every = max(STEPS // 6, 1)
log_dir = os.path.join(OUT, "tensorboard")
gan.fit(dataset, steps_per_epoch=every, epochs=STEPS // every, verbose=2, callbacks=[
    gt.callbacks.RunDirectory(OUT, "mnist"),  # first: it claims the directory the others write into
    gt.callbacks.SampleGrid(OUT, log_dir=log_dir),
    keras.callbacks.TensorBoard(log_dir)])
print(f"run directory {OUT} at step {int(gan.step.numpy())}")
