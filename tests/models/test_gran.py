import numpy as np
import pytest
import tensorflow as tf

from gran_tf.errors import ConfigError
from gran_tf.models import DCGANGenerator, GRANGenerator

TINY = dict(image_shape=(8, 8, 1), kernels=(6, 4, 1), z_dim=5, filter_size=3)


def manual_canvases(g, z, training=False):
    """Eqs. 5-9 written out step by step in Python, reusing g's sublayers."""
    total, delta, canvases = 0.0, None, []
    for t in range(g.steps):
        z_t = z if g.z_mode == "shared" else z[:, t]
        h_z = g.w_z(z_t)  # Eq. 7
        h_c = tf.zeros([z.shape[0], g.hc_dim]) if t == 0 else g.g(delta, training=training)  # Eq. 6
        delta = g.f(tf.concat([h_z, h_c], -1), training=training)  # Eq. 8
        total = total + delta
        canvases.append(tf.sigmoid(total))  # Eq. 9 after t steps
    return np.stack(canvases)


@pytest.mark.parametrize("z_mode", ["shared", "per_step"])
def test_canvases_accumulate_sigmoid_of_summed_updates(z_mode):
    g = GRANGenerator(steps=3, z_mode=z_mode, **TINY)
    z = tf.random.stateless_normal([4, *g.z_shape], [1, 2])
    image, canvases = g(z, return_canvases=True)
    assert canvases.shape == (3, 4, 8, 8, 1)
    np.testing.assert_allclose(canvases, manual_canvases(g, z), atol=1e-6)
    np.testing.assert_array_equal(canvases[-1], image)
    assert 0.0 < float(tf.reduce_min(image)) and float(tf.reduce_max(image)) < 1.0


def test_gran1_equals_dcgan_with_an_extra_fc_layer():
    g = GRANGenerator(steps=1, **TINY)
    dcgan = DCGANGenerator(image_shape=TINY["image_shape"], kernels=TINY["kernels"],
                           z_dim=g.hz_dim + g.hc_dim, filter_size=3, out_activation="sigmoid")
    dcgan.decoder.set_weights(g.f.get_weights())
    z = tf.random.stateless_normal([5, g.z_dim], [3, 4])
    fc_features = tf.concat([g.w_z(z), tf.zeros([5, g.hc_dim])], -1)  # tanh(Wz + b), h_c,1 = 0
    for training in (False, True):
        np.testing.assert_allclose(g(z, training=training), dcgan(fc_features, training=training), atol=1e-6)


def test_per_step_z_with_identical_steps_equals_shared_z():
    shared = GRANGenerator(steps=3, z_mode="shared", **TINY)
    per_step = GRANGenerator(steps=3, z_mode="per_step", **TINY)
    per_step.set_weights(shared.get_weights())
    z = tf.random.stateless_normal([4, TINY["z_dim"]], [5, 6])
    np.testing.assert_allclose(shared(z), per_step(tf.stack([z] * 3, axis=1)), atol=1e-6)


def test_per_step_z_uses_a_fresh_sample_at_every_step():
    g = GRANGenerator(steps=3, z_mode="per_step", **TINY)
    z = tf.random.stateless_normal([2, 3, TINY["z_dim"]], [7, 8]).numpy()
    changed = z.copy()
    changed[:, 2] += 1.0  # only z_3 differs
    _, c1 = g(tf.constant(z), return_canvases=True)
    _, c2 = g(tf.constant(changed), return_canvases=True)
    np.testing.assert_array_equal(c1[:2], c2[:2])  # canvases before step 3 are untouched
    assert np.abs(c1[2] - c2[2]).max() > 1e-4


def test_recurrence_is_a_while_loop_in_graph_mode():
    g = GRANGenerator(steps=3, **TINY)
    graph = tf.function(g.call).get_concrete_function(tf.TensorSpec([None, TINY["z_dim"]])).graph
    op_types = {op.type for op in graph.get_operations()}
    assert op_types & {"While", "StatelessWhile"}


def test_tied_weights_share_kernels_between_f_and_g():
    untied = GRANGenerator(steps=2, **TINY)
    tied = GRANGenerator(steps=2, tied_weights=True, **TINY)
    f_kernels = {id(d.kernel) for d in tied.f.deconvs}
    g_kernels = {id(c.deconv.kernel) for c in tied.g.convs}
    assert g_kernels == f_kernels
    assert len(tied.trainable_weights) == len(untied.trainable_weights) - len(f_kernels)
    z = tf.random.stateless_normal([2, TINY["z_dim"]], [9, 9])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tied(z, training=True))
    assert all(gr is not None for gr in tape.gradient(y, tied.trainable_weights))


@pytest.mark.parametrize("arch,steps", [("mnist", 3), ("cifar10", 1)])
def test_paper_architectures_make_images_of_the_right_shape(arch, steps):
    from gran_tf.models import gran_architecture

    g = GRANGenerator(steps=steps, **gran_architecture(arch))
    assert g(tf.zeros([2, *g.z_shape])).shape == (2, *gran_architecture(arch)["image_shape"])


def test_bad_settings_raise_config_errors():
    with pytest.raises(ConfigError):
        GRANGenerator(steps=2, z_mode="sometimes", **TINY)
    with pytest.raises(ConfigError):
        GRANGenerator(steps=0, **TINY)
    with pytest.raises(ConfigError):
        GRANGenerator(image_shape=(30, 30, 1), kernels=(6, 4, 1), z_dim=5)
