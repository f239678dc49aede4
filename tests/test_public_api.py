"""``import gran_tf as gt``: the documented names resolve, and the import itself stays light."""
import subprocess
import sys

import keras
import pytest

import gran_tf as gt


@pytest.mark.parametrize("name", gt.__all__)
def test_every_public_name_resolves(name):
    assert getattr(gt, name) is not None


def test_the_public_names_are_the_library_objects():
    from gran_tf.eval.diversity import pairwise_distances
    from gran_tf.training.gan_model import GANModel
    from gran_tf.training.updaters import BRC, Unrolled

    assert gt.GANModel is GANModel and issubclass(gt.GANModel, keras.Model)
    assert gt.updaters.Unrolled is Unrolled and gt.updaters.BRC is BRC
    assert issubclass(gt.callbacks.RunDirectory, keras.callbacks.Callback)
    assert gt.pairwise_distances is pairwise_distances
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gt.nope  # noqa: B018


def test_import_gran_tf_does_not_import_tensorflow():
    code = "import sys, gran_tf; print('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_gt_evaluate_scores_a_generator_on_named_data():
    gen = gt.models.MLPGenerator(image_shape=(2,), z_dim=4, hidden=(8,))
    values = gt.evaluate(gen, "ring", ["modes"], n_samples=200)
    assert values["modes/n"] == 200 and 0 <= values["modes/modes_covered"] <= 8
