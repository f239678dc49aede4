"""GAM battles between trained runs (GRAN paper §4, Eqs. 10-11).

    gran-battle --model_a=runs/mnist_gran3 --model_b=runs/mnist_gran1
    gran-battle --models runs/a --models runs/b --models runs/c   # a league: every pair
    gran-battle --model_a=runs/mnist_gran3 --samples_npz=vae_samples.npz

Prints the 2x2 error table, r_test, r_sample and the winner (Markdown), and writes JSON
(``battle_<a>_vs_<b>.json`` / ``league.json`` in --out_dir, default the first run directory).
"""
import itertools
import json
import os

from absl import flags

from gran_tf import storage
from gran_tf.cli.common import DATA_FLAG_HELP, absl_entry, positive
from gran_tf.errors import ConfigError
from gran_tf.eval import gam, gam_markdown
from gran_tf.eval.degradation import degraded
from gran_tf.eval.loading import load_runs
from gran_tf.eval.sample_files import load_samples

FLAGS = flags.FLAGS
flags.DEFINE_string("model_a", None, "run directory of M1")
flags.DEFINE_string("model_b", None, "run directory of M2")
flags.DEFINE_multi_string("models", [], "run directories for a league (every pair battles)")
flags.DEFINE_string("samples_npz", None, "samples of a non-adversarial model: D_a's error on them")
flags.DEFINE_integer("n_samples", 1000, "generated samples per model and real images per split")
flags.DEFINE_float("tolerance", gam.DEFAULT_TEST_RATIO_TOLERANCE, "|r_test - 1| <= tolerance counts as r_test ≈ 1")
flags.DEFINE_string("out_dir", None, "where JSON goes (default: the first run directory)")
flags.DEFINE_string("checkpoint", "final", "each run's weights: final (export/), best (ckpt_best/) or a step")
flags.DEFINE_string("data", None, DATA_FLAG_HELP)
flags.DEFINE_string("degrade", None, "KIND:S1,S2,...: --model_a against itself with samples degraded by "
                    "pixel noise (sd) or Gaussian blur (px), a battle whose winner is known (the clean model)")
flags.DEFINE_string("checkpoint_b", None, "M2's weights when they differ from --checkpoint's (equal wall-clock "
                    "comparisons: --checkpoint=6000 --checkpoint_b=3000)")


def file_label(name):
    return name.replace("/", "-")


def real_images(run, split, n):
    return run.context(n_samples=n, split=split).real(n)


def play(run_a, run_b, n):
    """The battle of two runs already checked to share their data (``load_runs(same_data=True)``):
    real images come from run_a's record."""
    samples_a, samples_b = run_a.context().samples(n), run_b.context().samples(n)
    return gam.battle(run_a.d_probability, samples_a, run_b.d_probability, samples_b,
                      real_images(run_a, "train", n), real_images(run_a, "test", n),
                      tolerance=FLAGS.tolerance, names=(label(run_a), label(run_b)))


def label(run):
    """The run's name, with the step of its weights unless they are the final export's."""
    return run.name if run.checkpoint == "final" else f"{run.name}@{run.step}"


def degradation_battles(run, spec):
    """M1 = (G, D) against M2 = (G degraded, D) at each strength: r_test is 1 by construction
    (one discriminator), and a sound battle calls M1 the winner with r_sample falling as the
    degradation grows."""
    kind, _, strengths = spec.partition(":")
    try:
        strengths = [float(v) for v in strengths.split(",")]
    except ValueError:
        raise ConfigError(f"--degrade must be KIND:S1,S2,..., got {spec!r}") from None
    n, ctx = FLAGS.n_samples, run.context()
    clean = ctx.samples(n)
    x_train, x_test = real_images(run, "train", n), real_images(run, "test", n)
    rows = []
    for strength in strengths:
        worse = degraded(clean, kind, strength, value_range=ctx.value_range, seed=1)
        result = gam.battle(run.d_probability, clean, run.d_probability, worse, x_train, x_test,
                            tolerance=FLAGS.tolerance, names=(label(run), f"{kind} {strength:g}"))
        rows.append({"strength": strength, **result.to_dict()})
        lo, hi = result.intervals["r_sample"] or (float("nan"), float("nan"))
        print(f"| {kind} {strength:g} | {result.r_test} | {result.r_sample} ({lo:.3f}-{hi:.3f}) | "
              f"{result.winner_name or 'tie'} | {result.name_of(result.interval_winner) or 'tie'} |", flush=True)
    out_dir = FLAGS.out_dir or run.run_dir.path
    print("wrote", write_json(out_dir, f"degrade_{kind}_{file_label(label(run))}.json", rows))


def write_json(out_dir, name, obj):
    path = os.path.join(out_dir, name)
    storage.write_text(path, json.dumps(obj, indent=2, sort_keys=True))
    return path


def main():
    positive("--n_samples", FLAGS.n_samples)
    if len(FLAGS.models) == 1:
        raise ConfigError("a league needs at least two runs: give --models once per run")
    if FLAGS.models:
        runs = load_runs(FLAGS.models, FLAGS.checkpoint, same_data=True, data=FLAGS.data)
        results = {(a.name, b.name): play(a, b, FLAGS.n_samples) for a, b in itertools.combinations(runs, 2)}
        for result in results.values():
            print(gam_markdown.battle_table(result), end="\n\n")
        table = gam.league(results)
        print(gam_markdown.league_table(table))
        print("wrote", write_json(FLAGS.out_dir or runs[0].run_dir.path, "league.json", table.to_dict()))
        return
    if not FLAGS.model_a:
        raise ConfigError("give --model_a with --model_b or --samples_npz, or --models for a league")
    if FLAGS.degrade:
        return degradation_battles(load_runs([FLAGS.model_a], FLAGS.checkpoint, data=FLAGS.data)[0], FLAGS.degrade)
    if FLAGS.samples_npz:
        (run_a,) = load_runs([FLAGS.model_a], FLAGS.checkpoint, data=FLAGS.data)
    else:
        if not FLAGS.model_b:
            raise ConfigError("--model_b is missing")
        checkpoints = [FLAGS.checkpoint, FLAGS.checkpoint_b or FLAGS.checkpoint]
        run_a, run_b = load_runs([FLAGS.model_a, FLAGS.model_b], checkpoints, same_data=True, data=FLAGS.data)
    out_dir = FLAGS.out_dir or run_a.run_dir.path
    if FLAGS.samples_npz:
        samples = load_samples(FLAGS.samples_npz, image_shape=run_a.data.spec.shape, value_range=run_a.data.value_range,
                               dtype="float32", flag="--samples_npz")
        error = gam.error_on_external_samples(run_a.d_probability, samples)
        record = {"model": run_a.name, "samples": FLAGS.samples_npz, "n": len(samples), "error_rate": error}
        print(json.dumps(record, indent=2))
        write_json(out_dir, "external_samples.json", record)
        return
    result = play(run_a, run_b, FLAGS.n_samples)
    print(gam_markdown.battle_table(result))
    name = f"battle_{file_label(result.names[0])}_vs_{file_label(result.names[1])}.json"
    print("wrote", write_json(out_dir, name, result.to_dict()))


def run():
    absl_entry(main)


if __name__ == "__main__":
    run()
