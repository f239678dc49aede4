"""Every stateless-RNG key in gran_tf is ``[seed, word]``; this table holds the words, so that no
two uses of one seed draw the same numbers by accident.

- 0 .. 3: the data pipelines, ``len(SPLITS) * stream + split`` (``data.pipeline.stream_seed``:
  the permutation and per-batch streams of the train and test splits).
- ``UPDATERS``: the training step's draws, with the step and the draw's stream folded in
  (``training.updaters.base.draw_seed``).
- The rest: one draw each, outside training.
"""
UPDATERS = -1
EVALUATION = 7  # the generator samples an evaluation scores (run_metrics.EvalContext)
SAMPLE_CLI = 8  # gran-sample's latents (--seed)
POINT_SAMPLES = 2**31 - 2  # the 2,500 points of a point-data sample picture
SAMPLE_GRID = 2**31 - 1  # the fixed latents of a run's sample grids


def key(seed, word):
    """The key ``[seed, word]`` of one named stream."""
    return [int(seed), int(word)]
