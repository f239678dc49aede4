"""The project's MNIST digit classifier, used to label and embed generated digits.

Stacked-MNIST mode counting, the "MNIST score" and the Fréchet distance on digit features all
need a strong digit classifier (docs/evaluation.md#digit-classifier: ~99.2% test accuracy in the literature). This
module trains a small Keras CNN on real MNIST, stores it with its measured test accuracy in
``gran_tf.cache.cache_dir("mnist_classifier")`` and loads it back.

Input convention: float images in [0, 1], shaped [N, 28, 28, 1] or [N, 28, 28]. Images on
another scale (e.g. generators with a tanh output in [-1, 1]) must say so with
``value_range=(-1.0, 1.0)``; values outside the declared range raise GranError, so a
mismatch is never silently guessed around.
"""
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from gran_tf.cache import cache_dir
from gran_tf.data import load_mnist
from gran_tf.errors import GranError

UNIT_RANGE = (0.0, 1.0)
MODEL_FILE = "classifier.keras"
INFO_FILE = "classifier.json"
FEATURES_LAYER = "features"
_RANGE_SLACK = 1e-3  # float round-off allowed outside the declared value range


def default_dir():
    """``$GRAN_TF_CACHE/mnist_classifier``."""
    return cache_dir("mnist_classifier")


def build_model():
    """Two conv blocks (3x3 conv + ReLU + 2x2 max-pool), a 128-unit ReLU layer, 10 logits."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for width in (32, 64):
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = keras.layers.Dropout(0.3)(features)
    logits = keras.layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, logits, name="mnist_classifier")


def rescale_to_unit(images, value_range=UNIT_RANGE):
    """float32 copy of float ``images`` mapped from the declared ``value_range`` to [0, 1]."""
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.floating):
        raise GranError(f"expected float images, got dtype {images.dtype} "
                        "(convert uint8 images with images / 255.0)")
    low, high = (float(v) for v in value_range)
    if not high > low:
        raise GranError(f"value_range must be (low, high) with high > low, got {value_range}")
    if images.size:
        slack = _RANGE_SLACK * (high - low)
        if not np.isfinite(images).all() or images.min() < low - slack or images.max() > high + slack:
            raise GranError(
                f"images have values in [{images.min():.3g}, {images.max():.3g}], outside the "
                f"declared value_range {tuple(value_range)}; pass the range they are really on")
    return np.clip((images - low) / (high - low), 0.0, 1.0).astype(np.float32)


def to_unit_images(images, value_range=UNIT_RANGE):
    """Classifier input float32 [N, 28, 28, 1] in [0, 1] from [N, 28, 28(, 1)] images in ``value_range``."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise GranError(f"classifier input must be [N, 28, 28, 1] or [N, 28, 28], got {images.shape}")
    return rescale_to_unit(images, value_range)


def mnist_unit_images(split, data_dir=None):
    """Real MNIST ``split`` as (float32 [N, 28, 28, 1] in [0, 1], int64 labels)."""
    images, labels = load_mnist(split, data_dir=data_dir)
    return images[..., None].astype(np.float32) / 255.0, labels


def fit_model(x_train, y_train, epochs=3, batch_size=128, seed=0, verbose=2):
    """A freshly built classifier trained on cross-entropy from logits by Adam, lr 1e-3 cosine-decayed to 0."""
    keras.utils.set_random_seed(seed)
    model = build_model()
    total_steps = epochs * -(-len(x_train) // batch_size)
    learning_rate = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=total_steps)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    return model


class DigitClassifier:
    """A trained digit classifier: labels, logits and penultimate-layer features of images."""

    def __init__(self, model, info=None, batch_size=1000):
        self.model = model
        self.info = dict(info or {})
        self.batch_size = batch_size
        two_heads = keras.Model(model.input, [model.get_layer(FEATURES_LAYER).output, model.output])
        # traced once (twice with a ragged last batch): 1.8x faster than eager calls on CPU
        self._two_heads = tf.function(lambda x: two_heads(x, training=False), reduce_retracing=True)

    def _run(self, images, value_range):
        x = to_unit_images(images, value_range)
        if len(x) == 0:
            raise GranError("the classifier was given no images")
        feats, logits = [], []
        for start in range(0, len(x), self.batch_size):
            feat, logit = self._two_heads(x[start:start + self.batch_size])
            feats.append(np.asarray(feat))
            logits.append(np.asarray(logit))
        return np.concatenate(feats), np.concatenate(logits)

    def logits(self, images, value_range=UNIT_RANGE):
        """float32 [N, 10] unnormalised class scores."""
        return self._run(images, value_range)[1]

    def features(self, images, value_range=UNIT_RANGE):
        """float32 [N, 128] activations of the penultimate (ReLU) layer."""
        return self._run(images, value_range)[0]

    def predict_labels(self, images, value_range=UNIT_RANGE):
        """int64 [N] most likely digit."""
        return np.argmax(self.logits(images, value_range), axis=1).astype(np.int64)

    def accuracy(self, images, labels, value_range=UNIT_RANGE):
        """Fraction of ``images`` whose predicted digit equals ``labels``."""
        return float(np.mean(self.predict_labels(images, value_range) == np.asarray(labels)))


def save_classifier(classifier, directory):
    """Writes the Keras model and its info JSON into ``directory``."""
    os.makedirs(directory, exist_ok=True)
    classifier.model.save(os.path.join(directory, MODEL_FILE))
    with open(os.path.join(directory, INFO_FILE), "w", encoding="utf-8") as f:
        json.dump(classifier.info, f, indent=2, sort_keys=True)


def train_classifier(epochs=3, seed=0, batch_size=128, output_dir=None, data_dir=None, verbose=2):
    """Trains on the 60k MNIST training images, measures test accuracy, saves; returns the classifier."""
    x_train, y_train = mnist_unit_images("train", data_dir)
    x_test, y_test = mnist_unit_images("test", data_dir)
    start = time.time()
    model = fit_model(x_train, y_train, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose)
    train_seconds = time.time() - start
    classifier = DigitClassifier(model)
    classifier.info = {
        "test_accuracy": classifier.accuracy(x_test, y_test),
        "train_seconds": round(train_seconds, 1),
        "epochs": epochs, "seed": seed, "batch_size": batch_size,
        "n_train": int(len(x_train)), "n_test": int(len(x_test)),
        "keras_version": keras.__version__,
    }
    save_classifier(classifier, output_dir or default_dir())
    return classifier


def cached_classifier(directory=None, train_if_missing=True):
    """The classifier stored in ``directory`` (default cache); trained there first if absent."""
    directory = str(directory or default_dir())
    model_path = os.path.join(directory, MODEL_FILE)
    if not os.path.exists(model_path):
        if not train_if_missing:
            raise GranError(f"no MNIST classifier in {directory}: run gran-train-classifier")
        print(f"No MNIST classifier in {directory}: training one now (a few minutes on CPU).", flush=True)
        return train_classifier(output_dir=directory)
    try:
        model = keras.saving.load_model(model_path)
        with open(os.path.join(directory, INFO_FILE), encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError) as err:
        raise GranError(f"unreadable MNIST classifier in {directory} ({err}); delete it to retrain") from err
    return DigitClassifier(model, info)
