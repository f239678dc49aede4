"""Run a grid of configs x seeds in parallel processes and print paper-style tables.

    gran-sweep --configs ring ring_unrolled5 --seeds 10 --steps 5000 \\
        --metrics modes --out runs/sweep_ring

Every run is an ordinary run directory (``<out>/<config>/seed<k>``, resumable; its output in
``seed<k>.log`` beside it) trained with
``Trainer.eval_every = steps`` so that the final evaluation lands in its metrics.jsonl; the
table shows mean ± standard error over seeds of each metric's final value, the same step
budget for every config. ``--gin_param`` bindings apply to every run.

``--first_seed`` adds seeds to an existing sweep: ``--first_seed 5 --seeds 5`` runs seeds 5-9
beside seeds 0-4 in the same ``--out``, and ``--table_only --seeds 10`` then tabulates all ten.
Where the earlier seeds' run directories were not kept, ``--table_only --first_seed 5 --seeds 5
--merge <their summary.json>`` pools them from their summary. Per-seed values in a summary are
listed in seed order.

SIGTERM or SIGINT (Ctrl-C) to the sweep is passed on to its trainings: each checkpoints and
stops, runs not yet started stay unstarted, the sweep prints one line per run it stopped and
exits 143 or 130 (128 + the signal), and the same command rerun resumes every run.

``--dry_run`` prints the ``gran-train`` command of every run instead (one per line: a job array
on a cluster runs them, each writing its run directory under the shared ``--out``, any TensorFlow
filesystem); ``--table_only`` then tabulates what they wrote.
"""
import argparse
import concurrent.futures
import json
import os
import shlex
import signal
import subprocess
import sys
import threading

from gran_tf.eval.statistics import mean_se

SUMMARY_FORMAT = 1  # of summary*.json; --merge refuses any other
TABLE_KEYS = {
    "modes": ["modes/modes_covered", "modes/hq_percent", "modes/reverse_kl", "modes/js", "modes/fid"],
    "stacked_modes": ["stacked_modes/modes", "stacked_modes/kl_to_uniform"],
    "colored_js": ["colored_js/js"],
    "mnist_score": ["mnist_score/score", "mnist_score/frechet"],
    "pairwise": ["pairwise/js", "pairwise/sample_mean", "pairwise/data_mean"],
    "inference": ["inference/mean_mse"],
}
# Seed counts shown beside the means: how many seeds reached each condition.
SEED_COUNTS = {
    "modes": {"all modes": lambda r: r["modes/modes_covered"] == r["modes/num_modes"],
              "all modes, HQ >= 80%": lambda r: (r["modes/modes_covered"] == r["modes/num_modes"]
                                                 and r["modes/hq_percent"] >= 80)},
}


def train_arguments(config, seed, args):
    """(the run directory, the gran-train flags) of one run of the sweep."""
    model_dir = os.path.join(args.out, config, f"seed{seed}")
    params = [f"Trainer.seed = {seed}", f"Trainer.total_steps = {args.steps}",
              f"Trainer.eval_every = {args.steps}", f"Trainer.eval_metrics = {args.metrics!r}",
              f"Trainer.log_every = {max(1, args.steps // 10)}", f"Trainer.sample_every = {args.steps}",
              f"Trainer.checkpoint_every = {args.steps}", *args.gin_param]
    if args.eval_samples:
        params.append(f"Trainer.eval_samples = {args.eval_samples}")
    return model_dir, [f"--gin_file={config}", f"--model_dir={model_dir}", *[f"--gin_param={p}" for p in params]]


class Trainings:
    """The sweep's running gran-train processes. A stop signal (SIGTERM, SIGINT) is passed on to
    each of them, which checkpoints and stops, and no further one starts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running = set()
        self.signum = None

    def run(self, command, log, env):
        """The exit code of ``command``, or None when the sweep was stopped before it started."""
        with self._lock:
            if self.signum is not None:
                return None
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            self._running.add(process)
        try:
            return process.wait()
        finally:
            with self._lock:
                self._running.discard(process)

    def stop(self, signum, frame=None):
        with self._lock:
            self.signum = self.signum or signum
            for process in self._running:
                process.send_signal(signum)


def run_one(config, seed, args, trainings):
    model_dir, flags = train_arguments(config, seed, args)
    command = [sys.executable, "-m", "gran_tf.cli.train", *flags]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS=str(args.threads),
               TF_NUM_INTEROP_THREADS="1")
    os.makedirs(os.path.dirname(model_dir), exist_ok=True)
    with open(model_dir + ".log", "a", encoding="utf-8") as log:  # Trainings.run starts nothing once stopped
        code = trainings.run(command, log, env)
    return config, seed, code, final_eval(model_dir)


def last_line(path):
    """The last non-empty line of a text file ('' when there is none)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def train_all(jobs, args):
    """Trains every (config, seed) of ``jobs``, ``args.workers`` at a time; returns
    ({(config, seed): final evaluation}, failed runs, the stop signal's number or None)."""
    trainings, evaluations, failed = Trainings(), {}, []
    handlers = {s: signal.signal(s, trainings.stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
            futures = [pool.submit(run_one, c, s, args, trainings) for c, s in jobs]
            for future in concurrent.futures.as_completed(futures):
                config, seed, code, evaluation = future.result()
                evaluations[config, seed] = evaluation
                name = f"{config}/seed{seed}"
                if code is None:
                    print(f"{name}: not started", flush=True)
                elif trainings.signum is not None and code != 0:
                    log = os.path.join(args.out, config, f"seed{seed}.log")
                    print(f"{name}: stopped: {last_line(log) or f'exit {code}'}", flush=True)
                else:
                    status = "ok" if code == 0 else f"exit {code}"
                    print(f"{name}: {status} {json.dumps(evaluation) if evaluation else ''}", flush=True)
                    if code != 0:
                        failed.append(name)
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
    return evaluations, failed, trainings.signum


def final_eval(model_dir, at_step=None):
    """The run's evaluation at its last evaluated step, or at ``at_step``; None if there is none.

    Evaluations logged at the same step (say ``gran-evaluate --metrics=pairwise`` after training)
    are merged, a later value replacing an earlier one of the same name.
    """
    from gran_tf.rundir import RunDir  # read through TensorFlow's filesystems (gs:// too)

    evals = [r for r in RunDir(model_dir).read_metrics() if any(k.startswith("eval/") for k in r)]
    if not evals:
        return None
    step = evals[-1].get("step") if at_step is None else at_step
    merged = {}
    for e in evals:
        if e.get("step") == step:
            merged.update({k[len("eval/"):]: v for k, v in e.items() if k.startswith("eval/")})
    return merged or None


def table(results, keys, counts=None, earlier=None):
    """Markdown rows of mean ± s.e. over seeds per config, then the seed counts.

    ``earlier`` is a previous sweep's ``summary`` (say of seeds whose run directories were not
    kept): its per-seed values and seed counts are pooled with ``results``.
    """
    counts, earlier = counts or {}, earlier or {}
    header = [*keys, *counts]
    lines = ["| config | seeds | " + " | ".join(header) + " |", "|---|---|" + "---|" * len(header)]
    summary = {}
    for config, runs in results.items():
        prior = earlier.get(config, {})
        done = [r for r in runs if r]
        cells, summary[config] = [], {"runs": len(done) + prior.get("runs", 0)}
        for key in keys:
            values = [*prior.get(key, {}).get("values", []), *(r[key] for r in done if r.get(key) is not None)]
            if not values:
                cells.append("n/a")
                continue
            mean, se = mean_se(values)
            summary[config][key] = {"mean": mean, "se": se, "n": len(values), "values": values}
            cells.append(f"{mean:.3g} ± {se:.2g}")
        for label, condition in counts.items():
            hits = prior.get(label, {}).get("seeds", 0) + sum(bool(condition(r)) for r in done)
            of = prior.get(label, {}).get("of", 0) + len(done)
            summary[config][label] = {"seeds": hits, "of": of}
            cells.append(f"{hits}/{of}")
        lines.append(f"| {config} | {summary[config]['runs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines), summary


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", required=True, help="gin files (shipped config names or paths)")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds: first_seed..first_seed+N-1")
    parser.add_argument("--first_seed", type=int, default=0)
    parser.add_argument("--steps", type=int, required=True, help="generator steps per run (same for all)")
    parser.add_argument("--metrics", nargs="+", default=["modes"])
    parser.add_argument("--eval_samples", type=int, default=None)
    parser.add_argument("--gin_param", action="append", default=[])
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 1))
    parser.add_argument("--threads", type=int, default=1, help="TF intra-op threads per run")
    parser.add_argument("--out", default=os.path.join("runs", "sweep"))
    parser.add_argument("--table_only", action="store_true",
                        help="train nothing: tabulate the runs already under --out")
    parser.add_argument("--at_step", type=int, default=None,
                        help="with --table_only: tabulate the evaluations at this step (runs with "
                             "Trainer.eval_every dividing it), not the final ones")
    parser.add_argument("--dry_run", action="store_true",
                        help="print one gran-train command per run (for a cluster's scheduler) and train nothing")
    parser.add_argument("--merge", default=None, metavar="SUMMARY_JSON",
                        help="with --table_only: pool the seeds of this earlier summary (per-seed values and "
                             "seed counts) with the runs under --out; it must not be the file this writes")
    args = parser.parse_args(argv)
    if (args.at_step is not None or args.merge) and not args.table_only:
        parser.error("--at_step and --merge need --table_only")
    if args.seeds < 1 or args.first_seed < 0:
        parser.error("--seeds must be at least 1 and --first_seed at least 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(c, s) for c in args.configs for s in seeds]
    if args.dry_run:  # one command per run, for a job array or any scheduler; then --table_only
        for config, seed in jobs:
            print(shlex.join(["gran-train", *train_arguments(config, seed, args)[1]]))
        return 0
    if args.table_only:
        failed = []
        evaluations = {(c, s): final_eval(os.path.join(args.out, c, f"seed{s}"), args.at_step) for c, s in jobs}
    else:
        evaluations, failed, signum = train_all(jobs, args)
        if signum is not None:
            print(f"gran-sweep: stopped by {signal.Signals(signum).name}; rerun the same command to resume",
                  file=sys.stderr, flush=True)
            return 128 + signum
    results = {c: [evaluations[c, s] for s in seeds] for c in args.configs}
    keys = [k for m in args.metrics for k in TABLE_KEYS.get(m, [])]
    counts = {k: v for m in args.metrics for k, v in SEED_COUNTS.get(m, {}).items()}
    suffix = "" if args.at_step is None else f"_step{args.at_step}"
    written = os.path.join(args.out, f"summary{suffix}.json")
    if args.merge and os.path.abspath(args.merge) == os.path.abspath(written):
        raise SystemExit(f"gran-sweep: --merge {args.merge} is the summary this sweep writes; move it first")
    earlier = load_summary(args.merge) if args.merge else None
    markdown, summary = table(results, keys, counts, earlier)
    steps = args.steps if args.at_step is None else args.at_step
    over = f"seeds {seeds[0]}-{seeds[-1]}" + (f" and those of {args.merge}" if args.merge else "")
    print(f"\n{steps} steps per run, mean ± s.e. over {over}\n\n{markdown}")
    os.makedirs(args.out, exist_ok=True)
    with open(written, "w", encoding="utf-8") as f:
        json.dump({"format": SUMMARY_FORMAT, "steps": steps, "seeds": [seeds[0], seeds[-1]],
                   "merged": args.merge, "metrics": args.metrics, "summary": summary, "failed": failed},
                  f, indent=2)
    with open(os.path.join(args.out, f"summary{suffix}.md"), "w", encoding="utf-8") as f:
        f.write(markdown + "\n")
    return 1 if failed else 0


def load_summary(path):
    """The per-config summary of a sweep's summary JSON, of this version's SUMMARY_FORMAT."""
    try:
        with open(path, encoding="utf-8") as f:
            stored = json.load(f)
        found, summary = stored.get("format"), stored["summary"]
    except (OSError, ValueError, KeyError, AttributeError) as e:
        raise SystemExit(f"gran-sweep: --merge {path}: not a sweep summary ({e})") from None
    if found != SUMMARY_FORMAT:
        raise SystemExit(f"gran-sweep: --merge {path}: summary format {found!r}, this version merges format "
                         f"{SUMMARY_FORMAT} only (written by another gran_tf version)")
    return summary


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
