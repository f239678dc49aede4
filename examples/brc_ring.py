"""BRC (the outer-product best-response gradient) on the Unrolled GAN paper's ring of 8 Gaussians,
with gran_tf's networks, a run directory and the mode-coverage evaluation, through Keras `fit`.

    python examples/brc_ring.py                  # GRAN_EXAMPLE_STEPS=20 for a smoke run
    gran-evaluate --model_dir=runs/examples/brc_ring --metrics=modes
"""
import os

import keras

import gran_tf as gt

STEPS = int(os.environ.get("GRAN_EXAMPLE_STEPS", 5000))
OUT = os.path.join(os.environ.get("GRAN_EXAMPLE_DIR", "runs/examples"), "brc_ring")

keras.utils.set_random_seed(0)  # the networks' initial weights
dataset = gt.make_dataset("ring", batch_size=512, seed=0)  # (points [512, 2], mode labels), endless
gan = gt.GANModel(gt.models.MLPGenerator(image_shape=(2,), z_dim=256, hidden=(128, 128)),
                  gt.models.MLPDiscriminator(image_shape=(2,), hidden=(128,)),
                  updater=gt.updaters.BRC(hessian="outer_product", inner_steps=1), seed=0)
gan.compile(g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5), d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))
every = max(STEPS // 5, 1)
gan.fit(dataset, steps_per_epoch=every, epochs=STEPS // every, verbose=2, callbacks=[
    gt.callbacks.RunDirectory(OUT, "ring"),  # first: it claims the directory the others write into
    gt.callbacks.Evaluate(["modes"], "ring", directory=OUT),  # adds eval/modes/* to the epoch's logs
    gt.callbacks.SampleGrid(OUT, data="ring")])
print({k: v for k, v in gt.evaluate(gan.generator, "ring", ["modes"]).items() if "modes_covered" in k or "hq" in k})
