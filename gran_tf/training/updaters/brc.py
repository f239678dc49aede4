"""Best-Response Constraint (BRC): the generator (leader, θ) descends F(θ) = ℓ_G(θ, ω*(θ)) where
ω*(θ) = argmin_ω ℓ_D(θ, ω) is the discriminator's (follower's) best response (docs/brc.md#formulation).

Implicit-function theorem:  dF/dθ = ∇_θ ℓ_G − ∇²_θω ℓ_D · [∇²_ωω ℓ_D]⁻¹ · ∇_ω ℓ_G.

Distribution: every replica holds ℓ_G, ℓ_D averaged over the *global* batch, i.e. its share
of a sum over replicas. The ω-quantities entering the response (the coefficient c, or the
Hessian products and the solve for v) are all-reduced, so every replica sees the same global
c or v. The θ-gradients are left per replica and linear in these shares; the optimizer's
cross-replica SUM then assembles the global ∇_θ ℓ_G − c ∇_θ ℓ_D, or ∇_θ ℓ_G − ∇²_θω ℓ_D v.
"""
import gin
import keras
import tensorflow as tf
from absl import logging

from gran_tf.errors import ConfigError
from gran_tf.training.updaters.base import Updater, d_step, global_mean, sample_z, draw_seed
from gran_tf.training.updaters.functional import (
    StatelessModel, cross_replica_sum, gradients, inner_product, num_replicas, vector_jacobian_product,
    watch_tensors)
from gran_tf.training.updaters.proximal import Proximal

HESSIANS = ("outer_product", "woodbury", "cg", "neumann")
PRODUCTS = ("reverse", "forward")


def outer_product_coefficient(g_omega_G, g_omega_D, damping):
    """c = ⟨∇_ω ℓ_G, ∇_ω ℓ_D⟩ / (λ + ‖∇_ω ℓ_D‖²): Sherman–Morrison on H ≈ g gᵀ + λI."""
    return inner_product(g_omega_G, g_omega_D) / (damping + inner_product(g_omega_D, g_omega_D))


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


def conjugate_gradient(hvp, b, damping, iters):
    """v ≈ (H + λI)⁻¹ b by ``iters`` conjugate-gradient steps from v = 0 (H symmetric PSD)."""
    v = [tf.zeros_like(x) for x in b]
    r, p = list(b), list(b)
    rr = inner_product(r, r)
    for _ in range(iters):
        ap = [h + damping * x for h, x in zip(hvp(p), p)]
        alpha = tf.math.divide_no_nan(rr, inner_product(p, ap))
        v = [x + alpha * y for x, y in zip(v, p)]
        r = [x - alpha * y for x, y in zip(r, ap)]
        rr_new = inner_product(r, r)
        p = [x + tf.math.divide_no_nan(rr_new, rr) * y for x, y in zip(r, p)]
        rr = rr_new
    return v


def neumann_series(hvp, b, damping, iters, lr):
    """v ≈ (H + λI)⁻¹ b = α Σ_{j≥0} (I − α(H + λI))^j b, truncated after ``iters`` terms
    (converges when α‖H + λI‖ < 1)."""
    term, total = list(b), list(b)
    for _ in range(iters):
        term = [t - lr * (h + damping * t) for t, h in zip(term, hvp(term))]
        total = [s + t for s, t in zip(total, term)]
    return [lr * s for s in total]


def best_response_gradient(losses_fn, theta, omega, hessian="outer_product", damping=1e-3, solver_iters=10,
                           neumann_lr=1.0, rank=None, products="reverse"):
    """This replica's part of dF/dθ, and ℓ_G.

    ``losses_fn()`` returns ℓ_G and the terms of ℓ_D (ℓ_D = Σ terms), computed from
    ``theta`` and ``omega`` (lists of variables or tensors), each this replica's share of the
    global-batch loss. "woodbury" needs them per example, and ``losses_fn(rows=r)`` to
    give the terms of the first r examples alone.
    """
    direct, response, l_G = direct_and_response(losses_fn, theta, omega, hessian, damping, solver_iters,
                                                neumann_lr, rank, products)
    return [a - b for a, b in zip(direct, response)], l_G


def direct_and_response(losses_fn, theta, omega, hessian, damping, solver_iters, neumann_lr, rank,
                        products="reverse"):
    """This replica's parts of ∇_θ ℓ_G and of the response term ∇²_θω ℓ_D H⁻¹ ∇_ω ℓ_G, and ℓ_G.
    ``products`` picks how cg/neumann form their Hessian- and mixed-vector products."""
    if hessian in ("outer_product", "woodbury"):
        with tf.GradientTape(persistent=True) as tape:
            watch_tensors(tape, omega)
            l_G, d_terms = losses_fn()
            l_D = tf.reduce_sum(d_terms)
        g_theta_G, g_omega_G = theta_and_omega(gradients(tape, l_G, theta + omega), len(theta))
        if hessian == "woodbury":
            response = woodbury_response(tape, losses_fn, d_terms, theta, omega, g_omega_G, damping, rank)
            return g_theta_G, response, l_G
        g_theta_D, g_omega_D = theta_and_omega(gradients(tape, l_D, theta + omega), len(theta))
        c = outer_product_coefficient(cross_replica_sum(g_omega_G), cross_replica_sum(g_omega_D), damping)
        return g_theta_G, [c * b for b in g_theta_D], l_G
    if products == "forward":
        return forward_over_reverse_response(losses_fn, theta, omega, hessian, damping, solver_iters, neumann_lr)
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

    v = solve_for_v(hvp, cross_replica_sum(g_omega_G), hessian, damping, solver_iters, neumann_lr)
    return g_theta_G, vector_jacobian_product(outer, g_omega_D, theta, v), l_G  # ∇_θ ⟨∇_ω ℓ_D, v⟩


def forward_over_reverse_response(losses_fn, theta, omega, hessian, damping, solver_iters, neumann_lr):
    """``direct_and_response`` for cg/neumann with every product a forward-mode derivative of a
    reverse-mode gradient of ℓ_D along ω → ω + εv: H v = ∂_ε ∇_ω ℓ_D, and the mixed term
    ∇²_θω ℓ_D v = ∂_ε ∇_θ ℓ_D. No second-order tape is kept; each product reruns ℓ_D."""
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

    v = solve_for_v(lambda u: d_gradient_derivative(u, omega), g_omega_G, hessian, damping, solver_iters,
                    neumann_lr)
    return g_theta_G, d_gradient_derivative(v, theta), l_G


def accumulator_primals(omega):
    """The tf.Variables (or tensors) that ops read for ``omega``: Keras 3 wraps its own."""
    return [w.value if isinstance(w, keras.Variable) else w for w in omega]


def solve_for_v(hvp, b, hessian, damping, solver_iters, neumann_lr):
    """v ≈ (H + λI)⁻¹ b by conjugate gradients or the Neumann series, held constant."""
    if hessian == "cg":
        v = conjugate_gradient(hvp, b, damping, solver_iters)
    else:
        v = neumann_series(hvp, b, damping, solver_iters, neumann_lr)
    return [tf.stop_gradient(x) for x in v]


def response_diagnostics(direct, response):
    """cos(dF/dθ, ∇_θ ℓ_G) and ‖response‖ / ‖∇_θ ℓ_G‖ of the global gradients, each divided by
    the number of replicas (the trainer sums metrics over replicas). A negative cosine means
    the response term reverses the plain generator gradient."""
    direct, response = cross_replica_sum(direct), cross_replica_sum(response)
    total = [a - b for a, b in zip(direct, response)]
    norm = lambda xs: tf.sqrt(inner_product(xs, xs))  # noqa: E731
    replicas = tf.cast(num_replicas(), total[0].dtype)
    cos = tf.math.divide_no_nan(inner_product(total, direct), norm(total) * norm(direct))
    ratio = tf.math.divide_no_nan(norm(response), norm(direct))
    return {"brc/cos_to_plain": cos / replicas, "brc/response_ratio": ratio / replicas}


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
    series step α); ``products`` forms their products by "reverse"-over-reverse (from one
    persistent tape) or "forward"-over-reverse (no second-order tape, one rerun of ℓ_D per
    product; one replica only); ``damping`` is λ in (H + λI). ``diagnostics`` logs ``brc/cos_to_plain``
    and ``brc/response_ratio`` (two θ-sized all-reduces per step on several replicas).

    ``proximal`` (a ``Proximal``; ProxGAN + BRC): the follower is ProxGAN's proximal
    discriminator D̃ = argmin_ω' ℓ_D + (λ_p/2)‖ω' − ω‖², reached by the Proximal look-ahead
    from ω after the ``inner_steps`` D steps. Its lower-level Hessian is H + λ_p I and its
    mixed term that of ℓ_D, so dF/dθ is the response above taken at D̃ with damping λ + λ_p.
    """

    def __init__(self, hessian="outer_product", inner_steps=5, damping=1e-3, solver_iters=10, neumann_lr=1.0,
                 rank=None, diagnostics=True, proximal=None, products="reverse"):
        if hessian not in HESSIANS:
            raise ConfigError(f"unknown BRC hessian {hessian!r}; expected one of {HESSIANS}")
        if int(inner_steps) < 1 or int(solver_iters) < 1:
            raise ConfigError(f"BRC inner_steps and solver_iters must be >= 1, got {inner_steps}, {solver_iters}")
        if float(damping) < 0 or float(neumann_lr) <= 0:
            raise ConfigError(f"BRC needs damping >= 0 and neumann_lr > 0, got {damping}, {neumann_lr}")
        self.hessian, self.inner_steps, self.damping = hessian, int(inner_steps), float(damping)
        self.solver_iters, self.neumann_lr = int(solver_iters), float(neumann_lr)
        if rank is not None and int(rank) < 1:
            raise ConfigError(f"BRC rank must be >= 1 or None, got {rank}")
        self.rank = None if rank is None else int(rank)
        if products not in PRODUCTS:
            raise ConfigError(f"unknown BRC products {products!r}; expected one of {PRODUCTS}")
        self.products = products
        self.diagnostics = bool(diagnostics)
        if proximal is not None and not isinstance(proximal, Proximal):
            raise ConfigError(f"BRC.proximal must be a Proximal updater (e.g. @Proximal()), got {proximal!r}")
        self.proximal = proximal
        self._warned_zero_sum = False

    @property
    def batches_per_step(self):
        return self.inner_steps

    def step(self, state, batches, step):
        self.warn_if_zero_sum(state.loss)
        d_losses = [d_step(state, x, step, stream=2 * i) for i, (x, _) in enumerate(batches)]
        g_loss, diagnostics = self.generator_step(state, batches[-1][0], step, stream=2 * self.inner_steps)
        return {"d_loss": d_losses[-1], "g_loss": g_loss, **diagnostics}

    def warn_if_zero_sum(self, loss):
        if getattr(loss, "zero_sum", False) and not self._warned_zero_sum:
            logging.warning("BRC with the zero-sum loss %r: ℓ_G = −ℓ_D makes the best-response term "
                            "cancel the direct term; use a non-saturating, least-squares, hinge or "
                            "Wasserstein loss", getattr(loss, "name", loss))
            self._warned_zero_sum = True

    def generator_step(self, state, real, step, stream):
        g, d = state.generator, state.discriminator
        z = sample_z(state, step, stream, tf.shape(real)[0])
        seed = draw_seed(state, step, stream + 1)
        omega, d_fn, damping = d.trainable_variables, lambda x: d(x, training=True), self.damping
        if self.proximal is not None:
            omega, non_trainable = self.proximal.response(
                state, real, tf.stop_gradient(g(z, training=True)), step, stream + 2)
            d_fn, damping = StatelessModel(d, omega, non_trainable), damping + self.proximal.prox_weight

        def losses(rows=None):  # ℓ_G and ℓ_D (on the first ``rows`` examples) from one pass of D
            x, fake = real[:rows], g(z[:rows], training=True)
            fake_logits = d_fn(fake)
            l_D = state.loss.d_loss(d_fn(x), fake_logits) + state.loss.penalty(d_fn, x, fake, seed)
            return global_mean(state.loss.g_loss(fake_logits), state), l_D / state.global_batch_size

        direct, response, l_G = direct_and_response(
            losses, g.trainable_variables, omega, self.hessian, damping,
            self.solver_iters, self.neumann_lr, self.rank, self.products)
        grads = [a - b for a, b in zip(direct, response)]
        state.g_optimizer.apply_gradients(zip(grads, g.trainable_variables))
        return l_G, response_diagnostics(direct, response) if self.diagnostics else {}
