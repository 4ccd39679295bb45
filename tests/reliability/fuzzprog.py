"""A seeded generator of random straight-line NumPy programs and the differential checks run on
them (tests/reliability/test_fuzz.py).

A program is a list of steps ``(op, i, j)`` over a list of live values that starts with the
input vector ``x`` (n entries): each step applies ``OPS[op]`` to values ``i`` (and ``j``) and
appends the result. The function returns the last value (a vector of n entries) and the scalar
``sum(w * f(x))``. The same program runs on NumPy (the reference values), on chainrule's
tracers (NumPy code dispatched through NEP 13/18) and on ``jax.numpy`` (the cross-check).

Every op is smooth at random points (kinks only at ties of ``maximum``/``sort``/``where``, a
set of measure zero that central differences with h = 1e-6 meet with probability ~1e-6 per
step), and keeps values bounded (exp of tanh, divisions by 1 + b^2), so finite differences are
accurate to about 1e-7 relative.
"""
import numpy as np

import chainrule as cr


def _set_first(xp, a, b):
    if xp is np:
        y = a.copy()
        y[0] = b[-1] * a[1]
        return y
    return a.at[0].set(b[-1] * a[1])


def _set_ellipsis(xp, a, b):
    if xp is np:
        y = xp.stack([a, b])
        y[..., 0] = a[-1] * b[0]
        return xp.sum(y, axis=0)
    return xp.sum(xp.stack([a, b]).at[..., 0].set(a[-1] * b[0]), axis=0)


M = np.random.default_rng(7).normal(size=(8, 8)) / 3.0
XP = np.linspace(-2.0, 2.0, 7)
FP = np.cos(XP) * 2.0

# name -> (arity, function of (xp, a, b)); a, b: vectors of n entries
OPS = {
    "sin": (1, lambda xp, a, b: xp.sin(a)),
    "cos": (1, lambda xp, a, b: xp.cos(a)),
    "tanh": (1, lambda xp, a, b: xp.tanh(a)),
    "exp_tanh": (1, lambda xp, a, b: xp.exp(xp.tanh(a))),
    "log1p_sq": (1, lambda xp, a, b: xp.log1p(a * a)),
    "sqrt_1p": (1, lambda xp, a, b: xp.sqrt(1.0 + a ** 2)),
    "cube": (1, lambda xp, a, b: a ** 3 / (1.0 + a ** 2)),
    "pow_frac": (1, lambda xp, a, b: (1.0 + a * a) ** 0.75),
    "recip": (1, lambda xp, a, b: 1.0 / (1.0 + a * a)),
    "arctan": (1, lambda xp, a, b: xp.arctan(a)),
    "arcsinh": (1, lambda xp, a, b: xp.arcsinh(a)),
    "hypot": (1, lambda xp, a, b: xp.hypot(a, 1.5)),
    "expm1": (1, lambda xp, a, b: xp.expm1(xp.tanh(a))),
    "cumsum": (1, lambda xp, a, b: xp.cumsum(a) / a.shape[0]),
    "flip": (1, lambda xp, a, b: a[::-1]),
    "roll": (1, lambda xp, a, b: xp.roll(a, 1)),
    "sort": (1, lambda xp, a, b: xp.sort(a)),
    "center": (1, lambda xp, a, b: a - xp.mean(a)),
    "normalize": (1, lambda xp, a, b: a / xp.sqrt(1.0 + xp.sum(a * a))),
    "matvec": (1, lambda xp, a, b: xp.tanh(M[:a.shape[0], :a.shape[0]] @ a)),
    "softmax": (1, lambda xp, a, b: xp.exp(a - xp.max(a)) / xp.sum(xp.exp(a - xp.max(a)))),
    "add": (2, lambda xp, a, b: a + b),
    "sub": (2, lambda xp, a, b: a - 0.5 * b),
    "mul": (2, lambda xp, a, b: a * b),
    "div": (2, lambda xp, a, b: a / (1.0 + b * b)),
    "maximum": (2, lambda xp, a, b: xp.maximum(a, b)),
    "arctan2": (2, lambda xp, a, b: xp.arctan2(a, 2.0 + b * b)),
    "where": (2, lambda xp, a, b: xp.where(a > b, a * b, a + b)),
    "outer_sum": (2, lambda xp, a, b: xp.sum(xp.outer(a, b), axis=1) / a.shape[0]),
    "set_first": (2, _set_first),
    "set_ellipsis": (2, _set_ellipsis),
    "mod": (1, lambda xp, a, b: xp.mod(a, 2.5)),
    "fmod": (1, lambda xp, a, b: xp.fmod(a + 3.0, 1.7)),
    "minus_median": (1, lambda xp, a, b: a - xp.median(a)),
    "quantile": (1, lambda xp, a, b: a * xp.quantile(a, 0.3)),
    "interp": (1, lambda xp, a, b: xp.interp(xp.tanh(a), XP, FP)),
    "det_scale": (2, lambda xp, a, b: a * xp.linalg.det(
        xp.eye(a.shape[0]) + xp.outer(xp.tanh(a), xp.tanh(b)) / a.shape[0])),
    "solve": (2, lambda xp, a, b: xp.linalg.solve(
        3.0 * xp.eye(a.shape[0]) + xp.outer(xp.tanh(b), xp.tanh(b)), a)),
    "argsort_take": (1, lambda xp, a, b: a[xp.argsort(a)] * xp.arange(1.0, a.shape[0] + 1)),
}
NAMES = sorted(OPS)


def random_program(rng, n_ops):
    """``n_ops`` steps, each reading one or two earlier values (recent ones more often)."""
    steps = []
    for k in range(n_ops):
        name = NAMES[rng.integers(len(NAMES))]
        live = k + 1
        i = int(live - 1 - min(rng.geometric(0.5) - 1, live - 1))
        j = int(rng.integers(live))
        steps.append((name, i, j))
    return steps


def run(steps, x, xp=np):
    vals = [x]
    for name, i, j in steps:
        vals.append(OPS[name][1](xp, vals[i], vals[j]))
    return vals[-1]


def describe(steps):
    return "; ".join(f"v{k + 1} = {name}(v{i}" + (f", v{j})" if OPS[name][0] == 2 else ")")
                     for k, (name, i, j) in enumerate(steps))


class Report:
    """Counts of programs and checks, and the failures (with the program that failed)."""

    def __init__(self):
        self.programs = self.checks = 0
        self.failures = []

    def check(self, what, steps, got, want, rtol=1e-7, atol=1e-9):
        self.checks += 1
        got, want = np.asarray(got, float), np.asarray(want, float)
        if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol,
                                                      equal_nan=True):
            err = np.max(np.abs(got - want)) if got.shape == want.shape else "shape"
            self.failures.append(f"{what}: max error {err} in {describe(steps)}")


def central_jacobian(f, x, h=1e-6):
    return np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)], axis=-1)


def fuzz(n_programs, seed, jax_numpy=None, jax_every=1, min_ops=3, max_ops=12, n=4):
    """Generate and check ``n_programs`` programs (every ``jax_every``-th also against JAX when
    ``jax_numpy`` is given); returns a Report."""
    rng = np.random.default_rng(seed)
    rep = Report()
    for k in range(n_programs):
        steps = random_program(rng, int(rng.integers(min_ops, max_ops + 1)))
        x = rng.uniform(-1.5, 1.5, size=n)
        w = rng.normal(size=n)
        v = rng.normal(size=n)
        X = rng.uniform(-1.5, 1.5, size=(3, n))
        f = lambda x, steps=steps: run(steps, x)                      # noqa: E731
        s = lambda x, f=f, w=w: np.sum(w * f(x))                      # noqa: E731
        rep.programs += 1
        with np.errstate(all="ignore"):
            y = f(x)
            y_fwd, t_fwd = cr.jvp(f, (x,), (v,))
            rep.check("jvp value", steps, y_fwd, y, 0, 0)
            J_fwd, J_rev = cr.jacfwd(f)(x), cr.jacrev(f)(x)
            rep.check("jacfwd = jacrev", steps, J_fwd, J_rev)
            rep.check("jvp = J v", steps, t_fwd, J_fwd @ v)
            rep.check("jacobian = central differences", steps, J_fwd, central_jacobian(f, x),
                      rtol=1e-5, atol=1e-6)
            g = cr.grad(s)(x)
            rep.check("grad = J^T w", steps, g, w @ J_rev)
            H = cr.hessian(s)(x)
            rep.check("hessian symmetric", steps, H, H.T, 1e-7, 1e-8)
            rep.check("hessian = central differences of grad", steps, H,
                      central_jacobian(cr.grad(s), x), rtol=1e-5, atol=1e-6)
            rep.check("jit = eager", steps, cr.jit(f)(x), y, 1e-12, 1e-13)
            rep.check("jit(grad) = grad", steps, cr.jit(cr.grad(s))(x), g, 1e-12, 1e-12)
            rep.check("vmap = loop", steps, cr.vmap(f)(X), np.stack([f(r) for r in X]),
                      1e-12, 1e-13)
            rep.check("vmap(grad) = loop", steps, cr.vmap(cr.grad(s))(X),
                      np.stack([cr.grad(s)(r) for r in X]), 1e-12, 1e-12)
            # the program as a loop body and as a branch taken on a traced predicate: the
            # loop and branch rules (held graphs, their masks of structural zeros) give the
            # straight-line derivatives, NaN for NaN
            looped = lambda x, f=f: cr.scan(lambda c, _: (c, f(c)), x, None,  # noqa: E731
                                             length=1)[1][0]
            branched = lambda x, f=f: cr.cond(x[0] > -10.0, f, f, x)    # noqa: E731
            rep.check("jacfwd through scan", steps, cr.jacfwd(looped)(x), J_fwd, 1e-12, 1e-12)
            rep.check("jacrev through scan", steps, cr.jacrev(looped)(x), J_rev, 1e-12, 1e-12)
            rep.check("hessian through scan", steps,
                      cr.hessian(lambda x, looped=looped, w=w: np.sum(w * looped(x)))(x), H,
                      1e-12, 1e-12)
            rep.check("jit(jacfwd) through cond", steps, cr.jit(cr.jacfwd(branched))(x), J_fwd,
                      1e-12, 1e-12)
            line = lambda t, s=s, x=x, v=v: s(x + t * v)             # noqa: E731
            d = cr.derivatives(line, 0.0, 3)
            d1 = lambda t: cr.jvp(line, (t,), (1.0,))[1]              # noqa: E731
            d2 = lambda t: cr.jvp(d1, (t,), (1.0,))[1]                # noqa: E731
            d3 = lambda t: cr.jvp(d2, (t,), (1.0,))[1]                # noqa: E731
            rep.check("taylor = nested forward", steps, d,
                      [line(0.0), d1(0.0), d2(0.0), d3(0.0)], 1e-8, 1e-9)
            if jax_numpy is not None and k % jax_every == 0:
                import jax
                jf = lambda x, steps=steps: run(steps, jax_numpy.asarray(x), jax_numpy)  # noqa: E731
                rep.check("value = jax", steps, np.asarray(jf(x)), y, 1e-12, 1e-13)
                rep.check("jacobian = jax", steps, np.asarray(jax.jacfwd(jf)(x)), J_fwd,
                          1e-9, 1e-11)
                js = lambda x: jax_numpy.sum(w * jf(x))                 # noqa: E731
                rep.check("hessian = jax", steps, np.asarray(jax.hessian(js)(x)), H, 1e-9, 1e-10)
    return rep
