from gran_tf.training.summaries import gin_bindings


def test_gin_bindings_reads_values_as_gin_wrote_them():
    config_str = ("import gran_tf.configs\n\n# Parameters for Trainer:\n# ====\nTrainer.seed = 3\n"
                  "Trainer.dataset = 'ring'\nTrainer.jit_compile = False\n"
                  "GRANGenerator.kernels = \\\n    (512, 256, 128, 3)\nTrainer.updater = @Unrolled()\n"
                  "g/keras.optimizers.Adam.learning_rate = 0.0002\nTrainer.fid_reference = None\n")
    assert gin_bindings(config_str) == {
        "Trainer.seed": 3, "Trainer.dataset": "ring", "Trainer.jit_compile": False,
        "GRANGenerator.kernels": "(512, 256, 128, 3)", "Trainer.updater": "@Unrolled()",
        "g/keras.optimizers.Adam.learning_rate": 0.0002, "Trainer.fid_reference": "None"}
