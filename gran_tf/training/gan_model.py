"""``GANModel``: a generator against a discriminator as one ``keras.Model`` whose ``train_step``
is an updater's step, so that ``fit``, its callbacks and ``tf.distribute`` train any gran_tf GAN.

The one implementation of a training step in the project: the Trainer calls ``update`` too.

    gan = GANModel(generator, discriminator, updater=Unrolled(steps=5), seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.Adam(1e-4))
    gan.fit(dataset, epochs=10, callbacks=[keras.callbacks.CSVLogger("log.csv")])
    images = gan(z)  # the generator

Data: each element of ``dataset`` is a batch of real examples, ``x`` or ``(x, label, ...)``
(labels are not used). An updater that takes several batches a step (``Alternating(n_disc)``,
BRC's inner steps) gets consecutive batches grouped by ``fit``; ``steps_per_epoch`` then counts
training steps, not batches. Randomness (latents, penalties) is drawn statelessly from
(``seed``, ``step``), ``step`` being a weight of the model, so a restored model continues the
same random stream.
"""
import keras
import numpy as np
import tensorflow as tf

from gran_tf.errors import ConfigError
from gran_tf.models.logits import as_logits
from gran_tf.settings import integer_setting
from gran_tf.training.losses import GANLoss, NonSaturating
from gran_tf.training.optimizers import checked_optimizer
from gran_tf.training.updaters.alternating import Alternating
from gran_tf.training.updaters.base import GANState, Updater


def latent_shape_of(generator, latent_shape=None):
    """The shape of one latent vector: ``latent_shape``, the generator's ``z_shape`` (gran_tf's
    networks), or a functional/Sequential generator's input shape."""
    if latent_shape is not None:
        return tuple(int(d) for d in np.atleast_1d(latent_shape))
    if getattr(generator, "z_shape", None) is not None:
        return tuple(generator.z_shape)
    try:
        shape = tuple(generator.input_shape[1:])
    except (AttributeError, ValueError):
        shape = ()
    if not shape or None in shape:
        raise ConfigError(f"cannot tell the latent shape of generator {generator.name!r}: "
                          "pass GANModel(..., latent_shape=...)")
    return shape


def as_pairs(element, count):
    """``count`` real batches as ``(x, label or None)`` pairs, from one dataset element (count
    1: ``x``, ``(x,)`` or ``(x, y[, w])``) or a tuple of ``count`` such elements."""
    elements = (element,) if count == 1 else tuple(element)
    if len(elements) != count:
        raise ConfigError(f"the updater takes {count} batches a step, got a group of {len(elements)}")
    pairs = []
    for item in elements:
        if isinstance(item, (tuple, list)):
            pairs.append((item[0], item[1] if len(item) > 1 else None))
        else:
            pairs.append((item, None))
    return tuple(pairs)


def group_batches(dataset, count):
    """Consecutive ``count`` batches of ``dataset`` as one element (a tuple), the input of an
    updater that takes ``count`` batches a step. Batches must share a size: a dataset batched
    without ``drop_remainder`` is rebatched to its first batch's size."""
    if count == 1:
        return dataset
    first = tf.nest.flatten(dataset.element_spec)[0]
    if first.shape.rank and first.shape[0] is None:
        size = int(tf.shape(tf.nest.flatten(next(iter(dataset.take(1))))[0])[0])
        dataset = dataset.unbatch().batch(size, drop_remainder=True)
    grouped = dataset.batch(count, drop_remainder=True)
    return grouped.map(lambda *e: tuple(tf.nest.map_structure(lambda t: t[i], e if len(e) > 1 else e[0])
                                        for i in range(count)))


def global_batch_size(x):
    """The global batch of this replica's ``x``: static when every replica gets a full share,
    else summed over the replicas."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if x.shape[0] is not None and replicas == 1:
        return int(x.shape[0])
    ctx = tf.distribute.get_replica_context()
    if x.shape[0] is not None and ctx is not None:
        return int(x.shape[0]) * ctx.num_replicas_in_sync
    local = tf.shape(x)[0]
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, local) if ctx is not None else local


def replica_sum(values):
    """Per-replica shares of a global mean, summed over the replicas (the same in every replica),
    so that Keras' reduction of step outputs ("mean", or "first" on TPU) returns the global value."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return values
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, values)


class GANModel(keras.Model):
    """``generator`` against ``discriminator``, moved by ``updater`` (default ``Alternating()``)
    on ``loss`` (default ``NonSaturating()``); ``call(z)`` is the generator.

    Build it under ``strategy.scope()`` to train it distributed; the step then makes the update
    of one device with the same global batch.
    """

    def __init__(self, generator, discriminator, updater=None, loss=None, seed=0, latent_shape=None,
                 name="gan", **kwargs):
        super().__init__(name=name, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.updater = Alternating() if updater is None else updater
        self.gan_loss = NonSaturating() if loss is None else loss
        if not isinstance(self.updater, Updater):
            raise ConfigError(f"the updater must be one of gran_tf's updaters (Alternating(), Unrolled(), ...), "
                              f"got {updater!r}")
        if not isinstance(self.gan_loss, GANLoss):
            raise ConfigError(f"the loss must be one of gran_tf's losses (NonSaturating(), Hinge(), ...), got {loss!r}")
        self.seed = integer_setting("GANModel.seed", seed)
        self.z_shape = latent_shape_of(generator, latent_shape)
        if getattr(generator, "z_shape", None) is None:
            generator.z_shape = self.z_shape  # evaluation and sampling read it there
        self.step = self.add_weight(shape=(), dtype="int64", initializer="zeros", trainable=False,
                                    aggregation="only_first_replica", name="step")
        self._trackers = {name: keras.metrics.Mean(name=name) for name in self.updater.metric_names}
        self.g_optimizer = self.d_optimizer = None

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def compile(self, g_optimizer="adam", d_optimizer="adam", steps_per_execution=1, jit_compile=False, **kwargs):
        """The two players' optimizers (instances or names) and Keras' execution settings."""
        g_optimizer, d_optimizer = checked_optimizer("g_optimizer", g_optimizer), checked_optimizer("d_optimizer",
                                                                                                    d_optimizer)
        if g_optimizer is d_optimizer:
            raise ConfigError("the generator and the discriminator need optimizers of their own")
        scaled = [o for o in (g_optimizer, d_optimizer) if isinstance(o, keras.optimizers.LossScaleOptimizer)]
        if scaled and not self.updater.loss_scaling:
            raise ConfigError(f"{type(self.updater).__name__} does not scale its losses: train it in float32 or "
                              "mixed_bfloat16, not with a LossScaleOptimizer (mixed_float16)")
        super().compile(optimizer=None, steps_per_execution=integer_setting(
            "steps_per_execution", steps_per_execution, 1), jit_compile=bool(jit_compile), **kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        with self.distribute_strategy.scope():
            self._build_networks()
            # Slots exist before the first step (a checkpoint restore fills them).
            g_optimizer.build(self.generator.trainable_variables)
            d_optimizer.build(self.discriminator.trainable_variables)

    def _build_networks(self):
        """Builds both networks on one latent; a discriminator with [B, 1] logits is seen
        through ``Logits`` (the updaters and losses take logits of shape [B])."""
        try:
            self.discriminator = as_logits(self.discriminator, self.generator(tf.zeros([2, *self.z_shape])))
        except ValueError as err:
            raise ConfigError(str(err)) from None
        self.built = True

    @property
    def metrics(self):
        return list(self._trackers.values())

    def gan_state(self, global_batch):
        if self.g_optimizer is None:
            raise ConfigError("GANModel: call compile(g_optimizer=..., d_optimizer=...) before training")
        return GANState(self.generator, self.discriminator, self.g_optimizer, self.d_optimizer, self.gan_loss,
                        global_batch, self.seed)

    def update(self, data):
        """One training step in the replica context: the updater moves G and D on the real
        batches of ``data`` and the step counter advances. Returns the step's metrics summed over
        the replicas."""
        batches = as_pairs(data, self.updater.batches_per_step)
        state = self.gan_state(global_batch_size(batches[0][0]))
        # Every state change waits for the data: the call that finds a finite dataset's end must
        # not advance the step counter or the optimizers' iterations (which nothing else orders).
        with tf.control_dependencies([t for t in tf.nest.flatten(batches) if t is not None]):
            metrics = self.updater.step(state, batches, tf.identity(self.step.value))
            self.step.assign_add(1)
        return replica_sum(metrics)

    def train_step(self, data):
        values = self.update(data)
        for name, value in values.items():
            self._trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def test_step(self, data):
        raise NotImplementedError("GANModel has no validation loss; evaluate with gran_tf.callbacks.Evaluate")

    def fit(self, x=None, y=None, batch_size=None, epochs=1, shuffle=True, **kwargs):
        """``keras.Model.fit``, with the batches an updater takes per step grouped for it. Arrays
        are batched (``batch_size``, default 32; partial batches dropped) and, with ``shuffle``,
        reshuffled every epoch with the model's seed. ``steps_per_epoch`` must be a multiple of
        ``compile``'s ``steps_per_execution``."""
        count = self.updater.batches_per_step
        steps_per_epoch = kwargs.get("steps_per_epoch")
        if steps_per_epoch and steps_per_epoch % self.steps_per_execution:
            # Keras would run whole executions: an epoch of 5 steps would train 50
            raise ConfigError(f"fit: steps_per_epoch ({steps_per_epoch}) is not a multiple of the model's "
                              f"steps_per_execution ({self.steps_per_execution})")
        if isinstance(x, np.ndarray):
            x = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
            if shuffle:
                x = x.shuffle(len(x), seed=self.seed, reshuffle_each_iteration=True)
            x, y, batch_size = x.batch(batch_size or 32, drop_remainder=True), None, None
        if count > 1:
            if not isinstance(x, tf.data.Dataset):
                raise ConfigError(f"{type(self.updater).__name__} takes {count} batches a step: give fit a "
                                  "tf.data.Dataset or an array")
            x = group_batches(x, count)
        # A dataset comes in its own order (Keras would only warn about shuffle).
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, **kwargs)
