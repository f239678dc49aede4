import keras
import numpy as np
import pytest
import tensorflow as tf

from gran_tf import config
from gran_tf.errors import ConfigError
from gran_tf.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gran_tf.models.mlp import MLPDiscriminator, MLPGenerator
from gran_tf.training.losses import Minimax, NonSaturating
from gran_tf.training.trainer import Trainer
from gran_tf.training.updaters import Alternating, GANState, Unrolled
from gran_tf.training.updaters.base import d_step, global_mean, sample_z
from gran_tf.training.updaters.functional import FunctionalAdam, StatelessModel, current_values, functional_optimizer
from gran_tf.training.updaters.unrolled import look_ahead, rematerialized


def test_zero_steps_reproduce_alternating_exactly(ring_trainer, weights):
    alternating = ring_trainer("alt", updater=Alternating())
    unrolled = ring_trainer("unrolled", updater=Unrolled(steps=0, objective="generator", simultaneous=False))
    a, u = alternating.train_steps(3), unrolled.train_steps(3)
    assert a == u
    for x, y in zip(weights(alternating), weights(unrolled)):
        np.testing.assert_array_equal(x, y)


@pytest.fixture
def float64_state():
    """Tiny smooth (tanh) G and D in float64, Adam optimizers with non-zero moments."""
    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        keras.utils.set_random_seed(3)
        g = MLPGenerator(image_shape=(2,), z_dim=2, hidden=(3,), activation="tanh", gain=1.0)
        d = MLPDiscriminator(image_shape=(2,), hidden=(4,), activation="tanh", gain=1.5)
        state = GANState(g, d, keras.optimizers.Adam(0.05), keras.optimizers.Adam(0.3, beta_1=0.5),
                         NonSaturating(), global_batch_size=6, seed=0)
        state.d_optimizer.build(d.trainable_variables)
        rng = np.random.default_rng(0)
        for step in range(2):  # moves the D optimizer's moments and step count off zero
            d_step(state, tf.constant(rng.normal(size=(6, 2))), step, stream=0)
        yield state, tf.constant(rng.normal(size=(6, 2))), tf.constant(rng.normal(size=(6, 2)))
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)


def surrogate(updater, state, real, z, step, stream):
    return updater.surrogate_loss(state, real, state.generator(z, training=True), step, stream)


@pytest.mark.parametrize("objective", ["value", "generator"])
@pytest.mark.parametrize("inner", ["sgd", "adam"])
def test_unrolled_generator_gradient_matches_finite_differences(float64_state, inner, objective,
                                                                finite_difference_gradient):
    state, real, z = float64_state
    theta = state.generator.trainable_variables
    unrolled = Unrolled(steps=3, inner_optimizer=inner, objective=objective)
    with tf.GradientTape() as tape:
        loss = surrogate(unrolled, state, real, z, step=5, stream=3)
    grads = [g.numpy() for g in tape.gradient(loss, theta)]
    expected = finite_difference_gradient(lambda: surrogate(unrolled, state, real, z, 5, 3), theta)
    for a, b in zip(grads, expected):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)

    # The first-order ablation differentiates f at fixed θD^K only, which differs here.
    first_order = Unrolled(steps=3, second_order=False, inner_optimizer=inner, objective=objective)
    omega, non_trainable = look_ahead(state, real, state.generator(z, training=True), 5, 3, 3, inner)
    d_k = StatelessModel(state.discriminator, omega, non_trainable)
    with tf.GradientTape() as tape:
        fake_logits = d_k(state.generator(z, training=True))
        if objective == "value":  # f = E log D(x) + E log(1 − D(G(z))) = −ℓ_D
            fixed_loss = -global_mean(state.loss.d_loss(d_k(real), fake_logits), state)
        else:
            fixed_loss = global_mean(state.loss.g_loss(fake_logits), state)
    with tf.GradientTape(persistent=True) as ablation_tape:
        ablation_loss = surrogate(first_order, state, real, z, 5, 3)
    np.testing.assert_allclose(float(ablation_loss), float(loss), rtol=1e-12)
    np.testing.assert_allclose(float(fixed_loss), float(loss), rtol=1e-12)
    for a, b in zip(ablation_tape.gradient(ablation_loss, theta), tape.gradient(fixed_loss, theta)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-14)
    second_order_part = max(np.abs(a.numpy() - b).max()
                            for a, b in zip(ablation_tape.gradient(ablation_loss, theta), expected))
    assert second_order_part > 1e-3 * max(np.abs(b).max() for b in expected)


def test_the_value_objective_adds_the_data_terms_gradient_through_the_unroll(float64_state):
    # f_K = −ℓ_D(θD^K) differs from ℓ_G(θD^K) of the minimax loss only by E log D^K(x), which
    # depends on θG through θD^K alone: with K = 0 both objectives give one gradient, with K > 0
    # they differ.
    state, real, z = float64_state
    state.loss = Minimax()
    theta = state.generator.trainable_variables

    def gradient(updater):
        with tf.GradientTape() as tape:
            loss = surrogate(updater, state, real, z, 5, 3)
        return [g.numpy() for g in tape.gradient(loss, theta)]

    for a, b in zip(gradient(Unrolled(steps=0, objective="value")), gradient(Unrolled(steps=0, objective="generator"))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    value, generator = gradient(Unrolled(steps=3, objective="value")), gradient(Unrolled(steps=3, objective="generator"))
    assert max(np.abs(a - b).max() for a, b in zip(value, generator)) > 1e-3 * max(np.abs(b).max() for b in generator)


def test_simultaneous_step_moves_d_as_the_unrolls_first_step(float64_state, float32_paths):
    # Eqs. 10–11: D's committed step and the unroll's first step start from one θD and see one
    # minibatch (real batch and fakes), so they land on the same weights; and G's step is taken
    # at the θD from before D's step.
    state, real, _ = float64_state
    updater = Unrolled(steps=2, objective="value")
    step = 7
    z = sample_z(state, step, 0, 6)
    fake = state.generator(z, training=True)
    expected_d, _ = look_ahead(state, real, fake, step, 1, steps=1, inner_optimizer="adam")
    expected_g_loss, expected_g_grads, _ = updater.generator_gradient(state, real, z, step, stream=1)
    g_before = current_values(state.generator.trainable_variables)
    d_before = current_values(state.discriminator.trainable_variables)
    g_iterations = int(state.g_optimizer.iterations)
    metrics = updater.step(state, [(real, None)], step)
    np.testing.assert_allclose(float(metrics["g_loss"]), float(expected_g_loss), rtol=1e-12)
    # Keras' Adam keeps its hyperparameters in float32, FunctionalAdam applies them to the
    # float64 weights: float32 agreement of steps of ~lr = 0.3 (1e-5 absolute: Adam's m̂ / √v̂
    # carries the float32 rounding of β and ε whole into elements with near-zero gradients). A
    # step on other fakes or from another θD misses by a fraction of the step itself (> 1e-2).
    assert max(np.abs(w.numpy() - e.numpy()).max() for w, e in zip(expected_d, d_before)) > 1e-2
    for w, e in zip(state.discriminator.trainable_variables, expected_d):
        np.testing.assert_allclose(w.numpy(), e.numpy(), **{**float32_paths, "atol": 1e-5})
    # G's committed step is the G optimizer's step along the gradient taken before D moved.
    replay = keras.optimizers.Adam(0.05)
    replay_vars = [keras.Variable(w) for w in g_before]
    replay.apply_gradients(zip(expected_g_grads, replay_vars))
    assert g_iterations == 0
    for w, e in zip(state.generator.trainable_variables, replay_vars):
        np.testing.assert_allclose(w.numpy(), e.numpy(), rtol=1e-12, atol=1e-15)


def test_functional_adam_is_keras_adam_and_leaves_the_optimizer_alone(float32_paths):
    var = keras.Variable(np.array([0.5, -1.0, 2.0], np.float32))
    opt = keras.optimizers.Adam(0.1, beta_1=0.5, beta_2=0.9)
    grads = [tf.constant([0.3, -0.2, 0.0]), tf.constant([0.1, 0.4, 0.0])]
    opt.apply_gradients([(grads[0], var)])
    functional = FunctionalAdam(opt, [var])
    before = (var.numpy(), opt._momentums[0].numpy(), int(opt.iterations))
    params, moments = functional.update([tf.convert_to_tensor(var)], [grads[1]], functional.initial_state())
    assert (var.numpy() == before[0]).all() and (opt._momentums[0].numpy() == before[1]).all()
    assert int(opt.iterations) == before[2] == 1 and int(moments.iterations) == 2
    opt.apply_gradients([(grads[1], var)])
    # The functional and Keras updates are other float32 op sequences for one formula; a wrong
    # bias correction or epsilon placement would differ by > 1e-3.
    np.testing.assert_allclose(params[0].numpy(), var.numpy(), **float32_paths)
    np.testing.assert_allclose(moments.v[0].numpy(), opt._velocities[0].numpy(), **float32_paths)


@pytest.mark.slow  # XLA compilation of the unrolled step takes ~20-40 s on 2 CPU cores
def test_jit_compiled_unrolled_step_trains(ring_trainer, weights):
    # Not compared number for number with the plain step: XLA's Philox gives other bits for
    # the same key, so the latents differ (docs/environment.md#latent-draws).
    jit = ring_trainer("jit", ["Trainer.jit_compile = True"], updater=Unrolled(steps=2))
    initial = weights(ring_trainer("initial"))
    metrics = jit.train_steps(2)
    assert jit.jit_compile and all(np.isfinite(list(metrics.values())))
    moved = [np.abs(a - b).max() for a, b in zip(initial, weights(jit))]
    assert min(moved) > 0
    assert int(jit.state.d_optimizer.iterations.numpy()) == int(jit.state.g_optimizer.iterations.numpy()) == 2


def test_ring_unrolled5_gin_builds_a_five_step_second_order_adam_unroll(ring_trainer):
    updater = ring_trainer("gin", gin_file="ring_unrolled5").updater
    assert isinstance(updater, Unrolled)
    assert (updater.steps, updater.second_order, updater.inner_optimizer) == (5, True, "adam")
    assert (updater.objective, updater.simultaneous) == ("value", True)


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError):
        Unrolled(steps=-1)
    with pytest.raises(ConfigError, match="objective"):
        Unrolled(objective="values")
    with pytest.raises(ConfigError):  # the inner Adam needs the D optimizer's Adam moments
        functional_optimizer("adam", keras.optimizers.SGD(0.1), [])
    with pytest.raises(ConfigError):
        functional_optimizer("adam", keras.optimizers.Adam(0.1, clipnorm=1.0), [])
    with pytest.raises(ConfigError):
        functional_optimizer("rmsprop", keras.optimizers.Adam(0.1), [])


@pytest.mark.parametrize("generator", ["GRANGenerator", "LSTMGenerator"])
def test_unrolling_trains_recurrent_generators_against_a_conv_discriminator(tmp_path, generator):
    tiny = {"GRANGenerator": ["GRANGenerator.kernels = (4, 2, 1)", "GRANGenerator.z_dim = 3",
                              "GRANGenerator.steps = 2"],
            "LSTMGenerator": ["LSTMGenerator.units = 4", "LSTMGenerator.z_dim = 3",
                              "LSTMGenerator.out_activation = 'sigmoid'"]}[generator]  # [0, 1] MNIST
    config.parse(["mnist_gran1"], [f"Trainer.generator = @{generator}", "Trainer.batch_size = 4",
                                   "DCGANDiscriminator.kernels = (2, 4)", *tiny])
    trainer = Trainer(model_dir=str(tmp_path / "run"), updater=Unrolled(steps=2))
    before = [w.numpy() for w in trainer.generator.trainable_weights]
    metrics = trainer.train_steps(2)
    assert all(np.isfinite(list(metrics.values())))
    assert all(np.abs(a - w.numpy()).max() > 0 for a, w in zip(before, trainer.generator.trainable_weights))


@pytest.fixture(params=["mlp", "conv_bn"])
def float32_state(request):
    """A small float32 G and D (a tanh MLP pair, or a DCGAN pair whose D has BatchNorm: the
    non-trainable state path), Adam optimizers with non-zero moments, a real batch and z.

    D's Adam has ε = 1e-3: the bias of a conv before BN has a zero gradient, which Adam with a
    tiny ε would turn from rounding noise into steps of full size (other on every code path)."""
    keras.utils.set_random_seed(4)
    if request.param == "mlp":
        g = MLPGenerator(image_shape=(2,), z_dim=3, hidden=(5,), activation="tanh", gain=1.0)
        d = MLPDiscriminator(image_shape=(2,), hidden=(6,), activation="tanh", gain=1.5)
    else:
        g = DCGANGenerator(image_shape=(8, 8, 1), kernels=(4, 1), z_dim=3, filter_size=3, out_activation="tanh")
        d = DCGANDiscriminator(image_shape=(8, 8, 1), kernels=(2, 4), filter_size=3)
    state = GANState(g, d, keras.optimizers.Adam(0.05), keras.optimizers.Adam(0.1, beta_1=0.5, epsilon=1e-3),
                     NonSaturating(), global_batch_size=6, seed=0)
    state.d_optimizer.build(d.trainable_variables)
    rng = np.random.default_rng(1)
    shape = (6, *d.image_shape)
    for step in range(2):  # moves the D optimizer's moments and step count off zero
        d_step(state, tf.constant(rng.uniform(-1, 1, shape), tf.float32), step, stream=0)
    assert d.non_trainable_variables or request.param == "mlp"
    return state, tf.constant(rng.uniform(-1, 1, shape), tf.float32), tf.constant(rng.normal(size=(6, 3)), tf.float32)


# XLA: compiling both unrolls takes 10-30 s on 2 CPU cores
@pytest.mark.parametrize("mode", ["eager", "function", pytest.param("xla", marks=pytest.mark.slow)])
def test_remat_gives_the_same_generator_gradient_and_unrolled_d(float32_state, mode, float32_paths):
    # Second order through 2 steps of D's Adam, the value objective: with each step recomputed
    # in the backward pass, G's gradient, the loss and the unrolled D (weights and BN state)
    # are those of the kept-activations unroll.
    state, real, z = float32_state
    g = state.generator

    def unroll(remat):
        def run():
            with tf.GradientTape() as tape:
                fake = g(z, training=True)
                omega, non_trainable = look_ahead(state, real, fake, 5, 3, 2, "adam", remat=remat)
                d_k = StatelessModel(state.discriminator, omega, non_trainable)
                loss = -global_mean(state.loss.d_loss(d_k(real), d_k(fake)), state)  # the value objective
            return loss, tape.gradient(loss, g.trainable_variables), omega, non_trainable
        return run() if mode == "eager" else tf.function(run, jit_compile=mode == "xla")()

    off, on = unroll(False), unroll(True)
    assert len(off[3]) == (2 if isinstance(state.discriminator, DCGANDiscriminator) else 0)  # BN's statistics
    for a, b in zip(tf.nest.flatten(off), tf.nest.flatten(on)):
        np.testing.assert_allclose(b.numpy(), a.numpy(), **float32_paths)
    assert max(float(tf.reduce_max(tf.abs(x))) for x in off[1]) > 1e-3  # a gradient that is there


def directional_derivative(loss_fn, variables, direction, eps=1e-6):
    """(loss(v + εu) − loss(v − εu)) / 2ε along ``direction`` u (float64 tests)."""
    base = [v.numpy() for v in variables]
    values = []
    for sign in (1, -1):
        for v, b, u in zip(variables, base, direction):
            v.assign(b + sign * eps * u)
        values.append(float(loss_fn()))
    for v, b in zip(variables, base):
        v.assign(b)
    return (values[0] - values[1]) / (2 * eps)


def test_remat_generator_gradient_matches_finite_differences(float64_state):
    state, real, z = float64_state
    theta = state.generator.trainable_variables
    unrolled = Unrolled(steps=3, remat=True)
    with tf.GradientTape() as tape:
        loss = surrogate(unrolled, state, real, z, step=5, stream=3)
    grads = tape.gradient(loss, theta)
    rng = np.random.default_rng(2)
    direction = [rng.normal(size=v.shape) for v in theta]
    expected = directional_derivative(lambda: surrogate(unrolled, state, real, z, 5, 3), theta, direction)
    ours = sum(float(np.sum(g.numpy() * u)) for g, u in zip(grads, direction))
    np.testing.assert_allclose(ours, expected, rtol=1e-6)
    # and the first-order ablation is off by far more along that direction
    first_order = Unrolled(steps=3, second_order=False)
    with tf.GradientTape() as tape:
        ablation = surrogate(first_order, state, real, z, 5, 3)
    off = sum(float(np.sum(g.numpy() * u)) for g, u in zip(tape.gradient(ablation, theta), direction))
    assert abs(off - expected) > 1e-3 * abs(expected)


@pytest.mark.parametrize("in_function", [False, True])
def test_rematerialized_differentiates_an_inner_gradient(in_function):
    # A segment that takes a gradient step of its own: rematerialized's gradient is the second-
    # order one of the plain function (tf.recompute_grad would stop the inner tape), also
    # through a variable the segment reads; its integer output passes through unchanged.
    scale = tf.Variable(np.float64(0.7))

    def descend(xs):
        x, y, count = xs
        with tf.GradientTape() as tape:
            tape.watch(x)
            f = tf.reduce_sum(tf.sin(x * y) ** 2) * scale
        return [x - 0.3 * tape.gradient(f, x), y * 1.5, count + 1]

    def outer(remat, inner_order=True):
        x, y = tf.constant([0.3, -1.2, 0.8], tf.float64), tf.constant([1.1, 0.4, -0.9], tf.float64)
        with tf.GradientTape() as tape:
            tape.watch([x, y])
            xs = [x, y, tf.constant(0)]
            for _ in range(2):
                xs = rematerialized(descend, xs) if remat else descend(xs)
            loss = tf.reduce_sum(tf.cos(xs[0]) * xs[1])
        return loss, tape.gradient(loss, [x, y, scale]), xs[2]

    run = tf.function(outer, autograph=False) if in_function else outer
    plain, remat = run(False), run(True)
    assert int(remat[2]) == int(plain[2]) == 2
    np.testing.assert_allclose(float(remat[0]), float(plain[0]), rtol=1e-14)
    for a, b in zip(plain[1], remat[1]):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-12, atol=1e-15)

    # the second-order part is not small: with the inner gradient a constant it is another one
    def descend_first_order(xs):
        out = descend(xs)
        return [xs[0] + tf.stop_gradient(out[0] - xs[0]), *out[1:]]

    x, y = tf.constant([0.3, -1.2, 0.8], tf.float64), tf.constant([1.1, 0.4, -0.9], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch([x, y])
        xs = [x, y, tf.constant(0)]
        for _ in range(2):
            xs = descend_first_order(xs)
        loss = tf.reduce_sum(tf.cos(xs[0]) * xs[1])
    first = tape.gradient(loss, [x, y])
    assert max(float(tf.reduce_max(tf.abs(a - b))) for a, b in zip(first, plain[1][:2])) > 1e-2


def test_remat_training_steps_match(ring_trainer, weights, float32_paths):
    # The Trainer's compiled step (tf.function), G and D committed: remat changes nothing.
    off = ring_trainer("off", updater=Unrolled(steps=2, remat=False))
    on = ring_trainer("on", updater=Unrolled(steps=2, remat=True))
    a, b = off.train_steps(2), on.train_steps(2)
    np.testing.assert_allclose([b[k] for k in sorted(a)], [a[k] for k in sorted(a)], **float32_paths)
    for x, y in zip(weights(off), weights(on)):
        np.testing.assert_allclose(y, x, **float32_paths)


def test_remat_step_memory_does_not_grow_with_the_unroll():
    # Inside a tf.function Grappler may undo rematerialization silently (same numbers, all the
    # memory kept, as when its arithmetic optimizer flattened the chain of the fakes' gradient
    # into one sum of K terms, 1.4x K = 2's peak at K = 8): the step's peak, from the
    # allocator's statistics, at K = 8 with remat stays near K = 2's (1.06x; K = 1 needs no
    # gradient in θD^0, so less: docs/unrolled.md#memory), without remat it is far above at
    # K = 4 already. Tensors of 512 KiB: oneDNN's CPU allocator counts only allocations of 256 KiB and
    # more.
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("measured on the CPU allocator")
    keras.utils.set_random_seed(5)
    g = MLPGenerator(image_shape=(128,), z_dim=4, hidden=(16,), activation="tanh")
    d = MLPDiscriminator(image_shape=(128,), hidden=(128,), activation="tanh")
    state = GANState(g, d, keras.optimizers.Adam(0.05), keras.optimizers.Adam(0.1, beta_1=0.5), NonSaturating(),
                     global_batch_size=1024, seed=0)
    state.d_optimizer.build(d.trainable_variables)
    rng = np.random.default_rng(0)
    real, z = (tf.constant(rng.normal(size=shape), tf.float32) for shape in [(1024, 128), (1024, 4)])

    def step_peak(steps, remat):
        @tf.function
        def gradient():
            with tf.GradientTape() as tape:
                loss = surrogate(Unrolled(steps=steps, remat=remat), state, real, z, 5, 3)
            return tape.gradient(loss, g.trainable_variables)

        gradient()
        try:
            tf.config.experimental.reset_memory_stats("CPU:0")
            before = tf.config.experimental.get_memory_info("CPU:0")["current"]
        except ValueError:
            pytest.skip("this TensorFlow keeps no allocator statistics on the CPU")
        gradient()
        return tf.config.experimental.get_memory_info("CPU:0")["peak"] - before

    two, on, off = step_peak(2, True), step_peak(8, True), step_peak(4, False)
    if two == 0:
        pytest.skip("this TensorFlow's CPU allocator counts none of these tensors")
    assert on < 1.25 * two and off > 1.5 * two, (two, on, off)
