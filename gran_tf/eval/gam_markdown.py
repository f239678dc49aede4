"""GAM battles and leagues (``gran_tf.eval.gam``) as the Markdown tables ``gran-battle`` prints."""
from gran_tf.eval.gam import THRESHOLD


def battle_table(result):
    """Paper Figure 6's table of error rates of a ``BattleResult``, then the two ratios and the
    winner (and the winner by the bootstrap intervals, when there is one)."""
    a, b = result.names
    e = result.errors
    return "\n".join([
        f"| discriminator | {a} (G1 samples · its data) | {b} (G2 samples · its data) |",
        "|---|---|---|",
        f"| D1 ({a}) | D1(G1(z)) {e['d1_g1']:.4f} · D1(x_train) {e['d1_train']:.4f} "
        f"| D1(G2(z)) {e['d1_g2']:.4f} · D1(x_test) {e['d1_test']:.4f} |",
        f"| D2 ({b}) | D2(G1(z)) {e['d2_g1']:.4f} · D2(x_test) {e['d2_test']:.4f} "
        f"| D2(G2(z)) {e['d2_g2']:.4f} · D2(x_train) {e['d2_train']:.4f} |",
        "",
        f"Error rates (threshold {THRESHOLD}). r_test = {result.r_test}{_interval(result, 'r_test')}, "
        f"r_sample = {result.r_sample}{_interval(result, 'r_sample')}, tolerance {result.tolerance}: "
        f"winner **{result.winner_name or 'tie'}** ({result.reason}).",
        *([f"By the intervals: winner **{result.name_of(result.interval_winner) or 'tie'}** "
           f"({result.interval_reason})."] if result.interval_winner else []),
    ])


def _interval(result, key):
    if not result.intervals or result.intervals.get(key) is None:
        return ""
    lo, hi = result.intervals[key]
    return f" ({100 * result.intervals['confidence']:g}% bootstrap interval {lo:.3f}-{hi:.3f})"


def league_table(league):
    """The standings of a ``League``: rank, model, played, wins, ties, losses, score."""
    lines = ["| rank | model | played | wins | ties | losses | score |", "|---|---|---|---|---|---|---|"]
    for rank, r in enumerate(league.rows, 1):
        lines.append(f"| {rank} | {r['name']} | {r['played']} | {r['wins']} | {r['ties']} "
                     f"| {r['losses']} | {r['score']:g} |")
    return "\n".join(lines)
