"""ODE solves by SciPy as one differentiable operation, for ``chainrule.integrate``.

``solve(f, t, opts, z0, theta)`` is the solution ``(T, n)`` at the increasing times ``t`` of

    dz/ds = f(z, s, theta),   z(t[0]) = z0          (z0: (n,), theta: (P,), f traceable)

solved by ``scipy.integrate.solve_ivp`` inside a ``pure_callback``, so ``jit`` stages it as one
opaque equation that calls SciPy when the compiled code runs. Its derivative rules are ODE
solves of the same kind, written with chainrule's operations, so they can be differentiated
again (Hessians, ``jit`` of gradients, any nesting):

- forward mode (jvp, jacfwd): the tangent ``z_dot`` obeys the linearized ODE
  ``z_dot' = f_z z_dot + f_theta theta_dot``; one ``solve`` of the augmented state
  ``[z, z_dot]`` gives the solution and its tangent (``_tangent_system``).
- reverse mode (grad, vjp, jacrev): the adjoint ``lam`` obeys ``lam' = -f_z^T lam`` backward
  from ``t[-1]``, jumping by the cotangent at each time of ``t``, and the parameters collect
  ``int f_theta^T lam``. Each interval ``[t[i-1], t[i]]`` is one ``solve`` of ``[z, lam, g]``
  in reversed time ``s = -t``, started from the solution at ``t[i]`` stored by the forward
  solve (the times of ``t`` are its checkpoints), ``z`` integrated backward alongside
  (``_adjoint_system``).

A second derivative thus differentiates these solves in turn: forward over adjoint for a
Hessian-vector product solves the tangent system of the adjoint system. ``opts`` is the hashable
tuple ``Options(rtol, atol, method, jit)``; ``jit=True`` compiles the right-hand sides that
SciPy calls. A failed solve raises ODESolveError: no derivative of a failed solve is returned.
"""
import collections

import numpy as np
import scipy.integrate as _si

import chainrule as cr

cnp = cr.numpy          # the public API only (a contrib module): chainrule.numpy as an attribute
__all__ = ["solve", "Options", "ODESolveError", "scipy_solve", "Trajectory"]

Options = collections.namedtuple("Options", "rtol atol method jit")


class ODESolveError(cr.ChainruleError, RuntimeError):
    """The ODE solve (or its sensitivity solve) failed: no derivative is returned."""


def scipy_solve(rhs, t, z0, method, rtol, atol, what, jac=None, dense=False):
    """Solve by SciPy and return (sol, ys of shape (len(t), size)); ODESolveError if it fails."""
    if t.size == 1:
        return None, z0[None, :]
    extra = {} if jac is None else {"jac": jac}
    sol = _si.solve_ivp(rhs, (t[0], t[-1]), z0, method=method, t_eval=t, rtol=rtol,
                        atol=atol, dense_output=dense, **extra)
    if sol.status < 0 or not sol.success:
        where = sol.t[-1] if sol.t.size else t[0]
        raise ODESolveError(f"{what}: the ODE solve failed at t = {where}: {sol.message}")
    return sol, sol.y.T


# derived right-hand sides, kept per function so that jit compiles each once
_DERIVED = {}


def _derived(kind, f, make):
    key = (kind, f)
    hit = _DERIVED.get(key)
    if hit is None:
        if len(_DERIVED) >= 256:
            _DERIVED.clear()
        hit = _DERIVED[key] = make(f)
    return hit


def _numpy_rhs(f, theta, opts):
    """``(s, z) -> dz/ds`` as a float64 array, for SciPy (compiled when ``opts.jit``)."""
    g = _derived("jit", f, cr.jit) if opts.jit else f
    return lambda s, z: np.asarray(g(z, s, theta), dtype=np.float64)


def _solve_primal(f, t, opts, z0, theta):
    def run(z0, theta):
        z0 = np.asarray(z0, dtype=np.float64)
        rhs = _numpy_rhs(f, np.asarray(theta, dtype=np.float64), opts)
        return scipy_solve(rhs, t, z0, opts.method, opts.rtol, opts.atol, "odeint")[1]
    return cr.pure_callback(run, np.zeros((t.size, np.shape(z0)[0])), z0, theta,
                            name="odeint (scipy.integrate.solve_ivp)")


solve = cr.custom_vjp(_solve_primal, nondiff_argnums=(0, 1, 2))


def _tangent_system(f):
    """The right-hand side of ``[z, z_dot]`` with parameters ``[theta, theta_dot]``."""
    def tangent_rhs(w, s, params):
        n, p = w.shape[0] // 2, params.shape[0] // 2
        out, out_dot = cr.jvp(lambda z, th: f(z, s, th), (w[:n], params[:p]),
                              (w[n:], params[p:]))
        return cnp.concatenate([out, out_dot])
    return tangent_rhs


def _adjoint_system(f, n):
    """The right-hand side of ``[z, lam, g]`` in reversed time ``s = -t``:
    ``[-f, f_z^T lam, f_theta^T lam]``."""
    def adjoint_rhs(w, s, theta):
        out, back = cr.vjp(lambda z, th: f(z, -s, th), w[:n], theta)
        z_bar, theta_bar = back(w[n:2 * n])
        return cnp.concatenate([-out, z_bar, theta_bar])
    return adjoint_rhs


def solve_jvp(f, t, opts, primals, tangents):
    """Forward mode: one solve of the tangent system -> (ys, ys_dot), each (T, n)."""
    (z0, theta), (z0_dot, theta_dot) = primals, tangents
    n = np.shape(z0)[0]
    z0_dot = _dense_tangent(z0_dot, z0)
    theta_dot = _dense_tangent(theta_dot, theta)
    w = solve(_derived("tangent", f, _tangent_system), t, opts,
              cnp.concatenate([z0, z0_dot]), cnp.concatenate([theta, theta_dot]))
    return w[:, :n], w[:, n:]


def _dense_tangent(x_dot, x):
    return np.zeros(np.shape(x)) if x_dot is None else x_dot


def _solve_fwd(f, t, opts, z0, theta):
    ys = solve(f, t, opts, z0, theta)
    return ys, (theta, ys)


def solve_bwd(f, t, opts, res, ys_bar):
    """Reverse mode: one backward solve of ``[z, lam, g]`` per interval of ``t`` ->
    (z0_bar (n,), theta_bar (P,))."""
    theta, ys = res
    n, p = np.shape(ys)[1], np.shape(theta)[0]
    lam, g = ys_bar[-1], np.zeros(p)
    adjoint = _derived(("adjoint", n), f, lambda f: _adjoint_system(f, n))
    for i in range(t.size - 1, 0, -1):
        w = solve(adjoint, np.array([-t[i], -t[i - 1]]), opts,
                  cnp.concatenate([ys[i], lam, g]), theta)
        lam, g = w[-1, n:2 * n] + ys_bar[i - 1], w[-1, 2 * n:]
    return lam, g


solve.defvjp(_solve_fwd, solve_bwd)
solve.defjvp(solve_jvp)


# -- the forward trajectory that the eager adjoint method reads --------------------------------
class Trajectory:
    """The forward solution as the adjoint's backward solve reads it: ``interpolant(lo, hi)``
    is a callable ``s -> y(s)`` valid on ``[lo, hi]``, for consecutive ``breakpoints``.

    ``checkpoints=None``: the forward solve keeps its dense output (memory grows with the
    number of steps). An int K or an array of times: the forward solve keeps only the state at
    K + 1 checkpoint times (K equal segments of ``[t[0], t[-1]]``); the backward pass solves
    each segment forward again from its checkpoint, with dense output, when it reaches it, and
    drops it when it leaves it: memory O(checkpoints + the steps of one segment), for about one
    forward solve more."""

    def __init__(self, rhs, t, z0, method, rtol, atol, jac=None, checkpoints=None):
        self._solve = (rhs, method, rtol, atol, jac)
        if checkpoints is None:
            self.dense, ys = scipy_solve(rhs, t, z0, method, rtol, atol, "odeint", jac=jac,
                                         dense=True)
            self.breakpoints, self.ys = t, ys
            return
        self.dense = None
        times = checkpoint_times(t, checkpoints)
        both = np.union1d(t, times)
        _, zs = scipy_solve(rhs, both, z0, method, rtol, atol, "odeint", jac=jac)
        self.ys = zs[np.searchsorted(both, t)]
        self.times, self.states = times, zs[np.searchsorted(both, times)]
        self.breakpoints = both
        self._segment = (None, None)        # (index, its dense output)

    def interpolant(self, lo, hi):
        if self.dense is not None:
            return self.dense.sol
        k = int(np.searchsorted(self.times, hi, side="left"))      # times[k-1] <= lo < hi <= times[k]
        if self._segment[0] != k:
            rhs, method, rtol, atol, jac = self._solve
            seg = np.array([self.times[k - 1], self.times[k]])
            sol, _ = scipy_solve(rhs, seg, self.states[k - 1], method, rtol, atol,
                                 "odeint (checkpoint segment)", jac=jac, dense=True)
            self._segment = (k, sol.sol)
        return self._segment[1]

    def memory_items(self):
        """The number of stored forward steps (dense) or checkpoint states: what grows."""
        if self.dense is not None:
            return len(self.dense.sol.ts) - 1 if self.dense.sol is not None else 0
        return len(self.times)


def checkpoint_times(t, checkpoints):
    """The checkpoint times, t[0] and t[-1] included; InvalidArgumentError for bad input."""
    if np.ndim(checkpoints) == 0:
        k = int(checkpoints)
        if k < 1 or k != checkpoints:
            raise cr.InvalidArgumentError(f"odeint: checkpoints must be a positive int (the "
                                          f"number of segments) or times, got {checkpoints!r}")
        return np.linspace(t[0], t[-1], k + 1)
    times = np.asarray(checkpoints, dtype=np.float64)
    if times.ndim != 1 or np.any(np.diff(times) <= 0) or times[0] < t[0] or times[-1] > t[-1]:
        raise cr.InvalidArgumentError("odeint: checkpoint times must increase and lie within "
                                      f"[t[0], t[-1]], got {checkpoints!r}")
    return np.union1d([t[0], t[-1]], times)
