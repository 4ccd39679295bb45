"""``chainrule.integrate``: SciPy's ODE solvers with the Jacobian by AD, and derivatives of ODE
solutions with respect to the initial state and the parameters.

    import numpy as np
    import chainrule.integrate as cri

    def rober(t, y, k1, k2, k3):                         # a stiff chemical system
        return np.stack([-k1 * y[0] + k3 * y[1] * y[2],
                         k1 * y[0] - k2 * y[1]**2 - k3 * y[1] * y[2],
                         k2 * y[1]**2])
    sol = cri.solve_ivp(rober, (0, 100), np.array([1.0, 0, 0]), method="BDF",
                        args=(0.04, 3e7, 1e4))            # jac by AD

- ``solve_ivp``: SciPy's signature and result. The implicit methods (BDF, Radau, LSODA) get the
  Jacobian of ``fun`` with respect to ``y`` by AD: sparse and prepared once (pattern detected at
  the start, colored; or the user's ``jac_sparsity``) when the pattern is sparse, dense
  otherwise (and always for LSODA, which takes only dense matrices). ``jit=True`` compiles the
  Jacobian: the compressed forward sweeps of a sparse one run as one staged program.
- ``odeint(func, y0, t, *args)``: the interface of ``jax.experimental.ode.odeint``
  (``func(y, t, *args)``, the solution at every time of ``t``), differentiable in ``y0`` and
  ``args``: ``grad``/``vjp``/``jacrev`` by the sensitivities below (``sensitivity=``),
  ``jvp``/``jacfwd`` by forward sensitivities (user rules: ``custom_vjp`` with ``defjvp``).
- ``odeint_jacobian``: the solution and its Jacobians with respect to ``y0`` and each of
  ``args``, by forward sensitivities (the ODE augmented with dy/dp, solved by SciPy).
- ``odeint_vjp``: the solution and a function mapping a cotangent of it to cotangents of ``y0``
  and ``args``, by forward sensitivities or by the adjoint method (a backward solve by SciPy
  that reads the forward solution from its dense output, or with ``checkpoints=K`` from K
  segments solved again from stored states), ``sensitivity="forward" | "adjoint" | "auto"``.
  The sensitivity solves use the user's ``rtol``/``atol``.

A failed solve raises ODESolveError from the derivative functions (a gradient of a failed solve
is never returned); ``solve_ivp`` returns SciPy's result with ``success=False`` as SciPy does.
On plain numbers the rules of ``odeint`` use the functions above. On traced values (``jit`` of
a derivative, the outer derivative of a Hessian) they use ``chainrule.odesolve``: the solve is
one staged operation calling SciPy, with tangent and adjoint systems that are ODE solves of
the same kind, so derivatives of any order work.
"""
import numpy as np
import scipy.integrate as _si
import scipy.sparse as _sp
from scipy.optimize import OptimizeResult

import chainrule as cr
from chainrule import odesolve
from chainrule.odesolve import ODESolveError, Options
from chainrule.odesolve import scipy_solve as _solve
from chainrule.optimize import Ravel, _arrays_only, _is_sparse, cached_jit, flat_output

__all__ = ["solve_ivp", "odeint", "odeint_jacobian", "odeint_vjp", "ODESolveError",
           "ode_jacobian"]

IMPLICIT = ("BDF", "Radau", "LSODA")
# sensitivity="auto": forward sensitivities while the parameters are this few (the augmented
# system has n (1 + P) states; the adjoint a backward system of n + P, plus dense output)
AUTO_FORWARD_MAX = 4


TRACED_HINT = ("odeint_vjp and odeint_jacobian give derivatives on plain numbers; to "
               "differentiate (or jit) through an ODE solve call odeint, whose rules work on "
               "traced values")


def _check_rhs(fun, t0, y0, args, what):
    out = fun(t0, y0, *args)
    if np.shape(out) != np.shape(y0):
        raise cr.ShapeMismatchError(
            f"{what}: the right-hand side returns shape {np.shape(out)} for a state of shape "
            f"{np.shape(y0)}; it must return dy/dt of the state's shape")
    return out


class ode_jacobian:
    """``jac(t, y)``: the Jacobian of ``fun(t, y, *args)`` with respect to ``y`` (1-D, n),
    for SciPy's implicit solvers. Sparse (csr (n, n), prepared once: pattern and column
    coloring) when ``pattern`` is given or ``sparse="auto"`` detects a sparse one; dense (n, n)
    otherwise. ``jit=True`` compiles it; a sparse one then runs its compressed forward
    sweeps (one JVP per color, batched) as one staged program, and recovers the entries
    from the compressed matrix with one indexing operation."""

    def __init__(self, fun, t0, y0, args=(), sparse="auto", pattern=None, jit=False):
        y0 = np.asarray(y0, dtype=np.float64)

        def y_first(y, t, *a):  # prepared once with (t, *args) as extra arguments
            return fun(t, y, *a)
        if pattern is None and sparse is not False:
            detected = cr.jacobian_sparsity(lambda y: fun(t0, y, *args), y0)
            pattern = detected if (sparse is True or _is_sparse(detected)) else None
        self.sparse = pattern is not None
        # compiled code takes the arguments as inputs (cached across solves) when they are
        # arrays; other objects are bound as constants of a per-solve compilation
        cacheable = _arrays_only(args)
        bound, self._args = ((), args) if cacheable else (args, ())

        def compile_(kind, make):
            key = (fun, kind, y0.shape, None if pattern is None else pattern.nnz)
            return cached_jit(key, make) if cacheable else cr.jit(make())
        if not self.sparse:
            self._dense = cr.jacfwd(lambda t, y, a: fun(t, y, *a, *bound), argnums=1)
            if jit:
                self._dense = compile_("dense", lambda: self._dense)
            return
        prep = cr.prepare_sparse_jacobian(y_first, y0, mode="fwd", args=(t0,) + tuple(args),
                                          pattern=_sp.csr_array(pattern, dtype=bool))
        self.prep, self.ncolors = prep, prep.ncolors
        if not jit:
            self._compressed = None
            return
        self._seeds = prep.coloring.seeds()     # an input of the cached compiled sweeps

        # prep.compressed, with the seeds as an input so that the compiled code is shared by
        # every solve of this function (the coloring may differ between them)
        def compressed(t, y, seeds, a):     # (ncolors, n): row k is J @ seed k
            return cr.vmap(lambda s: cr.jvp(lambda u: fun(t, u, *a, *bound), (y,), (s,))[1])(
                seeds)
        self._compressed = compile_("compressed", lambda: compressed)

    def __call__(self, t, y, *_):      # SciPy passes its args again: they are bound already
        if not self.sparse:
            return np.asarray(self._dense(t, y, self._args), dtype=np.float64)
        if self._compressed is None:
            return self.prep(y, t, *self.prep.args[1:])
        return self.prep.recover(np.asarray(self._compressed(t, y, self._seeds, self._args)))


def solve_ivp(fun, t_span, y0, method="RK45", t_eval=None, dense_output=False, events=None,
              vectorized=False, args=None, jac=None, jac_sparsity=None, sparse="auto",
              jit=False, **options):
    """``scipy.integrate.solve_ivp`` with the Jacobian by AD for BDF, Radau and LSODA.
    ``fun(t, y, *args)`` returns dy/dt of the shape of ``y0`` (1-D, n; ShapeMismatchError
    otherwise). For the implicit methods, unless ``jac`` is given, the Jacobian (n, n) of
    ``fun`` in ``y`` is computed by AD: sparse and prepared when ``jac_sparsity`` is given or
    the detected pattern is sparse (``sparse="auto"``; True or False force it), dense
    otherwise; LSODA gets it dense. ``jit=True`` compiles it. Returns SciPy's OdeResult (a
    failed solve: ``success=False``, ``status=-1``, as SciPy).

    Differentiable in ``y0`` and ``args`` (called inside grad, jvp, jacrev, jacfwd) when
    ``t_eval`` is given: ``y`` (n, len(t_eval)) is then ``odeint``'s solution, with its
    derivative rules, ``sensitivity=`` ("auto", "forward", "adjoint") and ``checkpoints=``
    (in ``options``, see odeint_vjp) and the same method and tolerances; the result holds ``t``, ``y``, ``success`` and ``status``."""
    args = () if args is None else (tuple(args) if isinstance(args, (tuple, list)) else (args,))
    sensitivity = options.pop("sensitivity", "auto")
    sensitivity = (sensitivity, options.pop("checkpoints", None))
    try:
        np.asarray(y0, dtype=np.float64), [np.asarray(a) for a in cr.tree_flatten(args)[0]]
    except cr.ConcretizationError:
        return _solve_ivp_traced(fun, t_span, y0, method, t_eval, args, sensitivity, jit,
                                 options)
    y0 = np.asarray(y0)
    if y0.ndim != 1:
        raise cr.ShapeMismatchError(f"solve_ivp: y0 must be 1-D, got shape {y0.shape}")
    t0 = float(t_span[0])
    _check_rhs(fun, t0, y0.astype(np.float64), args, "solve_ivp")
    if jac is None and method in IMPLICIT and not vectorized:
        jac = ode_jacobian(fun, t0, y0, args, sparse=False if method == "LSODA" else sparse,
                           pattern=None if method == "LSODA" else jac_sparsity, jit=jit)
        if method == "LSODA" and jac_sparsity is not None:
            jac = _densify(jac)
        jac_sparsity = None         # SciPy reads it for finite differences only
    if jac is not None:                 # SciPy warns about options a method ignores
        options["jac"] = jac
    if jac_sparsity is not None:
        options["jac_sparsity"] = jac_sparsity
    return _si.solve_ivp(fun, t_span, y0, method=method, t_eval=t_eval,
                         dense_output=dense_output, events=events, vectorized=vectorized,
                         args=args or None, **options)


def _solve_ivp_traced(fun, t_span, y0, method, t_eval, args, sensitivity, jit, options):
    """solve_ivp on traced inputs: odeint at t_span[0] and the times of t_eval."""
    if t_eval is None:
        raise cr.ConcretizationError(
            "solve_ivp was called on traced values (inside grad, jvp, ...): give t_eval, the "
            "times whose solution is differentiated (or use chainrule.integrate.odeint)")
    t_eval = np.asarray(t_eval, dtype=np.float64)
    first = bool(t_eval[0] == t_span[0])
    times = t_eval if first else np.concatenate([[float(t_span[0])], t_eval])
    tol = {"rtol": options.get("rtol", 1e-3), "atol": options.get("atol", 1e-6)}   # SciPy's
    ys = odeint(lambda y, t, *a: fun(t, y, *a), y0, times, *args, method=method,
                sensitivity=sensitivity[0], checkpoints=sensitivity[1], jit=jit, **tol)
    ys = ys if first else ys[1:]
    return OptimizeResult(t=t_eval, y=ys.T, success=True, status=0,
                          message="solved by chainrule.integrate.odeint")


def _densify(jac):
    def dense(t, y, *_):
        J = jac(t, y)
        return J.toarray() if _sp.issparse(J) else np.asarray(J)
    return dense


# -- odeint and its derivatives ----------------------------------------------------------------
def _times(t, what):
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or t.size < 1 or np.any(np.diff(t) <= 0):
        raise cr.InvalidArgumentError(f"{what}: t must be a 1-D increasing array of times, "
                                      f"got {t!r}")
    return t


class _Problem:
    """func(y, t, *args) with a pytree state and pytree arguments, as flat vectors: f(t, y, a)
    of y (n,) and a (P,) -> (n,), traceable in both."""

    def __init__(self, func, y0, args, what):
        self.func = func
        self.ry = Ravel(y0, what, TRACED_HINT)
        self.ra = Ravel(args, what, TRACED_HINT) if cr.tree_flatten(args)[0] else None
        self.n = self.ry.x0.size
        self.p = 0 if self.ra is None else self.ra.x0.size
        self.a0 = np.zeros(0) if self.ra is None else self.ra.x0
        ry, ra = self.ry, self.ra

        def f(t, y, a):
            full = () if ra is None else ra.unravel(a)
            out = func(ry.unravel(y), t, *full)
            return flat_output(out)
        self.f = f
        out = np.shape(f(0.0, ry.x0, self.a0))
        if out != (self.n,):
            raise cr.ShapeMismatchError(
                f"{what}: func returns {out} numbers in all for a state of {self.n}; it must "
                "return dy/dt of the state's structure")

    def compiled(self, kind, fn):
        """``cr.jit(fn)``, kept across calls for the same func and structures (fn takes the
        arguments as an input), so that a solver calling odeint_jacobian/odeint_vjp at every
        point compiles once."""
        key = (self.func, kind, self.ry.treedef, tuple(self.ry.shapes),
               None if self.ra is None else (self.ra.treedef, tuple(self.ra.shapes)))
        return cached_jit(key, lambda: fn)

    def jacobians(self, method, jit):
        """For the implicit methods: ``fy_fa(s, y) -> (f_y (n, n), f_a (n, P))`` dense, at the
        problem's arguments; None for the explicit ones (which take no Jacobian)."""
        if method not in IMPLICIT:
            return None
        J = cr.jacfwd(self.f, argnums=(1, 2))
        J = self.compiled("jacobians", J) if jit else J
        return lambda s, y: tuple(np.asarray(m) for m in J(s, y, self.a0))

    def split(self, ys):
        """(T, n) -> the state pytree with a leading time axis on each leaf."""
        return _split_traced(self, ys)


def odeint(func, y0, t, *args, rtol=1.4e-8, atol=1.4e-8, method="DOP853",
           sensitivity="auto", jit=False, checkpoints=None):
    """The solution of ``dy/dt = func(y, t, *args)``, ``y(t[0]) = y0``, at every time of the
    increasing 1-D ``t`` (T times), as in ``jax.experimental.ode.odeint``: the state pytree
    with a leading axis of length T on each leaf. Solved by ``scipy.integrate.solve_ivp``
    (``method``, ``rtol``, ``atol``); ODESolveError if the solve fails.

    Differentiable with respect to ``y0`` and ``args`` (pytrees of floats), to any order and
    under ``jit``, through the user rules ``custom_vjp``/``defjvp``; the sensitivity solves
    use the same ``method``, ``rtol``, ``atol`` (``jit=True`` compiles their right-hand
    sides). ``t`` is not differentiated. On plain numbers, reverse mode (grad, vjp, jacrev)
    runs ``odeint_vjp`` with ``sensitivity`` ("auto", "forward", "adjoint") and
    ``checkpoints`` (the adjoint's memory, see odeint_vjp), forward mode (jvp, jacfwd) forward
    sensitivities. On traced values (inside ``jit``, or the outer derivative of a second
    derivative) the solve is one staged operation (``chainrule.odesolve.solve``) whose rules
    are ODE solves again: forward mode the tangent system, reverse mode the adjoint solved
    backward interval by interval from the stored solution at the times of ``t``."""
    if sensitivity not in ("auto", "forward", "adjoint"):
        raise cr.InvalidArgumentError(f"odeint: sensitivity must be 'auto', 'forward' or "
                                      f"'adjoint', got {sensitivity!r}")
    t = _times(t, "odeint")
    if checkpoints is not None:
        odesolve.checkpoint_times(t, checkpoints)           # bad input fails here, named
    opts = (rtol, atol, method, sensitivity, bool(jit),
            None if checkpoints is None else _hashable_checkpoints(checkpoints))
    return _odeint_rule(func, t, opts, y0, args)


def _hashable_checkpoints(checkpoints):
    return int(checkpoints) if np.ndim(checkpoints) == 0 else \
        tuple(np.asarray(checkpoints, dtype=np.float64).tolist())


def _odeint_plain(func, y0, t, args, rtol, atol, method):
    prob = _Problem(func, y0, args, "odeint")
    fy_fa = prob.jacobians(method, False)
    _, ys = _solve(lambda s, y: np.asarray(prob.f(s, y, prob.a0)), t, prob.ry.x0, method,
                   rtol, atol, "odeint", jac=None if fy_fa is None else
                   (lambda s, y: fy_fa(s, y)[0]))
    return prob.split(ys)


def _odeint_primal(func, t, opts, y0, args):
    """The solve as a primitive of unknown code (pure_callback): staged when the rules of
    ``_odeint_rule`` are traced, run directly on plain values."""
    rtol, atol, method = opts[:3]
    leaves, tree = cr.tree_flatten(y0)
    like = cr.tree_unflatten(tree, [np.zeros((t.size,) + np.shape(leaf)) for leaf in leaves])
    return cr.pure_callback(lambda y, a: _odeint_plain(func, y, t, a, rtol, atol, method),
                            like, y0, args)


_odeint_rule = cr.custom_vjp(_odeint_primal, nondiff_argnums=(0, 1, 2))


def _zeros_like_tree(tree):
    leaves, treedef = cr.tree_flatten(tree)
    return cr.tree_unflatten(treedef, [np.zeros(np.shape(leaf)) for leaf in leaves])


def _odeint_fwd(func, t, opts, y0, args):
    """Eagerly (plain numbers): odeint_vjp's solve and pullback (forward sensitivities or the
    adjoint on stored checkpoints). Traced (jit, second derivatives): odesolve.solve, whose
    rules are ODE solves of their own."""
    rtol, atol, method, sensitivity, jit, checkpoints = opts
    try:
        ys, vjp_fn = odeint_vjp(func, y0, t, *args, rtol=rtol, atol=atol, method=method,
                                sensitivity=sensitivity, jit=jit, checkpoints=checkpoints)
    except cr.ConcretizationError:
        flat = _Traced(func, y0, args)
        ys = odesolve.solve(flat.f, t, _core_options(opts), flat.z0, flat.theta)
        return flat.split(ys), ("traced", flat, flat.theta, ys)
    return ys, ("eager", vjp_fn, (_zeros_like_tree(y0), _zeros_like_tree(tuple(args))))


def _odeint_bwd(func, t, opts, res, ys_bar):
    """Eagerly: the cotangents by vjp_fn (a backward solve or a contraction with the
    sensitivities), as a callback: it runs on arrays also when the cotangent is batched
    (jacrev, vmap). Traced: odesolve's adjoint, differentiable again."""
    if res[0] == "traced":
        _, flat, theta, ys = res
        y_bar, theta_bar = odesolve.solve_bwd(flat.f, t, _core_options(opts), (theta, ys),
                                              flat.flat_times(ys_bar))
        return flat.unravel_y(y_bar), flat.unravel_args(theta_bar)
    _, vjp_fn, like = res

    def pullback(bar):
        y0_bar, *args_bar = vjp_fn(bar)
        return y0_bar, tuple(args_bar)
    return cr.pure_callback(pullback, like, ys_bar)


def _core_options(opts):
    """odesolve's options: on traced values (jit, a second derivative) the right-hand sides
    SciPy calls are always compiled, since the solves repeat with them."""
    rtol, atol, method = opts[:3]
    return Options(rtol, atol, method, True)


class _Traced:
    """``func(y, t, *args)`` as ``f(z, s, theta)`` on flat vectors for odesolve.solve, from a
    state and arguments that may be traced: ``z0`` (n,), ``theta`` (P,), and the maps back."""

    def __init__(self, func, y0, args):
        y_leaves, self.y_tree = cr.tree_flatten(y0)
        a_leaves, self.a_tree = cr.tree_flatten(tuple(args))
        self.y_shapes = [np.shape(leaf) for leaf in y_leaves]
        self.a_shapes = [np.shape(leaf) for leaf in a_leaves]
        self.z0, self.theta = _flat_floats(y_leaves), _flat_floats(a_leaves)

        def f(z, s, theta):
            return flat_output(func(self.unravel_y(z), s, *self.unravel_args(theta)))
        self.f = f

    @staticmethod
    def _pieces(v, shapes, lead=()):
        out, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            out.append(v[..., start:start + size].reshape(lead + tuple(shape)))
            start += size
        return out

    def unravel_y(self, z):
        return cr.tree_unflatten(self.y_tree, self._pieces(z, self.y_shapes))

    def unravel_args(self, theta):
        return cr.tree_unflatten(self.a_tree, self._pieces(theta, self.a_shapes))

    def split(self, ys):
        """(T, n) -> the state pytree with a leading time axis on each leaf."""
        return cr.tree_unflatten(self.y_tree, self._pieces(ys, self.y_shapes, (ys.shape[0],)))

    def flat_times(self, tree):
        """The state pytree with a leading time axis (T) -> (T, n)."""
        leaves = cr.tree_flatten(tree)[0]
        T = np.shape(leaves[0])[0]
        flat = [leaf.reshape((T, -1)) for leaf in leaves]
        return flat[0] if len(flat) == 1 else cr.numpy.concatenate(flat, axis=1)


def _flat_floats(leaves):
    """Leaves (arrays, numbers, traced values) as one float vector; none: an empty one."""
    if not leaves:
        return np.zeros(0)
    flat = flat_output(leaves)
    try:
        return np.asarray(flat, dtype=np.float64)
    except cr.ConcretizationError:
        return flat


_LAST_JVP = {}


def _odeint_jvp(func, t, opts, primals, tangents):
    """Forward mode. Eagerly: the solution's tangent S @ (y0_dot, args_dot) from forward
    sensitivities (S a NumPy array; the tangents may be traced, e.g. batched by jacfwd).
    Traced primals: odesolve's tangent system, differentiable again."""
    rtol, atol, method, _, jit, _ = opts
    y0, args = primals
    try:
        prob = _Problem(func, y0, args, "odeint")
    except cr.ConcretizationError:
        flat = _Traced(func, y0, args)
        y0_dot, args_dot = tangents
        ys, ys_dot = odesolve.solve_jvp(flat.f, t, _core_options(opts), (flat.z0, flat.theta),
                                        (_flat_floats(cr.tree_flatten(y0_dot)[0]),
                                         _flat_floats(cr.tree_flatten(args_dot)[0])))
        return flat.split(ys), flat.split(ys_dot)
    # jacfwd applies this rule once per tangent (vmap runs the primitive example by example):
    # the sensitivities of the last point are kept
    key = (func, t.tobytes(), opts, prob.ry.x0.tobytes(), prob.a0.tobytes())
    if _LAST_JVP.get("key") != key:
        _LAST_JVP.clear()
        _LAST_JVP.update(key=key, value=_forward_flat(prob, t, method, rtol, atol, jit))
    ys, S = _LAST_JVP["value"]
    leaves = cr.tree_flatten(tangents)[0]
    flat_dot = flat_output([cr.numpy.ravel(leaf) for leaf in leaves])
    out_dot = cr.numpy.matmul(S, flat_dot)                     # (T, n)
    return prob.split(ys), _split_traced(prob, out_dot)


_odeint_rule.defvjp(_odeint_fwd, _odeint_bwd)
_odeint_rule.defjvp(_odeint_jvp)


def _split_traced(prob, flat):
    """(T, n) -> the state pytree with a leading time axis (slices, traceable)."""
    out, start = [], 0
    for shape, size in zip(prob.ry.shapes, prob.ry.sizes):
        out.append(flat[:, start:start + size].reshape((flat.shape[0],) + shape))
        start += size
    return cr.tree_unflatten(prob.ry.treedef, out)


def _forward_flat(prob, t, method, rtol, atol, jit):
    """ys (T, n) and S (T, n, n + P) = d ys / d (y0, args), by the augmented ODE
    y' = f, S' = f_y S + [0 | f_a], S(t0) = [I | 0]."""
    n, p = prob.n, prob.p
    ncol = n + p
    f = prob.f
    Sa = np.eye(p, ncol, n)                     # d a / d (y0, a): [0 | I]

    def rhs(s, z, a):
        y, S = z[:n], z[n:].reshape(n, ncol)

        def col(sy, sa):
            return cr.jvp(lambda yy, aa: f(s, yy, aa), (y, a), (sy, sa))[1]
        dS = cr.vmap(col, in_axes=(1, 1), out_axes=1)(S, Sa) if p else \
            cr.vmap(lambda sy: cr.jvp(lambda yy: f(s, yy, a), (y,), (sy,))[1],
                    in_axes=1, out_axes=1)(S)
        return cr.numpy.concatenate([f(s, y, a), cr.numpy.ravel(dS)])
    rhs = prob.compiled("forward", rhs) if jit else rhs
    z0 = np.concatenate([prob.ry.x0, np.eye(n, ncol).ravel()])
    fy_fa = prob.jacobians(method, jit)
    jac = None if fy_fa is None else (lambda s, z: _augmented_jacobian(fy_fa(s, z[:n])[0],
                                                                       ncol))
    _, zs = _solve(lambda s, z: np.asarray(rhs(s, z, prob.a0)), t, z0, method, rtol, atol,
                   "odeint forward sensitivities", jac=jac)
    return zs[:, :n], zs[:, n:].reshape(t.size, n, ncol)


def _augmented_jacobian(fy, ncol):
    """The Jacobian of the forward-sensitivity system for the implicit solvers' Newton steps,
    without the second-derivative coupling of S into y (the simultaneous-corrector
    approximation): blockdiag(f_y, f_y (x) I_ncol) for z = [y, S.ravel()] (S row-major)."""
    fy = _sp.csr_array(fy)
    return _sp.block_diag([fy, _sp.kron(fy, _sp.eye_array(ncol))], format="csc")


def _split_jacobian(prob, S):
    """(T, n, n + P) -> (d/dy0 of shape (T, n, n), per argument (T, n) + arg.shape)."""
    T, n = S.shape[:2]
    parts, start = [], n
    if prob.ra is not None:
        for shape, size in zip(prob.ra.shapes, prob.ra.sizes):
            parts.append(S[:, :, start:start + size].reshape((T, n) + shape))
            start += size
        parts = list(cr.tree_flatten(cr.tree_unflatten(prob.ra.treedef, parts))[0])
    return S[:, :, :n], tuple(parts)


def odeint_jacobian(func, y0, t, *args, rtol=1.4e-8, atol=1.4e-8, method="DOP853", jit=False):
    """Forward sensitivities: ``(ys, (J_y0, J_args))`` where ``ys`` (T, n) is the solution at
    the T times of ``t`` (state flattened to n numbers), ``J_y0`` (T, n, n) its Jacobian with
    respect to ``y0`` (flattened) and ``J_args`` a tuple with the Jacobian with respect to each
    array leaf of ``args`` (T, n) + leaf.shape. One solve of the augmented system
    (n (1 + n + P) states) with the user's ``method``, ``rtol``, ``atol``."""
    t = _times(t, "odeint_jacobian")
    prob = _Problem(func, y0, args, "odeint_jacobian")
    ys, S = _forward_flat(prob, t, method, rtol, atol, jit)
    return ys, _split_jacobian(prob, S)


def _adjoint_flat(prob, t, ys_bar, method, rtol, atol, jit, forward):
    """The adjoint method: lam' = -f_y^T lam, g' = -f_a^T lam backward from t[-1], lam jumping
    by ys_bar[i] at each t[i]; y(t) read from the forward trajectory (odesolve.Trajectory:
    its dense output, or segments solved again from checkpoints). -> (y0_bar, a_bar)."""
    n, p, f = prob.n, prob.p, prob.f

    def vjp_rhs(s, y, a, lam):
        _, back = cr.vjp(lambda yy, aa: f(s, yy, aa), y, a)
        gy, ga = back(lam)
        return cr.numpy.concatenate([-gy, -ga])
    vjp_rhs = prob.compiled("adjoint", vjp_rhs) if jit else vjp_rhs
    a0 = prob.a0
    fy_fa = prob.jacobians(method, jit)
    state = np.concatenate([ys_bar[-1], np.zeros(p)])
    bps = forward.breakpoints
    at = dict(zip(t.tolist(), range(t.size)))     # observation times among the breakpoints
    for j in range(bps.size - 1, 0, -1):
        lo, hi = bps[j - 1], bps[j]
        y_of = forward.interpolant(lo, hi)
        extra = {} if fy_fa is None else {
            "jac": lambda s, z, y_of=y_of: _adjoint_jacobian(*fy_fa(s, y_of(s)))}
        seg = _si.solve_ivp(lambda s, z: np.asarray(vjp_rhs(s, y_of(s), a0, z[:n])),
                            (hi, lo), state, method=method, rtol=rtol, atol=atol, **extra)
        if seg.status < 0 or not seg.success:
            raise ODESolveError(f"odeint adjoint: the backward solve failed on "
                                f"[{lo}, {hi}]: {seg.message}")
        state = seg.y[:, -1].copy()
        if lo in at:
            state[:n] += ys_bar[at[lo]]
    return state[:n], state[n:]


def _adjoint_jacobian(fy, fa):
    """The (exact, constant in the state) Jacobian of the adjoint system [lam, g]:
    [[-f_y^T, 0], [-f_a^T, 0]]."""
    n, p = fa.shape
    out = np.zeros((n + p, n + p))
    out[:n, :n] = -fy.T
    out[n:, :n] = -fa.T
    return out


def odeint_vjp(func, y0, t, *args, rtol=1.4e-8, atol=1.4e-8, method="DOP853",
               sensitivity="auto", jit=False, checkpoints=None):
    """``(ys, vjp_fn)``: the solution as ``odeint`` returns it and ``vjp_fn(ys_bar)`` ->
    ``(y0_bar, *args_bar)``, the cotangents of ``y0`` and of each argument (their structures)
    for a cotangent ``ys_bar`` of the solution (its structure: leading axis T).

    ``sensitivity``: "forward" (one augmented solve now, with n + P sensitivity columns; then
    every vjp_fn call is a contraction), "adjoint" (the forward solve keeps its dense output;
    each vjp_fn call is one backward solve of n + P states), or "auto" (forward while
    the parameters P, y0 included, are at most AUTO_FORWARD_MAX, else adjoint). The
    sensitivity solves use ``method``, ``rtol`` and ``atol``.

    ``checkpoints`` (adjoint only): None keeps the forward solve's dense output for the
    backward solve (memory grows with the number of steps); an int K (or an array of times)
    keeps only the state at K + 1 checkpoints and solves each of the K segments forward again,
    with dense output, when the backward solve reaches it: memory O(K + the steps of one
    segment) for about one more forward solve (see odesolve.Trajectory)."""
    if sensitivity not in ("auto", "forward", "adjoint"):
        raise cr.InvalidArgumentError(f"odeint_vjp: sensitivity must be 'auto', 'forward' or "
                                      f"'adjoint', got {sensitivity!r}")
    t = _times(t, "odeint_vjp")
    prob = _Problem(func, y0, args, "odeint_vjp")
    if sensitivity == "auto":
        sensitivity = "forward" if prob.n + prob.p <= AUTO_FORWARD_MAX else "adjoint"
    if sensitivity == "forward":
        ys, S = _forward_flat(prob, t, method, rtol, atol, jit)
    else:
        rhs = prob.compiled("rhs", prob.f) if jit else prob.f
        f = (lambda s, y: np.asarray(rhs(s, y, prob.a0)))
        fy_fa = prob.jacobians(method, jit)
        forward = odesolve.Trajectory(
            f, t, prob.ry.x0, method, rtol, atol, checkpoints=checkpoints,
            jac=None if fy_fa is None else (lambda s, y: fy_fa(s, y)[0]))
        ys = forward.ys

    def vjp_fn(ys_bar):
        bar_leaves = cr.tree_flatten(ys_bar)[0]
        bar = np.concatenate([np.reshape(b, (t.size, -1)) for b in bar_leaves], axis=1)
        if bar.shape != ys.shape:
            raise cr.ShapeMismatchError(f"odeint_vjp: the cotangent has {bar.shape} numbers "
                                        f"(times x state), expected {ys.shape}")
        if sensitivity == "forward":
            flat = np.einsum("ti,tij->j", bar, S)
            y_bar, a_bar = flat[:prob.n], flat[prob.n:]
        elif t.size == 1:
            y_bar, a_bar = bar[0], np.zeros(prob.p)
        else:
            y_bar, a_bar = _adjoint_flat(prob, t, bar, method, rtol, atol, jit, forward)
        y0_bar = prob.ry.unravel(y_bar)
        args_bar = () if prob.ra is None else tuple(prob.ra.unravel(a_bar))
        return (y0_bar,) + args_bar
    if sensitivity == "adjoint":
        vjp_fn.trajectory = forward
    return prob.split(ys), vjp_fn
