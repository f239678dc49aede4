"""Best-Response Constraint (BRC): the generator (leader, θ) descends F(θ) = ℓ_G(θ, ω*(θ)) where
ω*(θ) = argmin_ω ℓ_D(θ, ω) is the discriminator's (follower's) best response (docs/brc.md#formulation).

Implicit-function theorem:  dF/dθ = ∇_θ ℓ_G − ∇²_θω ℓ_D · [∇²_ωω ℓ_D]⁻¹ · ∇_ω ℓ_G.

Distribution: every replica holds ℓ_G, ℓ_D averaged over the *global* batch, i.e. its share
of a sum over replicas. The ω-quantities entering the response (the coefficient c, or the
Hessian products and the solve for v) are all-reduced, so every replica sees the same global
c or v. The θ-gradients are left per replica and linear in these shares; the optimizer's
cross-replica SUM then assembles the global ∇_θ ℓ_G − c ∇_θ ℓ_D, or ∇_θ ℓ_G − ∇²_θω ℓ_D v.

``lwcl_brc`` is BRC as its authors run it (github moriyaya/LwCL, ``g_loop_GAN`` with ``--GN``;
docs/brc.md#the-authors-algorithm-lwcl-code): the outer-product response at a look-ahead
discriminator ω_K, K first-order D steps past the committed one, with ε per tensor and no λ.
"""
import dataclasses

import gin
import keras
import tensorflow as tf
from absl import logging

from gran_tf.errors import ConfigError
from gran_tf.settings import check_settings, flag, integer, number, one_of, optional
from gran_tf.training.updaters.base import Updater, d_step, draw_seed, global_mean, sample_z
from gran_tf.training.updaters.functional import (
    INNER_OPTIMIZERS, AdamMoments, StatelessModel, cross_replica_sum, gradients, inner_product, num_replicas,
    optimizer_slot, vector_jacobian_product, watch_tensors)
from gran_tf.training.updaters.proximal import Proximal
from gran_tf.training.updaters.unrolled import look_ahead_with_state

HESSIANS = ("outer_product", "woodbury", "cg", "neumann", "none")
PRODUCTS = ("reverse", "forward")
LOOK_AHEAD_MOMENTS = ("commit", "discard")


def outer_product_coefficient(g_omega_G, g_omega_D, damping, epsilon=0.0, denominator_floor=0.0, clip=None):
    """c = ⟨∇_ω ℓ_G, ∇_ω ℓ_D⟩ / (λ + Σ_i (‖∇_ω_i ℓ_D‖² + ε)): Sherman–Morrison on H ≈ g gᵀ + λI.

    ε is added once per parameter tensor ω_i (LwCL ``g_loop_GAN``: ``gfyfy += sum(fy*fy) + 1e-10``
    per tensor). Safeguards, both off by default: the denominator is raised to at least
    ``denominator_floor``, and c is clipped to [−clip, clip] (LwCL ring ``WGAN_loop_GP``: 0.1).
    """
    denominator = damping + inner_product(g_omega_D, g_omega_D) + epsilon * len(g_omega_D)
    if denominator_floor:
        denominator = tf.maximum(denominator, tf.cast(denominator_floor, denominator.dtype))
    c = inner_product(g_omega_G, g_omega_D) / denominator
    return c if clip is None else tf.clip_by_value(c, -clip, clip)


def woodbury_weights(jacobian, b, damping):
    """w = (J Jᵀ + nλI)⁻¹ J b, the per-example weights of the rank-n Gauss–Newton response.

    With J the n per-example gradients g_i = ∇_ω ℓ_i as rows, H ≈ JᵀJ/n + λI and
    ∇²_θω ℓ_D ≈ (1/n) Σ_i ∇_θ ℓ_i g_iᵀ; by Woodbury the response ∇²_θω ℓ_D H⁻¹ b is
    Σ_i w_i ∇_θ ℓ_i with w_i = g_iᵀ H⁻¹ b / n, i.e. w = (JJᵀ + nλI)⁻¹ J b (an n × n solve).
    """
    n = tf.shape(jacobian)[0]
    gram = tf.matmul(jacobian, jacobian, transpose_b=True)
    ridge = damping * tf.cast(n, gram.dtype) * tf.eye(n, dtype=gram.dtype)
    return tf.linalg.solve(gram + ridge, tf.linalg.matvec(jacobian, b)[:, None])[:, 0]


@dataclasses.dataclass(frozen=True)
class ConjugateGradient:
    """``solve(matvec, b)``: v ≈ A⁻¹ b by ``iters`` conjugate-gradient steps from v = 0 (A symmetric PD)."""

    iters: int

    def __call__(self, matvec, b):
        v = [tf.zeros_like(x) for x in b]
        r, p = list(b), list(b)
        rr = inner_product(r, r)
        for _ in range(self.iters):
            ap = matvec(p)
            alpha = tf.math.divide_no_nan(rr, inner_product(p, ap))
            v = [x + alpha * y for x, y in zip(v, p)]
            r = [x - alpha * y for x, y in zip(r, ap)]
            rr_new = inner_product(r, r)
            p = [x + tf.math.divide_no_nan(rr_new, rr) * y for x, y in zip(r, p)]
            rr = rr_new
        return v


@dataclasses.dataclass(frozen=True)
class NeumannSeries:
    """``solve(matvec, b)``: v ≈ A⁻¹ b = α Σ_{j≥0} (I − αA)^j b, truncated after ``iters`` terms
    (converges when α‖A‖ < 1)."""

    iters: int
    lr: float

    def __call__(self, matvec, b):
        term, total = list(b), list(b)
        for _ in range(self.iters):
            term = [t - self.lr * a for t, a in zip(term, matvec(term))]
            total = [s + t for s, t in zip(total, term)]
        return [self.lr * s for s in total]


def damped(hvp, damping):
    """v ↦ (H + λI) v."""
    return lambda v: [h + damping * x for h, x in zip(hvp(v), v)]


class Response:
    """One approximation of the response term ∇²_θω ℓ_D (H + λI)⁻¹ ∇_ω ℓ_G, H = ∇²_ωω ℓ_D.

    ``parts(losses_fn, theta, omega, damping)`` gives this replica's shares of ∇_θ ℓ_G and of the
    response term, and ℓ_G; see ``best_response_gradient`` for ``losses_fn``.
    """

    def parts(self, losses_fn, theta, omega, damping):
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class OuterProduct(Response):
    """H ≈ g gᵀ, g = ∇_ω ℓ_D: first-order gradients only (Sherman–Morrison); ``epsilon``,
    ``denominator_floor`` and ``clip`` as in ``outer_product_coefficient``."""

    epsilon: float = 0.0
    denominator_floor: float = 0.0
    clip: float = None

    def parts(self, losses_fn, theta, omega, damping):
        with tf.GradientTape(persistent=True) as tape:
            watch_tensors(tape, omega)
            l_G, d_terms = losses_fn()
            l_D = tf.reduce_sum(d_terms)
        g_theta_G, g_omega_G = theta_and_omega(gradients(tape, l_G, theta + omega), len(theta))
        g_theta_D, g_omega_D = theta_and_omega(gradients(tape, l_D, theta + omega), len(theta))
        c = outer_product_coefficient(cross_replica_sum(g_omega_G), cross_replica_sum(g_omega_D), damping,
                                      self.epsilon, self.denominator_floor, self.clip)
        c = tf.stop_gradient(c)  # held constant, as LwCL's ``gFyfy.detach() / gfyfy.detach()``
        return g_theta_G, [c * b for b in g_theta_D], l_G


@dataclasses.dataclass(frozen=True)
class NoResponse(Response):
    """No response term: dF/dθ = ∇_θ ℓ_G at ω. With a look-ahead this is the first-order
    unrolled update, BRC's look-ahead without its response (the ablation in docs/brc.md)."""

    def parts(self, losses_fn, theta, omega, damping):
        with tf.GradientTape() as tape:
            l_G, _ = losses_fn()
        g_theta_G = gradients(tape, l_G, theta)
        return g_theta_G, [tf.zeros_like(g) for g in g_theta_G], l_G


@dataclasses.dataclass(frozen=True)
class Woodbury(Response):
    """H ≈ JᵀJ/n from the per-example gradients of ``rank`` examples (all when None)."""

    rank: int = None

    def parts(self, losses_fn, theta, omega, damping):
        with tf.GradientTape(persistent=True) as tape:
            watch_tensors(tape, omega)
            l_G, d_terms = losses_fn()
        g_theta_G, g_omega_G = theta_and_omega(gradients(tape, l_G, theta + omega), len(theta))
        return g_theta_G, woodbury_response(tape, losses_fn, d_terms, theta, omega, g_omega_G, damping,
                                            self.rank), l_G


@dataclasses.dataclass(frozen=True)
class Iterative(Response):
    """The exact H through Hessian-vector products, v = (H + λI)⁻¹ ∇_ω ℓ_G by ``solve(matvec, b)``
    (``ConjugateGradient``, ``NeumannSeries`` or any function of that shape), then ∇_θ⟨∇_ω ℓ_D, v⟩.
    ``products`` forms the products "reverse"-over-reverse (one persistent tape) or
    "forward"-over-reverse (no second-order tape; one replica only)."""

    solve: object
    products: str = "reverse"

    def parts(self, losses_fn, theta, omega, damping):
        if self.products == "forward":
            return self.forward_parts(losses_fn, theta, omega, damping)
        with tf.GradientTape(persistent=True) as outer:
            watch_tensors(outer, omega)
            with tf.GradientTape(persistent=True) as inner:
                watch_tensors(inner, omega)
                l_G, d_terms = losses_fn()
                l_D = tf.reduce_sum(d_terms)
            g_omega_D = gradients(inner, l_D, omega)
        g_theta_G, g_omega_G = theta_and_omega(gradients(inner, l_G, theta + omega), len(theta))

        def hvp(v):  # (Σ_r H_r) v: the global Hessian of ℓ_D in ω
            return cross_replica_sum(vector_jacobian_product(outer, g_omega_D, omega, v))

        v = self.solved(hvp, cross_replica_sum(g_omega_G), damping)
        return g_theta_G, vector_jacobian_product(outer, g_omega_D, theta, v), l_G  # ∇_θ ⟨∇_ω ℓ_D, v⟩

    def forward_parts(self, losses_fn, theta, omega, damping):
        """Every product a forward-mode derivative of a reverse-mode gradient of ℓ_D along
        ω → ω + εv: H v = ∂_ε ∇_ω ℓ_D, and the mixed term ∇²_θω ℓ_D v = ∂_ε ∇_θ ℓ_D."""
        if num_replicas() > 1:
            raise ConfigError('BRC.products = "forward" runs on one replica; use "reverse" under a '
                              "multi-replica strategy")
        with tf.GradientTape() as tape:
            watch_tensors(tape, omega)
            l_G, _ = losses_fn()
        g_theta_G, g_omega_G = theta_and_omega(gradients(tape, l_G, theta + omega), len(theta))

        def d_gradient_derivative(v, sources):
            with tf.autodiff.ForwardAccumulator(accumulator_primals(omega), v) as accumulator:
                with tf.GradientTape() as inner:
                    watch_tensors(inner, omega)
                    l_D = tf.reduce_sum(losses_fn()[1])
                grads = gradients(inner, l_D, sources)
            return [accumulator.jvp(g, unconnected_gradients=tf.UnconnectedGradients.ZERO) for g in grads]

        v = self.solved(lambda u: d_gradient_derivative(u, omega), g_omega_G, damping)
        return g_theta_G, d_gradient_derivative(v, theta), l_G

    def solved(self, hvp, b, damping):
        """v = (H + λI)⁻¹ b, held constant."""
        return [tf.stop_gradient(x) for x in self.solve(damped(hvp, damping), b)]


def make_response(hessian="outer_product", solver_iters=10, neumann_lr=1.0, rank=None, products="reverse",
                  epsilon=0.0, denominator_floor=0.0, coefficient_clip=None):
    """The Response named by BRC's gin settings."""
    if hessian == "outer_product":
        return OuterProduct(epsilon, denominator_floor, coefficient_clip)
    if hessian == "woodbury":
        return Woodbury(rank)
    if hessian == "none":
        return NoResponse()
    solve = ConjugateGradient(solver_iters) if hessian == "cg" else NeumannSeries(solver_iters, neumann_lr)
    return Iterative(solve, products)


@dataclasses.dataclass
class BestResponseGradient:
    gradient: list  # this replica's part of dF/dθ = ∇_θ ℓ_G − response
    direct: list  # this replica's part of ∇_θ ℓ_G
    l_G: tf.Tensor


def best_response_gradient(losses_fn, theta, omega, response=None, damping=1e-3):
    """This replica's part of dF/dθ = ∇_θ ℓ_G − ∇²_θω ℓ_D (H + λI)⁻¹ ∇_ω ℓ_G, with H as
    ``response`` (a Response, default OuterProduct()) approximates it.

    ``losses_fn()`` returns ℓ_G and the terms of ℓ_D (ℓ_D = Σ terms), computed from
    ``theta`` and ``omega`` (lists of variables or tensors), each this replica's share of the
    global-batch loss. Woodbury needs them per example, and ``losses_fn(rows=r)`` to give the
    terms of the first r examples alone.
    """
    direct, term, l_G = (response or OuterProduct()).parts(losses_fn, theta, omega, damping)
    return BestResponseGradient([a - b for a, b in zip(direct, term)], direct, l_G)


def accumulator_primals(omega):
    """The tf.Variables (or tensors) that ops read for ``omega``: Keras 3 wraps its own."""
    return [w.value if isinstance(w, keras.Variable) else w for w in omega]


DIAGNOSTICS = ("brc/cos_to_plain", "brc/response_ratio")


def response_diagnostics(direct, total):
    """cos(dF/dθ, ∇_θ ℓ_G) and ‖response‖ / ‖∇_θ ℓ_G‖ of the global gradients (``total`` = dF/dθ,
    response = direct − total), each divided by the number of replicas (the trainer sums metrics
    over replicas). A negative cosine means the response term reverses the plain generator gradient."""
    direct, total = cross_replica_sum(direct), cross_replica_sum(total)
    response = [a - b for a, b in zip(direct, total)]
    norm = lambda xs: tf.sqrt(inner_product(xs, xs))  # noqa: E731
    replicas = tf.cast(num_replicas(), total[0].dtype)
    cos = tf.math.divide_no_nan(inner_product(total, direct), norm(total) * norm(direct))
    ratio = tf.math.divide_no_nan(norm(response), norm(direct))
    return dict(zip(DIAGNOSTICS, (cos / replicas, ratio / replicas)))


def woodbury_response(tape, losses_fn, d_terms, theta, omega, g_omega_G, damping, rank):
    """This replica's part of Σ_i w_i ∇_θ ℓ_i over the first ``rank`` examples of the global
    batch (all when None), ℓ_i the per-example D loss; see ``woodbury_weights``.

    ``d_terms`` are ℓ_i / N (global-mean shares), so ℓ_i = N · term. Each replica
    contributes its first rank / replicas examples; their gradients are all-gathered.
    """
    replicas = num_replicas()
    with tape:
        n_global = tf.cast(tf.size(d_terms) * replicas, d_terms.dtype)
        # The subset's own forward pass: its Jacobian costs rank backprops of rank examples.
        local = d_terms if rank is None else losses_fn(rows=max(1, rank // replicas))[1]
        per_example = n_global * local
    jac = tape.jacobian(per_example, omega, unconnected_gradients=tf.UnconnectedGradients.ZERO,
                        experimental_use_pfor=True)
    jac = tf.concat([tf.reshape(j, [tf.shape(per_example)[0], -1]) for j in jac], axis=1)
    b = tf.concat([tf.reshape(x, [-1]) for x in cross_replica_sum(g_omega_G)], axis=0)
    ctx = tf.distribute.get_replica_context()
    if replicas > 1:
        jac = ctx.all_gather(jac, axis=0)
    w = tf.stop_gradient(woodbury_weights(jac, b, damping))
    if replicas > 1:
        n_local = tf.shape(per_example)[0]
        w = w[ctx.replica_id_in_sync_group * n_local:][:n_local]
    with tape:
        weighted = tf.reduce_sum(w * per_example)
    return gradients(tape, weighted, theta)


def theta_and_omega(grads, n_theta):
    """A gradient list over θ + ω split into its θ (generator) and ω (discriminator) parts."""
    return grads[:n_theta], grads[n_theta:]


@gin.register
class BRC(Updater):
    """``inner_steps`` ordinary D steps towards the best response, then one G step on dF/dθ.

    ``hessian``: "outer_product" (first-order gradients only, H ≈ g gᵀ + λI), "woodbury"
    (H ≈ JᵀJ/n + λI from the per-example gradients of ``rank`` examples, all when None),
    "cg" or "neumann" (``solver_iters`` Hessian-vector products; ``neumann_lr`` is the
    series step α), "none" (no response: G steps along ∇_θ ℓ_G at the follower); ``products``
    forms their products by "reverse"-over-reverse (from one persistent tape) or
    "forward"-over-reverse (no second-order tape, one rerun of ℓ_D per product; one replica
    only); ``damping`` is λ in (H + λI). ``diagnostics`` logs ``brc/cos_to_plain``
    and ``brc/response_ratio`` (two θ-sized all-reduces per step on several replicas).

    ``proximal`` (a ``Proximal``; ProxGAN + BRC): the follower is ProxGAN's proximal
    discriminator D̃ = argmin_ω' ℓ_D + (λ_p/2)‖ω' − ω‖², reached by the Proximal look-ahead
    from ω after the ``inner_steps`` D steps. Its lower-level Hessian is H + λ_p I and its
    mixed term that of ℓ_D, so dF/dθ is the response above taken at D̃ with damping λ + λ_p.

    ``look_ahead_steps`` K (None: off; the authors' algorithm, see ``lwcl_brc``): after the
    ``inner_steps`` committed D steps, the response is taken at ω_K, K steps of D's own optimizer
    (``look_ahead_optimizer``, "adam" or "sgd", functional copies from its current state) from ω
    with G detached, all against the fakes G(z) of the generator step's one z batch, each on a
    fresh real batch; ℓ_D in the response then uses one more fresh real batch. D's weights are
    never written (so "restored" exactly); ``look_ahead_moments`` "commit" writes the optimizer's
    state after the K steps (Adam moments, step count) back, as LwCL's real optimizer steps do,
    "discard" leaves it as the committed steps left it. Real batches per step:
    ``inner_steps`` (+ K + 1 with a look-ahead). No tape runs back through the look-ahead (its
    fakes are detached and the implicit gradient treats ω_K as a constant), so it has no
    ``remat`` option: Unrolled's would save nothing here.

    ``epsilon`` (ε per ω tensor in c's denominator), ``coefficient_clip`` (c clipped to
    [−clip, clip]) and ``denominator_floor`` (a lower bound on c's denominator) apply to the
    outer-product response only; all off by default.
    """

    loss_scaling = False  # the implicit gradient's products are not loss-scaled: no mixed float16

    def __init__(self, hessian="outer_product", inner_steps=5, damping=1e-3, solver_iters=10, neumann_lr=1.0,
                 rank=None, diagnostics=True, proximal=None, products="reverse", look_ahead_steps=None,
                 look_ahead_optimizer="adam", look_ahead_moments="commit", epsilon=0.0, coefficient_clip=None,
                 denominator_floor=0.0):
        check_settings(
            "BRC", hessian=(one_of(*HESSIANS), hessian), inner_steps=(integer(1), inner_steps),
            damping=(number(minimum=0), damping), solver_iters=(integer(1), solver_iters),
            neumann_lr=(number(above=0), neumann_lr), rank=(optional(integer(1)), rank),
            diagnostics=(flag, diagnostics),
            products=(one_of(*PRODUCTS), products), look_ahead_steps=(optional(integer(0)), look_ahead_steps),
            look_ahead_optimizer=(one_of(*INNER_OPTIMIZERS), look_ahead_optimizer),
            look_ahead_moments=(one_of(*LOOK_AHEAD_MOMENTS), look_ahead_moments), epsilon=(number(minimum=0), epsilon),
            denominator_floor=(number(minimum=0), denominator_floor),
            coefficient_clip=(optional(number(above=0)), coefficient_clip))
        self.hessian, self.inner_steps, self.damping = hessian, int(inner_steps), float(damping)
        self.solver_iters, self.neumann_lr = int(solver_iters), float(neumann_lr)
        self.rank = None if rank is None else int(rank)
        self.products = products
        self.epsilon, self.denominator_floor = float(epsilon), float(denominator_floor)
        self.coefficient_clip = None if coefficient_clip is None else float(coefficient_clip)
        if hessian != "outer_product" and (self.epsilon or self.denominator_floor or self.coefficient_clip):
            raise ConfigError("BRC epsilon, denominator_floor and coefficient_clip belong to the outer-product "
                              f"coefficient c; hessian {hessian!r} has none")
        self.response = make_response(hessian, self.solver_iters, self.neumann_lr, self.rank, products,
                                      self.epsilon, self.denominator_floor, self.coefficient_clip)
        self.diagnostics = bool(diagnostics)
        if proximal is not None and not isinstance(proximal, Proximal):
            raise ConfigError(f"BRC.proximal must be a Proximal updater (e.g. @Proximal()), got {proximal!r}")
        self.proximal = proximal
        self.look_ahead_steps = None if look_ahead_steps is None else int(look_ahead_steps)
        if self.look_ahead_steps is not None and proximal is not None:
            raise ConfigError("BRC takes either a look-ahead (look_ahead_steps) or a proximal follower, not both")
        self.look_ahead_optimizer, self.look_ahead_moments = look_ahead_optimizer, look_ahead_moments
        self._warned_zero_sum = False

    @property
    def metric_names(self):
        return ("d_loss", "g_loss") + (DIAGNOSTICS if self.diagnostics else ())

    @property
    def batches_per_step(self):
        return self.inner_steps + (0 if self.look_ahead_steps is None else self.look_ahead_steps + 1)

    def step(self, state, batches, step):
        self.warn_if_zero_sum(state.loss)
        reals = [x for x, _ in batches]
        d_losses = [d_step(state, x, step, stream=2 * i) for i, x in enumerate(reals[:self.inner_steps])]
        # Without a look-ahead the response reuses the last D batch; with one, batches
        # inner_steps … inner_steps + K − 1 feed the look-ahead steps and the last one ℓ_D.
        g_loss, diagnostics = self.generator_step(state, reals[-1], step, stream=2 * self.inner_steps,
                                                  look_ahead_real=reals[self.inner_steps:-1])
        return {"d_loss": d_losses[-1], "g_loss": g_loss, **diagnostics}

    def warn_if_zero_sum(self, loss):
        if getattr(loss, "zero_sum", False) and not self._warned_zero_sum:
            logging.warning("BRC with the zero-sum loss %r: ℓ_G = −ℓ_D makes the best-response term "
                            "cancel the direct term; use a non-saturating, least-squares, hinge or "
                            "Wasserstein loss", getattr(loss, "name", loss))
            self._warned_zero_sum = True

    def generator_step(self, state, real, step, stream, look_ahead_real=()):
        g, d = state.generator, state.discriminator
        z = sample_z(state, step, stream, tf.shape(real)[0])
        seed = draw_seed(state, step, stream + 1)
        omega, d_fn, damping = d.trainable_variables, lambda x: d(x, training=True), self.damping
        if self.proximal is not None:
            omega, non_trainable = self.proximal.response(
                state, real, tf.stop_gradient(g(z, training=True)), step, stream + 2)
            d_fn, damping = StatelessModel(d, omega, non_trainable), damping + self.proximal.prox_weight
        elif self.look_ahead_steps:
            # LwCL g_loop_GAN: ω_K from K steps of D's optimizer on BCE(real_k, G(z)), G detached
            # (``torch.no_grad``), one z batch; D "restored" after (weights never written here).
            omega, non_trainable, (_, opt_state) = look_ahead_with_state(
                state, list(look_ahead_real), tf.stop_gradient(g(z, training=True)), step, stream + 2,
                self.look_ahead_steps, self.look_ahead_optimizer)
            omega = [tf.stop_gradient(w) for w in omega]
            d_fn = StatelessModel(d, omega, non_trainable)

        def losses(rows=None):  # ℓ_G and ℓ_D (on the first ``rows`` examples) from one pass of D
            x, fake = real[:rows], g(z[:rows], training=True)
            fake_logits = d_fn(fake)
            l_D = state.loss.d_loss(d_fn(x), fake_logits) + state.loss.penalty(d_fn, x, fake, seed)
            return global_mean(state.loss.g_loss(fake_logits), state), l_D / state.global_batch_size

        result = best_response_gradient(losses, g.trainable_variables, omega, self.response, damping)
        state.g_optimizer.apply_gradients(zip(result.gradient, g.trainable_variables))
        if self.look_ahead_steps and self.look_ahead_moments == "commit":
            commit_optimizer_state(state.d_optimizer, d.trainable_variables, opt_state, self.look_ahead_steps)
        return result.l_G, response_diagnostics(result.direct, result.gradient) if self.diagnostics else {}


def assign_in_sync(variables, values):
    """variable ← value for each pair from the replica context, the values being equal on every
    replica (computed from all-reduced gradients); on several replicas via a merge call, as Keras'
    own optimizer updates are."""
    targets = [v.value if isinstance(v, keras.Variable) else v for v in variables]

    def merge(strategy, values):
        for target, value in zip(targets, values):
            strategy.extended.update(target, lambda var, x: var.assign(tf.cast(x, var.dtype)), args=(value,),
                                     group=False)

    tf.__internal__.distribute.interim.maybe_merge_call(merge, tf.distribute.get_strategy(), list(values))


def commit_optimizer_state(optimizer, variables, opt_state, steps):
    """Write a functional look-ahead's optimizer state back to ``optimizer``: Adam's moments and
    its step count after the K steps (LwCL's look-ahead steps are real ``d_optimizer.step()``
    calls and ``D.load(backup)`` restores the weights only); SGD's step count."""
    if isinstance(opt_state, AdamMoments):
        slots = [optimizer_slot(optimizer, v, kind) for kind in ("momentum", "velocity") for v in variables]
        assign_in_sync(slots + [optimizer.iterations], opt_state.m + opt_state.v + [opt_state.iterations])
    else:
        assign_in_sync([optimizer.iterations], [optimizer.iterations + steps])


@gin.configurable
def lwcl_brc(look_ahead_steps=10, inner_steps=1, epsilon=1e-10, coefficient_clip=None, denominator_floor=0.0,
             look_ahead_moments="commit", look_ahead_optimizer="adam", diagnostics=True, response=True):
    """BRC as its authors run it (github moriyaya/LwCL, ``unrolled_gan_rhg_{ring,cube}_LwCL.py
    --method GAN --GN``; docs/brc.md#the-authors-algorithm-lwcl-code), one gin line:
    ``Trainer.updater = @lwcl_brc()``.

    Per step: ``inner_steps`` committed D steps (theirs: 1); K = ``look_ahead_steps`` look-ahead D
    steps (``--us``, 10) from ω with G detached, on one z batch and fresh real batches; at ω_K,
    on one more fresh real batch, G steps along ∇_θ F − c ∇_θ f with
    c = ⟨∇_ω F, ∇_ω f⟩ / Σ_i (‖∇_ω_i f‖² + ε), ε = 1e-10 per tensor, no damping, c held constant;
    D keeps its pre-look-ahead weights and (``look_ahead_moments="commit"``) the optimizer state
    the look-ahead reached. ``coefficient_clip`` 0.1 with ``look_ahead_steps=None`` and
    ``inner_steps`` K is their ring WGAN path (``WGAN_loop_GP``): c at the committed D, clipped.
    ``response=False`` drops the response term (c = 0) and keeps everything else: the look-ahead
    alone, the ablation's first-order unrolled arm.
    """
    check_settings("lwcl_brc", response=(flag, response), epsilon=(number(minimum=0), epsilon),
                   coefficient_clip=(optional(number(above=0)), coefficient_clip),
                   denominator_floor=(number(minimum=0), denominator_floor))
    coefficient = dict(epsilon=epsilon, coefficient_clip=coefficient_clip, denominator_floor=denominator_floor)
    return BRC(hessian="outer_product" if response else "none", inner_steps=inner_steps, damping=0.0,
               diagnostics=diagnostics, look_ahead_steps=look_ahead_steps, look_ahead_optimizer=look_ahead_optimizer,
               look_ahead_moments=look_ahead_moments, **(coefficient if response else {}))
