"""The updaters' random draws: one stateless seed per (run seed, step, stream), never shared."""
import numpy as np
import tensorflow as tf

from gran_tf.models.mlp import MLPDiscriminator, MLPGenerator
from gran_tf.training.losses import NonSaturating
from gran_tf.training.updaters.base import GANState, draw_seed, sample_z


def tiny_state(seed=0):
    g, d = MLPGenerator(image_shape=(2,), z_dim=3, hidden=(4,)), MLPDiscriminator(image_shape=(2,), hidden=(4,))
    return GANState(g, d, None, None, NonSaturating(), global_batch_size=8, seed=seed)


def test_forty_inner_steps_draw_from_streams_of_their_own():
    # BRC and Alternating with K = 40 inner D steps use streams 0 .. 2K + 2 in each step; a
    # seed of step * 64 + stream would give step 0's stream 80 to step 1's stream 16.
    state, streams = tiny_state(), range(2 * 40 + 3)
    seeds = {(step, stream): tuple(draw_seed(state, step, stream).numpy()) for step in range(3) for stream in streams}
    assert len(set(seeds.values())) == len(seeds)
    assert not np.array_equal(sample_z(state, 0, 80, 8).numpy(), sample_z(state, 1, 16, 8).numpy())


def test_draw_seeds_depend_on_the_run_seed_and_agree_inside_a_graph():
    state, other = tiny_state(0), tiny_state(1)
    assert tuple(draw_seed(state, 5, 2).numpy()) != tuple(draw_seed(other, 5, 2).numpy())
    in_graph = tf.function(lambda step: draw_seed(state, step, 2))(tf.constant(5, tf.int64))
    np.testing.assert_array_equal(in_graph.numpy(), draw_seed(state, 5, 2).numpy())
