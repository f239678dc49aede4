"""Unrolled GAN iterations/s: gran_tf vs a public PyTorch + `higher` peer, same settings, one process.

    python bench/peer_unrolled.py --peer_dir /tmp/peer [--ks 0 5 10] [--iters 50] [--rounds 5]

Needs torch (installed by `make test`) and `pip install higher`, which gran_tf itself does not use.

The peer is XuSingle/Unrolled-GAN-for-Mixed-Guassian-Points (main.py): second-order unrolled
Adam through higher's differentiable optimizer. --peer_dir holds a copy of that repository whose
main.py is patched for CPU (.cuda() a no-op) and for fake batches of 512 (it draws 2500); the
patch is in BENCHMARKS.md. Nothing of the peer lives in this repository: its main.py is imported
from --peer_dir and its own d_loop / g_loop run one training iteration each (the body of its
training loop, without the logging and plots).

gran_tf runs the same setting from gin: ring_unrolled10.gin (base/points.gin) with G 256-128-128-2
and D 2-128-128-1 ReLU, batch 512 real + 512 fake, Adam, Unrolled.steps = K with second order
through the D optimizer's Adam, D stepping first and G descending its own loss at θD^K (the peer's
order and objective). Each K is timed for Trainer.steps_per_loop 1 and 50.

Every variant is built and warmed up first (--warmup iterations, so tracing and the first
iterations are excluded), then timed in --rounds interleaved rounds of --iters iterations
(peer, gran_tf loop 1, gran_tf loop 50 for each K in turn); the fastest round counts.
--flops adds each side's floating-point operations per iteration, counted by the frameworks'
own counters (torch.utils.flop_counter on the peer, tf.compat.v1.profiler on gran_tf's traced
step), so that a difference in work per iteration shows apart from a difference in speed.
"""
import argparse
import importlib
import os
import sys
import tempfile
import time
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conv_flops import profiler_step_flops  # noqa: E402  (tf.compat.v1.profiler count of a traced step)
from updater_cost import seconds_per_step  # noqa: E402  (bench/ helper: times Trainer.train_steps(n))

GRAN_BINDINGS = (
    "MLPGenerator.z_dim = 256", "MLPGenerator.hidden = (128, 128)", 'MLPGenerator.activation = "relu"',
    "MLPDiscriminator.hidden = (128, 128)", 'MLPDiscriminator.activation = "relu"',
    "MLPDiscriminator.input_scale = 1.0",
    "Trainer.batch_size = 512", "ring.radius = 1.0", "ring.std = 0.01",
    "g/keras.optimizers.Adam.learning_rate = 1e-3", "d/keras.optimizers.Adam.learning_rate = 1e-4",
    "g/keras.optimizers.Adam.beta_1 = 0.5", "d/keras.optimizers.Adam.beta_1 = 0.5",
    "Unrolled.second_order = True", 'Unrolled.inner_optimizer = "adam"',
    'Unrolled.objective = "generator"', "Unrolled.simultaneous = False",
    "Trainer.log_every = 1000", "Trainer.sample_every = 1000", "Trainer.checkpoint_every = 1000",
    "Trainer.eval_every = 0", "Trainer.jit_compile = False",
)


def gran_bindings(k, steps_per_loop):
    return [*GRAN_BINDINGS, f"Unrolled.steps = {k}", f"Trainer.steps_per_loop = {steps_per_loop}"]


def build_gran(k, steps_per_loop, warmup):
    from gran_tf import config
    from gran_tf.training.trainer import Trainer

    config.parse(["ring_unrolled10"], gran_bindings(k, steps_per_loop))
    trainer = Trainer(model_dir=tempfile.mkdtemp(prefix=f"bench_peer_k{k}_"))
    trainer.train_steps(max(warmup, 2 * steps_per_loop))
    return trainer


def stub_missing(*names):
    """The peer's data.py / utils.py import ipdb and seaborn for debugging and plots only."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)


class Peer:
    """The peer's networks, optimizers and loss as its __main__ builds them; one `iteration()`
    is one pass of its training loop's body (d_steps D updates, then g_steps G updates)."""

    def __init__(self, peer_dir, k, seed=0):
        import numpy as np
        import torch

        stub_missing("ipdb", "seaborn")
        if peer_dir not in sys.path:
            sys.path.insert(0, peer_dir)
        self.np, self.torch = np, torch
        self.main = importlib.import_module("main")
        self.cfg = importlib.import_module("configs.yes_higher_unroll_10")
        torch.manual_seed(seed)
        self.k = k
        from model import Discriminator, Generator

        c = self.cfg
        self.G = Generator(input_size=c.g_inp, hidden_size=c.g_hid, output_size=c.g_out)
        self.G._apply(lambda t: t.detach())
        self.D = Discriminator(input_size=c.d_inp, hidden_size=c.d_hid, output_size=c.d_out)
        self.D._apply(lambda t: t.detach())
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=c.d_learning_rate, betas=c.optim_betas)
        self.g_opt = torch.optim.Adam(self.G.parameters(), lr=c.g_learning_rate, betas=c.optim_betas)
        self.it = 0

    @staticmethod
    def criterion(x, y):  # the peer's own BCE on probabilities (its __main__ defines it inline)
        return -(x.log() * y + (1 - x).log() * (1 - y)).mean()

    def iteration(self):
        m, np = self.main, self.np
        m.args = types.SimpleNamespace(model=0)  # ring
        m.config = types.SimpleNamespace(**{**vars(self.cfg), "unrolled_steps": self.k})
        d_infos = [m.d_loop(self.G, self.D, self.d_opt, self.criterion, self.it) for _ in range(self.cfg.d_steps)]
        np.mean(d_infos, 0)
        g_infos = [m.g_loop(self.G, self.D, self.g_opt, self.d_opt, self.criterion) for _ in range(self.cfg.g_steps)]
        np.mean(g_infos)
        self.it += 1

    def seconds_per_iteration(self, n):
        start = time.perf_counter()
        for _ in range(n):
            self.iteration()  # each ends in .item(): synchronous
        return (time.perf_counter() - start) / n

    def flops(self):
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            self.iteration()
        return counter.get_total_flops()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer_dir", required=True, help="directory holding the patched peer main.py")
    parser.add_argument("--ks", type=int, nargs="+", default=[0, 5, 10])
    parser.add_argument("--loops", type=int, nargs="+", default=[1, 50], help="gran_tf Trainer.steps_per_loop")
    parser.add_argument("--iters", type=int, default=50, help="iterations per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=20, help="untimed iterations after building")
    parser.add_argument("--flops", action="store_true", help="also count each side's FLOPs per iteration")
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads of both frameworks (torch.set_num_threads, TF intra and inter "
                             "op); 0 = each framework's default")
    args = parser.parse_args()
    peer_dir = os.path.abspath(args.peer_dir)

    import tensorflow as tf
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    variants = {}
    for k in args.ks:
        peer = Peer(peer_dir, k)
        for _ in range(args.warmup):
            peer.iteration()
        variants[(k, "peer")] = peer
        for n in args.loops:
            variants[(k, n)] = build_gran(k, n, args.warmup)
    times = {key: [] for key in variants}
    for _ in range(args.rounds):
        for key, v in variants.items():
            times[key].append(v.seconds_per_iteration(args.iters) if key[1] == "peer"
                              else seconds_per_step(v, args.iters))
    flops = {}
    if args.flops:
        for key, v in variants.items():
            if key[1] == "peer":
                flops[key] = v.flops()
            elif key[1] == args.loops[0]:
                flops[key] = profiler_step_flops(v)

    tf_threads = tf.config.threading.get_intra_op_parallelism_threads() or "default"
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), tensorflow {tf.__version__} "
          f"({tf_threads} intra-op threads), "
          f"{args.iters} iterations x {args.rounds} interleaved rounds, fastest round\n")
    header = "| K | side | steps/call | ms / iter | iters / s | x peer |"
    if flops:
        header += " MFLOP / iter | GFLOP/s |"
    print(header)
    print("|---:|---|---:" + "|---:" * (header.count("|") - 4) + "|")
    for k in args.ks:
        peer_best = min(times[(k, "peer")])
        for key in [(k, "peer"), *((k, n) for n in args.loops)]:
            best = min(times[key])
            side, call = ("peer (torch + higher)", "1") if key[1] == "peer" else ("gran_tf", str(key[1]))
            row = f"| {k} | {side} | {call} | {1000 * best:.2f} | {1 / best:.1f} | {peer_best / best:.2f} |"
            if flops:
                f = flops.get(key, flops.get((k, args.loops[0])))
                row += f" {f / 1e6:.0f} | {f / best / 1e9:.2f} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
