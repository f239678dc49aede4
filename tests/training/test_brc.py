import numpy as np
import pytest
import tensorflow as tf

from gran_tf import config
from gran_tf.distribute import make_strategy
from gran_tf.errors import ConfigError
from gran_tf.training.losses import Minimax, NonSaturating
from gran_tf.training.trainer import Trainer
from gran_tf.training.updaters import BRC, Proximal
from gran_tf.training.updaters import brc as brc_module
from gran_tf.training.updaters.base import d_step, d_update, global_mean, sample_z
from gran_tf.training.updaters.brc import OuterProduct, best_response_gradient, lwcl_brc, make_response
from gran_tf.training.updaters.functional import optimizer_slot


def brc_gradient(losses, theta, omega, damping=1e-3, **response):
    """dF/dθ by ``best_response_gradient`` with the Response that BRC's settings ``response`` name."""
    return best_response_gradient(losses, theta, omega, make_response(**response), damping).gradient


class QuadraticGame:
    """ℓ_D(θ, ω) = ½ωᵀAω − ωᵀBθ,  ℓ_G(θ, ω) = ½θᵀPθ + qᵀω + ½‖ω‖².

    ω*(θ) = A⁻¹Bθ, ∇²_ωω ℓ_D = A, ∇_θ⟨∇_ω ℓ_D, v⟩ = −Bᵀv, so
    dF/dθ = Pθ + Bᵀ(A + λI)⁻¹(q + ω)  (exact at ω = ω*, λ = 0).
    """

    def __init__(self, n_theta=3, n_omega=4, seed=0):
        rng = np.random.default_rng(seed)
        q_mat, _ = np.linalg.qr(rng.normal(size=(n_omega, n_omega)))
        self.A = q_mat @ np.diag(np.linspace(1.0, 3.0, n_omega)) @ q_mat.T  # eigenvalues in [1, 3]
        self.B = rng.normal(size=(n_omega, n_theta))
        p_mat = rng.normal(size=(n_theta, n_theta))
        self.P = p_mat @ p_mat.T + np.eye(n_theta)
        self.q = rng.normal(size=n_omega)
        self.theta = tf.Variable(rng.normal(size=n_theta))
        self.omega = tf.Variable(rng.normal(size=n_omega))

    def losses(self):
        th, om = self.theta, self.omega
        l_D = (0.5 * tf.tensordot(om, tf.linalg.matvec(self.A, om), 1)
               - tf.tensordot(om, tf.linalg.matvec(self.B, th), 1))
        l_G = (0.5 * tf.tensordot(th, tf.linalg.matvec(self.P, th), 1) + tf.tensordot(self.q, om, 1)
               + 0.5 * tf.reduce_sum(om * om))
        return l_G, l_D

    def best_response(self):
        return np.linalg.solve(self.A, self.B @ self.theta.numpy())

    def total_derivative(self, damping):
        rhs = np.linalg.solve(self.A + damping * np.eye(len(self.q)), self.q + self.omega.numpy())
        return self.P @ self.theta.numpy() + self.B.T @ rhs

    def hypergradient(self, **kw):
        grads = brc_gradient(self.losses, [self.theta], [self.omega], **kw)
        return grads[0].numpy()


SOLVERS = [dict(hessian="cg", solver_iters=4), dict(hessian="neumann", solver_iters=80, neumann_lr=0.3),
           dict(hessian="cg", solver_iters=4, products="forward"),
           dict(hessian="neumann", solver_iters=80, neumann_lr=0.3, products="forward")]
SOLVER_IDS = ["cg", "neumann", "cg-forward", "neumann-forward"]


@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
def test_solvers_give_the_exact_hypergradient_at_the_best_response(solver):
    game = QuadraticGame()
    game.omega.assign(game.best_response())
    # F(θ) = ℓ_G(θ, A⁻¹Bθ): its gradient in closed form.
    response = np.linalg.solve(game.A, game.B)
    exact = game.P @ game.theta.numpy() + response.T @ (game.q + response @ game.theta.numpy())
    np.testing.assert_allclose(game.hypergradient(damping=0.0, **solver), exact, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
def test_damped_solvers_match_the_closed_form_away_from_the_best_response(solver):
    game = QuadraticGame(seed=1)
    expected = game.total_derivative(damping=0.1)
    np.testing.assert_allclose(game.hypergradient(damping=0.1, **solver), expected, rtol=1e-4, atol=1e-8)
    assert np.abs(expected - game.P @ game.theta.numpy()).max() > 0.1  # the response term matters


def test_the_proximal_follower_gives_the_response_at_its_optimum_with_added_damping():
    """ω̃(θ) = argmin ℓ_D + (λ/2)‖ω' − ω‖² = (A + λI)⁻¹(Bθ + λω): the central differences of
    F(θ) = ℓ_G(θ, ω̃(θ)) equal the cg response at ω̃ with damping λ (ProxGAN + BRC)."""
    game, prox = QuadraticGame(seed=3), 0.7
    anchor, eye = game.omega.numpy(), np.eye(len(game.q))

    def follower(theta):
        return np.linalg.solve(game.A + prox * eye, game.B @ theta + prox * anchor)

    def leader(theta):
        om = follower(theta)
        return 0.5 * theta @ game.P @ theta + game.q @ om + 0.5 * om @ om

    theta, h = game.theta.numpy(), 1e-5
    numeric = [(leader(theta + h * e) - leader(theta - h * e)) / (2 * h) for e in np.eye(len(theta))]
    game.omega.assign(follower(theta))
    np.testing.assert_allclose(game.hypergradient(hessian="cg", solver_iters=4, damping=prox), numeric,
                               rtol=1e-5)


def test_outer_product_update_matches_its_closed_form():
    game = QuadraticGame(seed=2)
    th, om = game.theta.numpy(), game.omega.numpy()
    g_omega_D, g_theta_D = game.A @ om - game.B @ th, -game.B.T @ om
    g_omega_G, g_theta_G = game.q + om, game.P @ th
    c = g_omega_G @ g_omega_D / (0.5 + g_omega_D @ g_omega_D)
    np.testing.assert_allclose(game.hypergradient(hessian="outer_product", damping=0.5),
                               g_theta_G - c * g_theta_D, rtol=1e-10)


def test_woodbury_weights_solve_the_rank_n_gauss_newton_system():
    rng = np.random.default_rng(3)
    jac, b, damping = rng.normal(size=(5, 9)), rng.normal(size=9), 0.3
    # v = (JᵀJ/n + λI)⁻¹ b in parameter space; w_i = g_iᵀ v / n
    v = np.linalg.solve(jac.T @ jac / 5 + damping * np.eye(9), b)
    np.testing.assert_allclose(brc_module.woodbury_weights(tf.constant(jac), tf.constant(b), damping).numpy(),
                               jac @ v / 5, rtol=1e-10)


def per_example_game(batch, seed=4):
    """A tiny D and G on a batch: ℓ_i = softplus(−D(x_i)) + softplus(D(G(z_i)))."""
    rng = np.random.default_rng(seed)
    theta = [tf.Variable(rng.normal(size=(2, 2)))]
    omega = [tf.Variable(rng.normal(size=(2, 3))), tf.Variable(rng.normal(size=3))]
    real, z = tf.constant(rng.normal(size=(batch, 2))), tf.constant(rng.normal(size=(batch, 2)))

    def d(x):
        return tf.reduce_sum(tf.tanh(x @ omega[0]) * omega[1], axis=1)

    def losses(rows=None):
        fake_logits = d(z[:rows] @ theta[0])
        terms = tf.nn.softplus(-d(real[:rows])) + tf.nn.softplus(fake_logits)
        return tf.reduce_mean(tf.nn.softplus(-fake_logits)), terms / batch

    return losses, theta, omega


def test_woodbury_on_one_example_is_the_outer_product_update():
    losses, theta, omega = per_example_game(batch=1)
    outer = brc_gradient(losses, theta, omega, hessian="outer_product", damping=0.2)
    rank_one = brc_gradient(losses, theta, omega, hessian="woodbury", damping=0.2)
    np.testing.assert_allclose(rank_one[0].numpy(), outer[0].numpy(), rtol=1e-10)


def test_woodbury_matches_the_explicit_empirical_fisher_solve():
    losses, theta, omega = per_example_game(batch=6)
    damping = 0.05
    with tf.GradientTape(persistent=True) as tape:
        l_G, terms = losses()
        per_example = [6 * terms[i] for i in range(6)]  # ℓ_i
    flat = lambda gs: np.concatenate([g.numpy().ravel() for g in gs])  # noqa: E731
    jac_omega = np.stack([flat(tape.gradient(loss, omega)) for loss in per_example])
    jac_theta = np.stack([flat(tape.gradient(loss, theta)) for loss in per_example])
    g_theta_G, g_omega_G = flat(tape.gradient(l_G, theta)), flat(tape.gradient(l_G, omega))
    fisher = jac_omega.T @ jac_omega / 6 + damping * np.eye(jac_omega.shape[1])
    mixed = jac_theta.T @ jac_omega / 6  # (1/n) Σ ∇_θ ℓ_i g_iᵀ
    expected = g_theta_G - mixed @ np.linalg.solve(fisher, g_omega_G)
    grads = brc_gradient(losses, theta, omega, hessian="woodbury", damping=damping)
    np.testing.assert_allclose(grads[0].numpy().ravel(), expected, rtol=1e-8)
    # a rank-3 subset uses the first three examples only
    sub = slice(0, 3)
    fisher3 = jac_omega[sub].T @ jac_omega[sub] / 3 + damping * np.eye(jac_omega.shape[1])
    expected3 = g_theta_G - jac_theta[sub].T @ jac_omega[sub] / 3 @ np.linalg.solve(fisher3, g_omega_G)
    grads3 = brc_gradient(losses, theta, omega, hessian="woodbury", damping=damping, rank=3)
    np.testing.assert_allclose(grads3[0].numpy().ravel(), expected3, rtol=1e-8)


def test_brc_at_the_proximal_discriminator(sgd_ring_trainer, float32_paths, weights):
    """With the response damped away it is ProxGAN; otherwise the response turns its step."""
    proximal = dict(steps=2, prox_weight=1.0, inner_optimizer="sgd")
    prox = sgd_ring_trainer("prox", updater=Proximal(**proximal))
    prox.train_steps(2)
    damped = sgd_ring_trainer("damped", updater=BRC(inner_steps=1, damping=1e12,
                                                           proximal=Proximal(**proximal)))
    damped.train_steps(2)
    for a, b in zip(weights(prox), weights(damped)):  # two code paths: float32 tolerance
        np.testing.assert_allclose(a, b, **float32_paths)
    live = sgd_ring_trainer("live", updater=BRC(inner_steps=1, damping=1e-3, proximal=Proximal(**proximal)))
    metrics = live.train_steps(1)
    assert metrics["brc/response_ratio"] > 1e-3
    assert int(live.state.d_optimizer.iterations.numpy()) == 1  # the look-ahead leaves D alone


def test_the_response_term_changes_the_generator_update(sgd_ring_trainer):
    plain = sgd_ring_trainer("plain", ["Alternating.n_disc = 2"])
    brc = sgd_ring_trainer("brc", updater=BRC(hessian="outer_product", inner_steps=2, damping=0.1))
    plain.train_steps(1), brc.train_steps(1)
    for a, b in zip(plain.discriminator.get_weights(), brc.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)  # the same two ordinary D steps
    assert max(np.abs(a - b).max() for a, b in
               zip(plain.generator.get_weights(), brc.generator.get_weights())) > 1e-6


def test_diagnostics_report_how_far_the_response_turns_the_generator_gradient(sgd_ring_trainer):
    negligible = sgd_ring_trainer("big_damping", updater=BRC(inner_steps=1, damping=1e12)).train_steps(1)
    assert negligible["brc/cos_to_plain"] == pytest.approx(1.0, abs=1e-6)
    assert negligible["brc/response_ratio"] < 1e-6
    strong = sgd_ring_trainer("small_damping", updater=BRC(inner_steps=1, damping=1e-6)).train_steps(1)
    assert -1.0 <= strong["brc/cos_to_plain"] < 1.0 - 1e-4 and strong["brc/response_ratio"] > 1e-3


@pytest.mark.parametrize("hessian", ["cg", "neumann"])
def test_forward_over_reverse_products_give_the_reverse_mode_update(sgd_ring_trainer, hessian, weights):
    updater = dict(hessian=hessian, inner_steps=1, damping=0.1, solver_iters=3, neumann_lr=0.1)
    reverse = sgd_ring_trainer("reverse", updater=BRC(**updater))
    forward = sgd_ring_trainer("forward", updater=BRC(**updater, products="forward"))
    reverse_metrics, forward_metrics = reverse.train_steps(2), forward.train_steps(2)
    assert forward_metrics["brc/response_ratio"] > 1e-3
    np.testing.assert_allclose(forward_metrics["brc/response_ratio"], reverse_metrics["brc/response_ratio"],
                               rtol=1e-4)
    for a, b in zip(weights(reverse), weights(forward)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_forward_products_refuse_several_replicas(sgd_ring_trainer):
    strategy = make_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    trainer = sgd_ring_trainer("mirrored", updater=BRC(hessian="cg", inner_steps=1, products="forward"),
                           strategy=strategy)
    with pytest.raises(ConfigError, match="one replica"):
        trainer.train_steps(1)


def test_switching_diagnostics_off_drops_them_and_keeps_the_update(sgd_ring_trainer, weights):
    on = sgd_ring_trainer("on", updater=BRC(inner_steps=1, damping=0.1))
    off = sgd_ring_trainer("off", updater=BRC(inner_steps=1, damping=0.1, diagnostics=False))
    on_metrics, off_metrics = on.train_steps(1), off.train_steps(1)
    assert "brc/cos_to_plain" in on_metrics and not any(k.startswith("brc/") for k in off_metrics)
    for a, b in zip(weights(on), weights(off)):
        np.testing.assert_array_equal(a, b)


def test_a_zero_sum_loss_warns_once(monkeypatch):
    warnings = []
    monkeypatch.setattr(brc_module.logging, "warning", lambda *args: warnings.append(args))
    updater = BRC()
    updater.warn_if_zero_sum(NonSaturating())
    assert not warnings
    updater.warn_if_zero_sum(Minimax())
    updater.warn_if_zero_sum(Minimax())
    assert len(warnings) == 1


def test_ring8_vgan_brc_gin_is_the_brc_paper_setting(tmp_path):
    config.parse(["ring8_vgan_brc"], [])
    trainer = Trainer(model_dir=str(tmp_path / "gin"))
    updater = trainer.updater
    assert isinstance(updater, BRC) and updater.hessian == "outer_product"
    # the authors' algorithm: 1 committed D step, D_STEPS = 5 look-ahead steps, one batch for ℓ_D
    assert (updater.inner_steps, updater.look_ahead_steps, updater.damping, updater.epsilon) == (1, 5, 0.0, 1e-10)
    assert trainer.batch_size == 512 and updater.batches_per_step == 7
    dense = [w for w in trainer.discriminator.trainable_weights if w.name == "kernel"]
    assert [tuple(w.shape) for w in dense] == [(2, 256), (256, 256), (256, 1)]
    assert trainer.generator.activation == trainer.discriminator.activation == "leaky_relu"


def test_bad_settings_are_config_errors():
    for kw in (dict(hessian="exact"), dict(inner_steps=0), dict(solver_iters=0), dict(damping=-1.0),
               dict(neumann_lr=0.0), dict(rank=0), dict(proximal="prox"), dict(products="jvp"),
               dict(look_ahead_steps=-1), dict(look_ahead_steps=2, proximal=Proximal()),
               dict(look_ahead_optimizer="rmsprop"), dict(look_ahead_moments="keep"), dict(epsilon=-1.0),
               dict(coefficient_clip=0.0), dict(denominator_floor=-1.0), dict(hessian="cg", epsilon=1e-10),
               dict(hessian="woodbury", coefficient_clip=0.1)):
        with pytest.raises(ConfigError):
            BRC(**kw)


def test_a_solver_is_any_solve_of_matvec_and_b():
    # Iterative takes any solve(matvec, b): a dense solve built from matvec gives the closed form.
    game = QuadraticGame(seed=2)

    def dense_solve(matvec, b):
        n = int(b[0].shape[0])
        columns = [matvec([tf.one_hot(i, n, dtype=b[0].dtype)])[0] for i in range(n)]
        return [tf.linalg.solve(tf.stack(columns, axis=1), b[0][:, None])[:, 0]]

    result = best_response_gradient(game.losses, [game.theta], [game.omega],
                                    brc_module.Iterative(dense_solve), damping=0.1)
    np.testing.assert_allclose(result.gradient[0].numpy(), game.total_derivative(damping=0.1), rtol=1e-10)


class TinyMLPGame:
    """G: x = tanh(z W1) W2; D(x) = softplus(x V + c) · u + x · a; ℓ_D the sigmoid cross-entropy
    plus (μ/2)‖ω‖² (a strict minimum), ℓ_G the non-saturating loss; float64."""

    def __init__(self, batch=5, mu=0.1, seed=4):
        rng = np.random.default_rng(seed)
        self.theta = [tf.Variable(rng.normal(size=(2, 3))), tf.Variable(rng.normal(size=(3, 2)))]
        self.omega = [tf.Variable(0.5 * rng.normal(size=(2, 3))), tf.Variable(0.1 * rng.normal(size=3)),
                      tf.Variable(0.5 * rng.normal(size=3)), tf.Variable(0.5 * rng.normal(size=2))]
        self.z, self.real = tf.constant(rng.normal(size=(batch, 2))), tf.constant(rng.normal(size=(batch, 2)) + 1.0)
        self.batch, self.mu = batch, mu

    def d(self, x, omega):
        return tf.linalg.matvec(tf.nn.softplus(x @ omega[0] + omega[1]), omega[2]) + tf.linalg.matvec(x, omega[3])

    def losses(self, theta=None, omega=None):
        theta, omega = theta or self.theta, omega or self.omega
        fake_logits = self.d(tf.tanh(self.z @ theta[0]) @ theta[1], omega)
        terms = tf.nn.softplus(-self.d(self.real, omega)) + tf.nn.softplus(fake_logits)
        regulariser = 0.5 * self.mu * sum(tf.reduce_sum(w * w) for w in omega)
        return tf.reduce_mean(tf.nn.softplus(-fake_logits)), tf.concat([terms / self.batch, [regulariser]], 0)

    def best_response(self, theta, start, iters=40, descent_steps=0):
        """ω*(θ): ``descent_steps`` of gradient descent, then Newton's method on ℓ_D with the exact
        Hessian; returns ω*, ‖∇_ω ℓ_D‖ and the Hessian's smallest eigenvalue."""
        theta, omega = [tf.convert_to_tensor(w) for w in theta], [tf.convert_to_tensor(w) for w in start]
        if descent_steps:
            omega = self._descend(theta, omega, tf.constant(descent_steps))
        for _ in range(iters):
            omega, residual, hessian = self._newton_step(theta, omega)
        return omega, float(residual), float(np.linalg.eigvalsh(hessian.numpy()).min())

    def _d_gradient(self, theta, omega):
        with tf.GradientTape() as tape:
            tape.watch(omega)
            l_D = tf.reduce_sum(self.losses(theta, omega)[1])
        return tape.gradient(l_D, omega)

    @tf.function
    def _descend(self, theta, omega, steps):
        for _ in tf.range(steps):
            omega = [w - 0.5 * g for w, g in zip(omega, self._d_gradient(theta, omega))]
        return omega

    @tf.function
    def _newton_step(self, theta, omega):
        sizes = [int(np.prod(w.shape)) for w in omega]
        with tf.GradientTape() as outer:
            outer.watch(omega)
            grad = tf.concat([tf.reshape(g, [-1]) for g in self._d_gradient(theta, omega)], 0)
        hessian = tf.concat([tf.reshape(h, [sum(sizes), -1]) for h in outer.jacobian(grad, omega)], 1)
        step = tf.split(tf.linalg.solve(hessian, grad[:, None])[:, 0], sizes)
        return [w - tf.reshape(d, w.shape) for w, d in zip(omega, step)], tf.norm(grad), hessian


def test_the_brc_step_is_the_finite_difference_gradient_of_the_leaders_objective(finite_difference_gradient):
    # Near the best response the exact-Hessian BRC gradient is dF/dθ of F(θ) = ℓ_G(θ, ω*(θ)).
    game = TinyMLPGame()
    omega_star, residual, curvature = game.best_response(game.theta, game.omega, descent_steps=300)
    assert residual < 1e-10 and curvature > 1e-3  # a strict minimum of ℓ_D in ω
    for w, w_star in zip(game.omega, omega_star):
        w.assign(w_star)
    result = best_response_gradient(game.losses, game.theta, game.omega,
                                    brc_module.Iterative(brc_module.ConjugateGradient(40)), damping=0.0)

    def leader_objective():
        omega, _, _ = game.best_response(game.theta, omega_star, iters=6)
        return float(game.losses(game.theta, omega)[0])

    expected = finite_difference_gradient(leader_objective, game.theta, eps=1e-5)
    for grad, fd in zip(result.gradient, expected):
        np.testing.assert_allclose(grad.numpy(), fd, rtol=1e-6, atol=1e-9)
    # The response matters here: the plain gradient ∇_θ ℓ_G misses by far more than the tolerance.
    assert max(np.abs(d.numpy() - g.numpy()).max() for d, g in zip(result.direct, result.gradient)) > 1e-4


# ---- BRC as its authors run it (lwcl_brc; docs/brc.md#the-authors-algorithm-lwcl-code) ----

class SplitQuadraticGame(QuadraticGame):
    """QuadraticGame with ω held as two tensors, so that a per-tensor ε counts twice."""

    def __init__(self, seed):
        super().__init__(seed=seed)
        om = self.omega.numpy()
        self.parts = [tf.Variable(om[:2]), tf.Variable(om[2:])]

    def split_losses(self):
        self.omega = tf.concat(self.parts, 0)
        return QuadraticGame.losses(self)


@pytest.mark.parametrize("safeguard", [dict(), dict(clip=0.05), dict(denominator_floor=200.0)],
                         ids=["plain", "clip", "floor"])
def test_the_lwcl_coefficient_matches_its_closed_form_with_epsilon_per_tensor(safeguard):
    game, eps = SplitQuadraticGame(seed=5), 0.3
    result = best_response_gradient(game.split_losses, [game.theta], game.parts, OuterProduct(eps, **safeguard),
                                    damping=0.0)
    th, om = game.theta.numpy(), np.concatenate([w.numpy() for w in game.parts])
    g_omega_D, g_theta_D = game.A @ om - game.B @ th, -game.B.T @ om
    g_omega_G, g_theta_G = game.q + om, game.P @ th
    denominator = max(g_omega_D @ g_omega_D + 2 * eps, safeguard.get("denominator_floor", 0.0))  # two tensors
    c = g_omega_G @ g_omega_D / denominator
    if "clip" in safeguard:
        assert abs(c) > safeguard["clip"]  # the clip acts
        c = np.clip(c, -safeguard["clip"], safeguard["clip"])
    if "denominator_floor" in safeguard:
        assert safeguard["denominator_floor"] > g_omega_D @ g_omega_D + 2 * eps  # the floor acts
    np.testing.assert_allclose(result.gradient[0].numpy(), g_theta_G - c * g_theta_D, rtol=1e-10)
    # ε per tensor is the damping λ = (number of ω tensors) · ε of the plain coefficient
    if not safeguard:
        plain = best_response_gradient(game.split_losses, [game.theta], game.parts, OuterProduct(), damping=2 * eps)
        np.testing.assert_allclose(result.gradient[0].numpy(), plain.gradient[0].numpy(), rtol=1e-12)


def point_batches(n, batch=16, seed=7):
    """n real batches (x, label) of ring-like points for calling ``updater.step`` directly."""
    rng = np.random.default_rng(seed)
    return [(tf.constant(rng.normal(size=(batch, 2)), tf.float32), tf.zeros([batch], tf.int32)) for _ in range(n)]


def test_lwcl_without_look_ahead_is_the_outer_product_response_at_the_current_d(ring_trainer, weights,
                                                                                 float32_paths):
    """K = 0: one committed D step, then c at that D with ε per tensor — today's outer-product
    update with λ = (number of D tensors) · ε, given the same batch for its ℓ_D."""
    eps = 0.05
    ours = ring_trainer("lwcl", updater=lwcl_brc(look_ahead_steps=0, epsilon=eps))
    n_tensors = len(ours.discriminator.trainable_variables)
    today = ring_trainer("today", updater=BRC(inner_steps=1, damping=n_tensors * eps))
    b0 = point_batches(1)[0]
    assert ours.updater.batches_per_step == 2 and today.updater.batches_per_step == 1
    step = tf.constant(0, tf.int64)
    ours_metrics = ours.updater.step(ours.state, [b0, b0], step)
    today_metrics = today.updater.step(today.state, [b0], step)
    for a, b in zip(weights(ours), weights(today)):
        np.testing.assert_allclose(a, b, **float32_paths)
    np.testing.assert_allclose(ours_metrics["brc/response_ratio"], today_metrics["brc/response_ratio"], rtol=1e-5)
    assert float(ours_metrics["brc/response_ratio"]) > 1e-3  # the response is not negligible
    assert int(ours.state.d_optimizer.iterations.numpy()) == 1


def lwcl_reference_step(state, batches, look_ahead_steps, eps, commit, response=True):
    """The authors' g_loop_GAN literally, with real optimizer steps on D and a restore:
    a committed D step, K D steps on one fixed z batch (G detached), the G step with
    c = ⟨∇_ω F, ∇_ω f⟩ / Σ(‖∇_ω_i f‖² + ε) at ω_K (c = 0 without ``response``), then D's
    weights (and, unless ``commit``, its optimizer state) put back."""
    step, (real, *rest) = tf.constant(0, tf.int64), [x for x, _ in batches]
    g, d, opt = state.generator, state.discriminator, state.d_optimizer
    d_step(state, real, step, stream=0)
    snapshot = [w.numpy() for w in d.trainable_variables]
    opt_snapshot = [w.numpy() for w in opt.variables]
    z = sample_z(state, step, 2, tf.shape(real)[0])
    fake = tf.stop_gradient(g(z, training=True))
    for k in range(look_ahead_steps):
        d_update(state, rest[k], fake, step, stream=4)
    f_real = rest[look_ahead_steps]

    def losses():
        fake_logits = d(g(z, training=True), training=True)
        l_D = state.loss.d_loss(d(f_real, training=True), fake_logits)
        return global_mean(state.loss.g_loss(fake_logits), state), l_D / state.global_batch_size

    if response:
        gradient = best_response_gradient(losses, g.trainable_variables, d.trainable_variables, OuterProduct(eps),
                                          0.0).gradient
    else:
        with tf.GradientTape() as tape:
            l_G, _ = losses()
        gradient = tape.gradient(l_G, g.trainable_variables)
    state.g_optimizer.apply_gradients(zip(gradient, g.trainable_variables))
    for w, value in zip(d.trainable_variables, snapshot):
        w.assign(value)
    if not commit:
        for w, value in zip(opt.variables, opt_snapshot):
            w.assign(value)


@pytest.mark.parametrize("moments", ["commit", "discard"])
def test_lwcl_look_ahead_restores_d_and_commits_or_discards_its_adam_moments(ring_trainer, weights,
                                                                             float32_paths, moments):
    """Functional look-ahead (ours) = real Adam steps on D then a restore (theirs); D's weights
    are exactly those after the one committed step; Adam's moments and step count carry the
    K look-ahead steps ("commit", as LwCL) or not ("discard")."""
    k, eps = 3, 1e-10
    batches = point_batches(1 + k + 1)
    step = tf.constant(0, tf.int64)
    ours = ring_trainer("ours", updater=lwcl_brc(look_ahead_steps=k, epsilon=eps, look_ahead_moments=moments))
    assert ours.updater.batches_per_step == 1 + k + 1
    ours.updater.step(ours.state, batches, step)
    theirs = ring_trainer("theirs")
    lwcl_reference_step(theirs.state, batches, k, eps, commit=moments == "commit")
    committed_only = ring_trainer("committed_only")
    d_step(committed_only.state, batches[0][0], step, stream=0)

    d_ours, d_only = ours.discriminator.get_weights(), committed_only.discriminator.get_weights()
    for a, b in zip(d_ours, d_only):
        np.testing.assert_array_equal(a, b)  # restored exactly: only the committed step moved D
    for a, b in zip(weights(ours), weights(theirs)):  # G's step at ω_K
        np.testing.assert_allclose(a, b, **float32_paths)
    assert max(np.abs(a - b).max() for a, b in zip(ours.generator.get_weights(),
                                                   committed_only.generator.get_weights())) > 1e-5

    def moments_of(trainer):
        opt = trainer.state.d_optimizer
        return [optimizer_slot(opt, v, kind).numpy() for kind in ("momentum", "velocity")
                for v in trainer.discriminator.trainable_variables]

    for a, b in zip(moments_of(ours), moments_of(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)
    iterations = int(ours.state.d_optimizer.iterations.numpy())
    assert iterations == int(theirs.state.d_optimizer.iterations.numpy())
    if moments == "commit":
        assert iterations == 1 + k
        assert max(np.abs(a - b).max() for a, b in zip(moments_of(ours), moments_of(committed_only))) > 1e-9
    else:
        assert iterations == 1
        for a, b in zip(moments_of(ours), moments_of(committed_only)):
            np.testing.assert_array_equal(a, b)


def test_lwcl_without_its_response_steps_g_along_its_own_gradient_at_the_look_ahead_d(ring_trainer, weights,
                                                                                      float32_paths):
    """``response=False`` (the ablation's look-ahead-only arm): the same look-ahead and restore,
    G's step along ∇_θ F at ω_K alone; it differs from the step with the response."""
    k = 3
    batches = point_batches(1 + k + 1)
    step = tf.constant(0, tf.int64)
    ours = ring_trainer("ours", updater=lwcl_brc(look_ahead_steps=k, response=False))
    metrics = ours.updater.step(ours.state, batches, step)
    theirs = ring_trainer("theirs")
    lwcl_reference_step(theirs.state, batches, k, eps=None, commit=True, response=False)
    for a, b in zip(weights(ours), weights(theirs)):
        np.testing.assert_allclose(a, b, **float32_paths)
    assert float(metrics["brc/response_ratio"]) == 0.0 and float(metrics["brc/cos_to_plain"]) == pytest.approx(1.0)
    with_response = ring_trainer("with_response", updater=lwcl_brc(look_ahead_steps=k))
    with_response.updater.step(with_response.state, batches, step)
    assert max(np.abs(a - b).max() for a, b in zip(ours.generator.get_weights(),
                                                   with_response.generator.get_weights())) > 1e-6


def test_lwcl_brc_is_one_gin_line(tmp_path):
    config.parse(["ring"], ["Trainer.updater = @lwcl_brc()", "lwcl_brc.look_ahead_steps = 4",
                            "lwcl_brc.coefficient_clip = 0.1"])
    updater = Trainer(model_dir=str(tmp_path / "gin")).updater
    assert isinstance(updater, BRC) and updater.look_ahead_steps == 4 and updater.inner_steps == 1
    assert updater.damping == 0.0 and updater.epsilon == 1e-10 and updater.coefficient_clip == 0.1
    assert updater.look_ahead_moments == "commit" and updater.batches_per_step == 6
