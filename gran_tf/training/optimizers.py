"""Keras 3 optimizers exposed to gin (``gin.tf`` does not import on TF >= 2.16).

Use scopes for the two players: ``Trainer.g_optimizer = @g/keras.optimizers.Adam`` and
``g/keras.optimizers.Adam.learning_rate = 1e-4``.
"""
import gin
import keras
import tensorflow as tf

from gran_tf.errors import ConfigError
from gran_tf.settings import number_setting

for _cls in (keras.optimizers.Adam, keras.optimizers.SGD, keras.optimizers.RMSprop):
    gin.external_configurable(_cls, module="keras.optimizers")

for _schedule in (keras.optimizers.schedules.InverseTimeDecay, keras.optimizers.schedules.ExponentialDecay):
    gin.external_configurable(_schedule, module="keras.optimizers.schedules")


def checked_optimizer(setting, value):
    """An optimizer given as an instance, a Keras name ("adam") or a class (gin:
    ``@keras.optimizers.Adam``), its hyperparameters checked (``check_hyperparameters``)."""
    try:
        built = value() if isinstance(value, type) else keras.optimizers.get(value)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{setting}: {str(err).strip().splitlines()[0]}") from None
    check_hyperparameters(setting, built)
    return built


def check_hyperparameters(setting, optimizer):
    """A positive learning rate (a schedule's, at steps 0 and a million), Adam's betas in [0, 1),
    a positive epsilon and a non-negative weight decay, where the optimizer has them."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer's
    rate = inner._learning_rate
    schedule = rate if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule) else None
    for step in (0, 10**6) if schedule else (None,):
        try:
            value = float(keras.ops.convert_to_numpy(rate if schedule is None else schedule(step)))
        except (ValueError, TypeError, tf.errors.OpError) as err:
            raise ConfigError(f"{setting}: its learning-rate schedule fails ({str(err).strip().splitlines()[0]})") \
                from None
        where = "" if schedule is None else f" at step {step}"
        number_setting(f"{setting} learning rate{where}", value, above=0)
    if schedule is not None and not isinstance(getattr(schedule, "staircase", False), bool):
        raise ConfigError(f"{setting}: the schedule's staircase must be True or False, got {schedule.staircase!r}")
    for name, bounds in (("beta_1", {"minimum": 0, "below": 1}), ("beta_2", {"minimum": 0, "below": 1}),
                         ("epsilon", {"above": 0}), ("weight_decay", {"minimum": 0})):
        value = getattr(inner, name, None)
        if value is not None:
            number_setting(f"{setting} {name}", value, **bounds)
