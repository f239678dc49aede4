"""Functional pieces for look-ahead updaters: models at explicit weights, optimizer steps as
pure functions, cross-replica sums and Hessian-/Jacobian-vector products.

Parameters are lists of tensors in the order of ``model.trainable_variables``; nothing here
writes to a variable or to an optimizer's state.
"""
import dataclasses

import keras
import tensorflow as tf

from gran_tf.errors import ConfigError

INNER_OPTIMIZERS = ("adam", "sgd")


def current_values(variables):
    """The variables' values as plain tensors (a snapshot, not watched by any tape)."""
    return [tf.stop_gradient(tf.convert_to_tensor(v)) for v in variables]


class StatelessModel:
    """``model`` evaluated at ``trainable`` weights via Keras 3 ``stateless_call``.

    Each call threads the updated non-trainable values (BN statistics, RNG state) into the
    next, so several calls behave like successive calls of the real model.
    """

    def __init__(self, model, trainable, non_trainable):
        self.model, self.trainable, self.non_trainable = model, list(trainable), list(non_trainable)

    def __call__(self, x):
        out, self.non_trainable = self.model.stateless_call(self.trainable, self.non_trainable, x, training=True)
        return out


def num_replicas():
    """Replicas in sync in the current replica context (1 outside one)."""
    ctx = tf.distribute.get_replica_context()
    return ctx.num_replicas_in_sync if ctx is not None else 1


def cross_replica_sum(tensors):
    """Σ over replicas of each tensor (identity on one replica); differentiable.

    The gradient of an all-reduce SUM is the all-reduce SUM of the incoming gradients, so a
    tape through it gives every replica the global derivative of its local inputs.
    """
    ctx = tf.distribute.get_replica_context()
    tensors = list(tensors)
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return tensors
    return list(ctx.all_reduce(tf.distribute.ReduceOp.SUM, tensors))


def inner_product(xs, ys):
    """⟨x, y⟩ summed over a list of tensors."""
    return tf.add_n([tf.reduce_sum(x * y) for x, y in zip(xs, ys)])


def watch_tensors(tape, xs):
    """Let ``tape`` record plain tensors among ``xs``; trainable variables are watched anyway."""
    tape.watch([x for x in xs if isinstance(x, tf.Tensor)])


def gradients(tape, target, sources):
    """∇ target w.r.t. ``sources``, zeros where unconnected."""
    return tape.gradient(target, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def vector_jacobian_product(tape, grads, sources, v):
    """∇_sources ⟨grads, v⟩ where ``grads`` were computed on ``tape`` (a persistent outer tape).

    With ``grads`` = ∇_ω ℓ and sources ω this is the Hessian-vector product H v; with
    sources θ it is the mixed product ∇²_θω ℓ · v.
    """
    return tape.gradient(grads, sources, output_gradients=v, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def check_plain_optimizer(optimizer):
    """Inner steps reproduce plain Adam/SGD only: refuse features they would silently drop."""
    extras = {name: getattr(optimizer, name, None) for name in
              ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay")}
    extras = {k: v for k, v in extras.items() if v}
    if getattr(optimizer, "use_ema", False):
        extras["use_ema"] = True
    if getattr(optimizer, "amsgrad", False):
        extras["amsgrad"] = True
    if getattr(optimizer, "gradient_accumulation_steps", None):
        extras["gradient_accumulation_steps"] = optimizer.gradient_accumulation_steps
    if extras:
        raise ConfigError(f"unrolled discriminator steps support plain Adam/SGD only; the D optimizer sets {extras}")


def safe_sqrt(x):
    """√x with a zero (not NaN) derivative at x = 0, e.g. Adam's √v for a never-moved weight."""
    positive = x > 0
    return tf.where(positive, tf.sqrt(tf.where(positive, x, tf.ones_like(x))), tf.zeros_like(x))


@dataclasses.dataclass
class AdamMoments:
    m: list
    v: list
    iterations: tf.Tensor


def optimizer_slot(optimizer, variable, kind):
    """The ``kind`` ("momentum", "velocity") slot of ``variable`` among the public
    ``optimizer.variables``: Keras names it after the variable's path, ``<path with / as _>_<kind>``."""
    name = f"{variable.path.replace('/', '_')}_{kind}"
    found = [w for w in optimizer.variables if w.name == name]
    if len(found) != 1:
        raise ConfigError(f"the D optimizer has {len(found)} slots named {name!r} (expected one): "
                          "build it on the discriminator's variables, with unique variable paths")
    return found[0]


class FunctionalAdam:
    """The Keras Adam step of ``optimizer`` as a pure function, starting from its current
    moments, iteration count and learning rate:
    m ← m + (1-β1)(g-m), v ← v + (1-β2)(g²-v), w ← w - lr·√(1-β2^t)/(1-β1^t) · m/(√v+ε)."""

    def __init__(self, optimizer, variables):
        if not isinstance(optimizer, keras.optimizers.Adam):
            raise ConfigError(f"inner_optimizer 'adam' needs an Adam D optimizer, got {type(optimizer).__name__}")
        check_plain_optimizer(optimizer)
        self.optimizer, self.variables = optimizer, list(variables)

    def initial_state(self):
        opt = self.optimizer
        return AdamMoments(m=current_values([optimizer_slot(opt, v, "momentum") for v in self.variables]),
                           v=current_values([optimizer_slot(opt, v, "velocity") for v in self.variables]),
                           iterations=tf.convert_to_tensor(opt.iterations))

    def update(self, params, grads, state):
        opt = self.optimizer
        t = tf.cast(state.iterations + 1, params[0].dtype)
        lr = tf.cast(opt.learning_rate, params[0].dtype)
        b1, b2, eps = (tf.cast(h, params[0].dtype) for h in (opt.beta_1, opt.beta_2, opt.epsilon))
        alpha = lr * tf.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = [m + (g - m) * (1 - b1) for m, g in zip(state.m, grads)]
        v = [v + (tf.square(g) - v) * (1 - b2) for v, g in zip(state.v, grads)]
        params = [w - alpha * mi / (safe_sqrt(vi) + eps) for w, mi, vi in zip(params, m, v)]
        return params, AdamMoments(m=m, v=v, iterations=state.iterations + 1)


class FunctionalSGD:
    """Plain gradient descent w ← w - lr·g with the D optimizer's current learning rate."""

    def __init__(self, optimizer, variables):
        check_plain_optimizer(optimizer)
        self.optimizer = optimizer

    def initial_state(self):
        return ()

    def update(self, params, grads, state):
        lr = tf.cast(self.optimizer.learning_rate, params[0].dtype)
        return [w - lr * g for w, g in zip(params, grads)], state


def loss_scale(optimizer):
    """The current loss scale of a ``LossScaleOptimizer`` (mixed float16), as a constant of the
    step; None for any other optimizer."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return tf.stop_gradient(tf.convert_to_tensor(optimizer.dynamic_scale, tf.float32))
    return None


def unscaled_gradients(tape, loss, sources, scale):
    """∇ loss w.r.t. ``sources``; with a loss ``scale`` (mixed float16) computed on scale · loss,
    whose float16 backward pass then stays clear of underflow, and divided back."""
    if scale is None:
        return gradients(tape, loss, sources)
    return [g / tf.cast(scale, g.dtype) for g in gradients(tape, loss * tf.cast(scale, loss.dtype), sources)]


def functional_optimizer(name, optimizer, variables):
    """The pure-function copy of ``optimizer`` named by ``name`` ("adam" | "sgd"); of its inner
    optimizer when it is a ``LossScaleOptimizer`` (the look-ahead unscales its own gradients)."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    if name == "adam":
        return FunctionalAdam(optimizer, variables)
    if name == "sgd":
        return FunctionalSGD(optimizer, variables)
    raise ConfigError(f"unknown inner_optimizer {name!r}; expected one of {INNER_OPTIMIZERS}")
