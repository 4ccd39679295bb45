"""Implicit differentiation: solvers inside differentiable programs, SciPy doing the solving.

    linear_solve(matvec, b, solve)   x with matvec(x) = b         dx = A^{-1} (db - dA x)
    root(f, x0, *params)             x with f(x, *params) = 0     dx = -J_x^{-1} J_p dp
    fixed_point(g, x0, *params)      x with x = g(x, *params)     root of x - g(x, *params)
    argmin(f, x0, *params)           x minimizing f(x, *params)   root of grad_x f(x, *params)

The solution is computed on plain arrays by a solver chainrule does not trace (a
``pure_callback``); the derivative comes from the implicit function theorem at the solution
alone, never from the solver's iterations. Each is a ``custom_jvp`` whose rule calls the solver
function again for its primal output, so derivatives of any order, reverse mode (linearize +
transpose: the rule is one linear solve, which transposes), jacobian, hessian, vmap (one solve
per example) and jit compose. Functions may close over values being differentiated: they are
hoisted into extra parameters (``graphs.close``) and differentiated like the others.

A solver that does not converge raises ConvergenceError (its answer would be wrong, and so would
every derivative of it); a singular Jacobian at the solution raises SingularJacobianError when a
derivative is taken at concrete values (under jit it cannot be checked).
"""
import numpy as np
import scipy.optimize

from .api import grad as _grad
from .core import (PrimalTracer, Tracer, Zero, eval_graph, get_aval, is_differentiable_dtype,
                   tangent_aval, tree_flatten, tree_unflatten)
from .core.errors import ConvergenceError, ShapeMismatchError, SingularJacobianError
from .core.primitive import bind
from .custom import custom_jvp, pure_callback
from .interpreters.forward import jvp_flat
from .interpreters.graphs import close
from .numpy import linalg as cla
from .ops.custom import linear_solve_p

__all__ = ["linear_solve", "root", "fixed_point", "argmin"]


def _aval(x):
    return get_aval(x).strip_weak()


def _as_float(x):
    return x if isinstance(x, Tracer) else np.asarray(x, dtype=float)


# -- linear_solve -----------------------------------------------------------------------------
def linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False, rtol=1e-6):
    """``x`` with ``matvec(x) == b``, where ``solve(matvec, b) -> x`` is any solver on plain
    arrays (scipy.sparse.linalg.cg or gmres on a LinearOperator, a factorization, ...).

    ``b`` and ``x`` are arrays of one shape; ``matvec`` is linear in its argument and may close
    over arrays (the parameters of the operator), in which, like in ``b``, ``x`` is
    differentiable: ``dx = A^{-1} (db - dA x)``, one more solve. Reverse mode solves with the
    transpose, ``transpose_solve(matvec_T, ct)`` (default: ``solve`` on the transposed
    operator; with ``symmetric=True``, ``solve`` on ``matvec``). A solve whose residual
    ``|A x - b|`` exceeds ``rtol |b|`` raises ConvergenceError."""
    b = _as_float(b)
    aval = _aval(b)
    graph, consts = close(lambda ins: [matvec(ins[0])], [aval])
    out = graph.outvars[0].aval
    if out.shape != aval.shape:
        raise ShapeMismatchError(f"linear_solve: matvec maps shape {aval.shape} to "
                                 f"{out.shape}; it must keep the shape of b")
    return bind(linear_solve_p, *consts, b, graph=graph, solve=solve,
                transpose_solve=transpose_solve, symmetric=symmetric, n_consts=len(consts),
                rtol=rtol, name=getattr(solve, "__name__", "solve"))


# -- root: the shared machinery ---------------------------------------------------------------
class _Condition:
    """The optimality condition ``F(x, params) = 0`` of a problem, closure-converted: ``F``
    evaluates a closed graph whose leading inputs are the values the user's function closes
    over, so every differentiable value is an explicit parameter (``self.params``)."""

    def __init__(self, what, cond, x0, params, objective=None):
        self.what = what
        self.x0 = _as_float(x0)
        self.x_aval = _aval(self.x0)
        p_leaves, self.p_tree = tree_flatten(tuple(params))
        p_leaves = [_as_float(p) if isinstance(p, (float, list)) else p for p in p_leaves]

        def flat(ins):
            x, ps = ins[0], tree_unflatten(self.p_tree, ins[1:])
            return [cond(x, *ps)] + ([objective(x, *ps)] if objective else [])
        self.graph, consts = close(flat, [self.x_aval] + [_aval(p) for p in p_leaves])
        self.n_consts = len(consts)
        self.params = list(consts) + list(p_leaves)
        out = self.graph.outvars[0].aval
        if out.shape != self.x_aval.shape:
            raise ShapeMismatchError(f"{what}: the condition maps x of shape "
                                     f"{self.x_aval.shape} to shape {out.shape}; they must be "
                                     "the same")

    def F(self, x, params, output=0):
        """The condition at ``x`` (``output=1``: the objective, for argmin)."""
        n = self.n_consts
        return eval_graph(self.graph, list(params[:n]) + [x] + list(params[n:]))[output]

    def jacobian(self, x, params):
        """The dense Jacobian of F in x, as an (n, n) matrix (forward mode, one sweep)."""
        from .api import jacfwd
        n = self.x_aval.size
        return np.reshape(jacfwd(lambda x: self.F(x, params))(x), (n, n))


def _peel(x):
    """The concrete value under forward-mode tracers, or None (staged: unknown)."""
    while isinstance(x, PrimalTracer):
        x = x.primal
    return None if isinstance(x, Tracer) else x


def _check_nonsingular(what, J):
    Jc = _peel(J)
    if Jc is None:
        return
    Jc = np.asarray(Jc)
    cond = np.linalg.cond(Jc) if Jc.size else 1.0
    if not np.isfinite(cond) or cond > 1e13:
        raise SingularJacobianError(
            f"{what}: the Jacobian of the optimality condition in x is singular at the solution "
            f"(condition number {cond:.3g}), so the solution does not depend smoothly on the "
            "parameters there (it is not isolated) and has no derivative")


def _implicit(cond, solve_raw):
    """The custom_jvp function ``(x0, *params) -> x`` whose value ``solve_raw`` computes on
    plain arrays and whose JVP is the implicit function theorem applied to ``cond``."""
    @custom_jvp
    def solution(x0, *params):
        return pure_callback(lambda x0, *ps: solve_raw(x0, list(ps)), x0, x0, *params,
                             name=cond.what)

    @solution.defjvp
    def solution_jvp(primals, tangents):
        x0, params = primals[0], list(primals[1:])
        x = solution(x0, *params)
        dots = [t if is_differentiable_dtype(get_aval(p).dtype) else Zero(tangent_aval(_aval(p)))
                for p, t in zip(params, tangents[1:])]
        _, (rhs,) = jvp_flat(lambda ps: [cond.F(x, ps)], params, dots)
        shape = cond.x_aval.shape
        if type(rhs) is Zero:
            return x, np.zeros(shape, cond.x_aval.dtype)
        J = cond.jacobian(x, params)
        _check_nonsingular(cond.what, J)
        dx = -cla.solve(J, np.reshape(rhs, (-1,)))
        return x, np.reshape(dx, shape)
    return solution


def _converged(what, F, x, tol, message=""):
    """Raise ConvergenceError unless ``|F(x)|_inf <= tol``."""
    r = np.max(np.abs(F(x))) if np.size(x) else 0.0
    if not np.isfinite(r) or r > tol:
        raise ConvergenceError(f"{what}: the solver did not converge: the residual at its "
                               f"answer is {r:.3g} > tol={tol:g}" +
                               (f" ({message})" if message else ""))


def _result_x(res):
    """A solver's answer: an array, or an OptimizeResult (then ``success`` is checked)."""
    if hasattr(res, "x"):
        return res.x, bool(getattr(res, "success", True)), str(getattr(res, "message", ""))
    return res, True, ""


def _solve_root(cond, make_solver, tol, what):
    """``solve_raw(x0, params)`` on plain arrays; ``make_solver(params)`` gives the solver
    ``(fun, x0, jac) -> x or OptimizeResult`` (None: scipy.optimize.root)."""
    def solve_raw(x0, params):
        solver = make_solver(params)
        shape = np.shape(x0)

        def fun(x):
            return np.ravel(np.asarray(cond.F(np.reshape(x, shape), params), dtype=float))

        def jac(x):
            return cond.jacobian(np.reshape(x, shape), params)
        if solver is None:
            res = scipy.optimize.root(fun, np.ravel(x0), jac=jac, tol=tol * 1e-2)
        else:
            res = solver(fun, np.ravel(x0), jac)
        x, ok, msg = _result_x(res)
        x = np.reshape(np.asarray(x, dtype=float), shape)
        # the residual decides (a minimizer may report "precision loss" at a converged point)
        _converged(what, fun, x, tol, "" if ok else f"the solver says: {msg}")
        return x
    return solve_raw


def root(f, x0, *params, solver=None, tol=1e-9):
    """The solution ``x`` of ``f(x, *params) = 0`` near ``x0``, differentiable in ``params``
    (pytrees of arrays) and in anything ``f`` closes over, by the implicit function theorem:
    ``dx = -J_x^{-1} J_p dp``, with ``J_x`` the dense Jacobian of ``f`` in ``x`` at the solution
    (one forward sweep) and one linear solve per derivative direction.

    ``f`` maps an array ``x`` (any shape) to an array of the same shape. ``solver(fun, x0,
    jac) -> x`` (or an OptimizeResult) works on flat plain arrays; by default
    ``scipy.optimize.root`` (method "hybr") with chainrule's exact Jacobian. The answer must
    satisfy ``max|f(x)| <= tol``, else ConvergenceError. ``x0`` is not differentiated."""
    cond = _Condition("root", f, x0, params)
    solution = _implicit(cond, _solve_root(cond, lambda params: solver, tol, "root"))
    return solution(cond.x0, *cond.params)


def fixed_point(g, x0, *params, solver=None, tol=1e-9):
    """The fixed point ``x = g(x, *params)`` near ``x0`` (deep equilibrium models, steady
    states), differentiable in ``params`` like ``root`` (it is the root of ``x - g(x,
    *params)``): ``dx = (I - J_g)^{-1} dg``. ``g`` maps ``x`` to an array of its shape.
    ``solver(fun, x0) -> x`` finds a fixed point of ``fun`` on flat plain arrays; by default
    ``scipy.optimize.fixed_point`` (Steffensen's acceleration). ConvergenceError unless
    ``max|x - g(x)| <= tol``."""
    cond = _Condition("fixed_point", lambda x, *p: x - g(x, *p), x0, params)

    def fp_solver(fun, x0, jac):        # fun(x) = x - g(x): iterate x -> x - fun(x)
        def step(x):
            return x - fun(x)
        if solver is not None:
            return solver(step, x0)
        try:
            return scipy.optimize.fixed_point(step, x0, xtol=tol * 1e-2, maxiter=2000)
        except RuntimeError as e:       # SciPy's "Failed to converge"
            raise ConvergenceError(f"fixed_point: {e}") from None
    solution = _implicit(cond, _solve_root(cond, lambda params: fp_solver, tol, "fixed_point"))
    return solution(cond.x0, *cond.params)


_USES_HESSIAN = {"Newton-CG", "dogleg", "trust-ncg", "trust-krylov", "trust-exact",
                 "trust-constr"}


def argmin(f, x0, *params, method="trust-exact", tol=1e-8, options=None):
    """The minimizer ``x`` of scalar ``f(x, *params)`` near ``x0`` (an inner problem of a
    bilevel optimization, a hyperparameter's effect), by ``scipy.optimize.minimize`` (``method``,
    ``options``) with chainrule's gradient and, for the methods that use one, its Hessian
    (by default "trust-exact", which converges fast to high accuracy); differentiable in ``params`` through the
    optimality condition ``grad_x f(x, params) = 0``: ``dx = -H^{-1} d(grad_x f)``, ``H`` the
    Hessian in ``x``. ConvergenceError unless ``max|grad_x f| <= tol`` at the answer;
    SingularJacobianError when ``H`` is singular there (a flat minimum)."""
    cond = _Condition("argmin", _grad(f), x0, params, objective=f)

    def make_solver(params):
        shape = cond.x_aval.shape

        def value(x):
            return float(cond.F(np.reshape(x, shape), params, output=1))

        def min_solver(fun, x0, jac):   # fun: the gradient of f, jac: its Hessian
            return scipy.optimize.minimize(value, x0, jac=fun, method=method, tol=tol * 1e-2,
                                           hess=jac if method in _USES_HESSIAN else None,
                                           options=options)
        return min_solver
    solution = _implicit(cond, _solve_root(cond, make_solver, tol, "argmin"))
    return solution(cond.x0, *cond.params)
