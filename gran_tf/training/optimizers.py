"""Keras 3 optimizers exposed to gin (``gin.tf`` does not import on TF >= 2.16).

Use scopes for the two players: ``Trainer.g_optimizer = @g/keras.optimizers.Adam`` and
``g/keras.optimizers.Adam.learning_rate = 1e-4``.
"""
import gin
import keras

for _cls in (keras.optimizers.Adam, keras.optimizers.SGD, keras.optimizers.RMSprop):
    gin.external_configurable(_cls, module="keras.optimizers")

for _schedule in (keras.optimizers.schedules.InverseTimeDecay, keras.optimizers.schedules.ExponentialDecay):
    gin.external_configurable(_schedule, module="keras.optimizers.schedules")
