"""``chainrule.optimize``: SciPy's optimizers with every derivative supplied by chainrule.

The functions take SciPy's own signatures and return SciPy's own results; chainrule fills in
what the chosen method asks for and the user did not give:

    import numpy as np
    import chainrule.optimize as cro

    def rosen(x):
        return np.sum(100 * (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)
    res = cro.minimize(rosen, np.zeros(5), method="trust-ncg")   # jac and hessp by AD

- ``minimize``: ``jac`` by one ``value_and_grad`` per point; ``hessp`` (Newton-CG, trust-ncg,
  trust-krylov) from one linearization of the gradient per point, reused for every product at
  that point (it also gives the gradient); a dense ``hess`` for dogleg and trust-exact; for
  trust-constr a prepared sparse Hessian when the pattern is sparse, ``hessp`` otherwise.
  ``NonlinearConstraint`` (and SLSQP/COBYLA dict constraints) get AD Jacobians, and
  trust-constr the Hessian of each constraint's term of the Lagrangian.
- ``least_squares``: the AD Jacobian of the residuals, a prepared sparse one (pattern detected
  once, or the user's ``jac_sparsity``) when it is sparse and the method allows it.
- ``root``: the AD Jacobian for hybr and lm. ``root_scalar``: ``fprime``/``fprime2`` for newton
  and halley, from one Taylor-mode pass per point. ``minimize_scalar``: checks only.

Parameters may be any pytree (nested tuples, lists, dicts of arrays): they are flattened to the
vector SciPy works on, and ``res.x`` comes back in the structure of ``x0``. Bounds and callbacks
see the flat vector. ``jit=True`` compiles the derivative code (``chainrule.jit``) once for the
whole solve; ``jit="numba"`` (or ``"auto"``) compiles it with that backend, to machine code. A derivative the user passes (``jac=``, ``hess=``, ...) is used as given.
"""
import numpy as np
import scipy.optimize as _so
import scipy.sparse as _sp
from scipy.sparse.linalg import LinearOperator

import chainrule as cr

__all__ = ["minimize", "least_squares", "root", "minimize_scalar", "root_scalar", "Ravel"]

# a detected pattern is used sparse when it has at most this share of nonzeros (and n is not tiny)
SPARSE_DENSITY = 0.1
SPARSE_MIN_N = 32

_JAC_METHODS = {"cg", "bfgs", "newton-cg", "l-bfgs-b", "tnc", "slsqp", "dogleg", "trust-ncg",
                "trust-krylov", "trust-exact", "trust-constr"}
_HESSP_METHODS = {"newton-cg", "trust-ncg", "trust-krylov"}
_HESS_METHODS = {"dogleg", "trust-exact"}


class Ravel:
    """A pytree of arrays as one flat float64 vector and back.

    ``Ravel(tree).x0`` is the flat vector (leaves one after the other, C order);
    ``unravel(v)`` rebuilds the tree from a vector of that length (NumPy arrays or traced
    values, so it can sit inside a differentiated function)."""

    def __init__(self, tree, what, traced_hint="the solution is not differentiable by "
                 "chainrule's transformations"):
        leaves, self.treedef = cr.tree_flatten(tree)
        try:
            arrs = [np.asarray(leaf, dtype=np.float64) for leaf in leaves]
        except cr.ConcretizationError:
            raise cr.ConcretizationError(
                f"{what} was called on traced values (inside grad, jvp, vmap or jit), but it "
                f"runs SciPy on concrete numbers; {traced_hint}") from None
        except (TypeError, ValueError) as e:
            raise cr.InvalidArgumentError(f"{what}: the parameters must be arrays or a pytree "
                                          f"of arrays of numbers ({e})") from None
        if not arrs:
            raise cr.InvalidArgumentError(f"{what}: the parameters are empty")
        self.shapes = [a.shape for a in arrs]
        self.sizes = [a.size for a in arrs]
        self.x0 = np.concatenate([a.ravel() for a in arrs])
        # one 1-D array: the identity, so user functions see SciPy's vector itself
        self.plain = len(arrs) == 1 and arrs[0].ndim == 1 and self.treedef.node_type is None

    def unravel(self, v):
        if self.plain:
            return v
        parts, start = [], 0
        for shape, size in zip(self.shapes, self.sizes):
            parts.append(v[start:start + size].reshape(shape))
            start += size
        return cr.tree_unflatten(self.treedef, parts)


def flat_output(out):
    """The leaves of a function's output as one 1-D vector (traced or not)."""
    leaves, _ = cr.tree_flatten(out)
    if len(leaves) == 1:
        return cr.numpy.ravel(leaves[0])
    return cr.numpy.concatenate([cr.numpy.ravel(leaf) for leaf in leaves])


def _same(a, b):
    return a is not None and a.shape == b.shape and np.array_equal(a, b)


def _computed(*values):
    """Lazy values (Dask arrays: an objective of Dask data) computed together by one
    ``dask.compute``, which shares their common work (the forward pass of a value and its
    gradient); other values as they are."""
    if any(hasattr(x, "__dask_graph__") for x in values):
        import dask
        return dask.compute(*values)
    return values


def _dense(J):
    return J.toarray() if _sp.issparse(J) else np.asarray(J, dtype=np.float64)


def _is_sparse(pattern):
    m, n = pattern.shape
    return n >= SPARSE_MIN_N and pattern.nnz <= SPARSE_DENSITY * m * n


class ScalarObjective:
    """``f(x, *args)`` of a pytree ``x`` as a function of SciPy's flat vector, with its
    derivatives. Every method takes the flat vector ``v`` (shape (n,)).

    value(v) -> float; value_and_grad(v) -> (float, (n,)); grad(v) -> (n,) from one
    linearization of the gradient, kept for hessp(v, p) -> (n,) at the same point;
    hess(v) -> (n, n) ndarray; sparse_hess(v) -> csr (n, n), prepared once."""

    def __init__(self, fun, ravel, args, jit, what):
        self.what, self.jit = what, jit

        def f(v):
            return fun(ravel.unravel(v), *args)
        self.f = f
        out = f(ravel.x0)
        # the dtype read without np.isrealobj, which Dask arrays (lazy objectives) do not take
        kind = (out.dtype if hasattr(out, "dtype") else np.result_type(out)).kind
        if np.ndim(out) != 0 or kind == "c":
            raise cr.NonScalarOutputError(
                f"{what}: the objective must return a real scalar, got "
                f"{type(out).__name__} of shape {np.shape(out)}; for a vector of residuals "
                "use chainrule.optimize.least_squares")
        grad = cr.grad(f)
        self._vg = cr.value_and_grad(f)
        self._hvp = None
        if jit:
            self._f, self._vg, self._grad, self._hvp, self._hess = \
                _compiled_derivatives(fun, ravel, args, jit)
        else:
            self._f, self._grad, self._hess = f, grad, cr.hessian(f)
        self._point, self._lin = None, None     # the point of the kept linearization
        self._sparse = None
        self.n_linearize = 0

    def value(self, v):
        return float(self._f(v))

    def value_and_grad(self, v):
        val, g = _computed(*self._vg(v))
        return float(val), np.asarray(g, dtype=np.float64)

    def _linearize(self, v):
        if not _same(self._point, v):
            self.n_linearize += 1
            self._g, self._lin = cr.linearize(self._grad, v)
            self._point = np.array(v, dtype=np.float64)
        return self._lin

    def grad(self, v):
        if self._hvp is not None:
            return np.asarray(self._grad(v), dtype=np.float64)
        self._linearize(v)
        return np.asarray(self._g, dtype=np.float64)

    def hessp(self, v, p):
        p = np.asarray(p, dtype=np.float64)
        if self._hvp is not None:
            return np.asarray(self._hvp(v, p), dtype=np.float64)
        return np.asarray(self._linearize(v)(p), dtype=np.float64)

    def hess(self, v):
        return np.asarray(self._hess(v), dtype=np.float64)

    def sparse_pattern(self, v0):
        """The global Hessian pattern if it is sparse enough to pay, else None."""
        pattern = cr.hessian_sparsity(self.f, v0)
        return pattern if _is_sparse(pattern) else None

    def sparse_hess(self, v):
        if self._sparse is None:
            self._sparse = _sparse_fn(cr.prepare_sparse_hessian(self.f, v), self.jit)
        return self._sparse(v)


_COMPILED = {}       # (user function, kind, structures) -> a cr.jit function


def compile_fn(f, jit):
    """``cr.jit(f)`` on the backend ``jit`` names: True is the NumPy backend, a string
    ("numpy", "numba", "auto") picks one (``chainrule.jit``'s ``backend``)."""
    return cr.jit(f, backend=jit if isinstance(jit, str) else "numpy")


def cached_jit(key, make, jit=True):
    """``compile_fn(make(), jit)``, kept across calls under ``key`` (the user's function, what
    is derived from it, the input structures), so that a solver called again compiles nothing.
    The compiled function takes every array it depends on as an argument: nothing the user
    may change between calls is baked in."""
    key = key + (jit,)
    try:
        hit = _COMPILED.get(key)
    except TypeError:                       # an unhashable function or structure
        return compile_fn(make(), jit)
    if hit is None:
        if len(_COMPILED) >= 128:
            _COMPILED.clear()
        hit = _COMPILED[key] = compile_fn(make(), jit)
    return hit


def _arrays_only(args):
    return all(isinstance(a, (np.ndarray, np.number, float, int, bool))
               for a in cr.tree_flatten(args)[0])


def _compiled_derivatives(fun, ravel, args, jit=True):
    """-> value, value_and_grad, grad, hvp, hess of ``fun(unravel(v), *args)`` compiled. When
    ``args`` are arrays they are arguments of the compiled code, which is then cached across
    calls; other objects among them are bound as constants of a per-call compilation."""
    cacheable = _arrays_only(args)
    bound, passed = ((), args) if cacheable else (args, ())

    # the arguments are passed spread (*a), so that a call with array arguments takes jit's
    # fast path (positional arrays: one dictionary lookup)
    def fa(v, *a):
        return fun(ravel.unravel(v), *a, *bound)

    def hvp(v, p, *a):
        return cr.jvp(lambda u: cr.grad(fa)(u, *a), (v,), (p,))[1]
    makers = {"f": lambda: fa, "vg": lambda: cr.value_and_grad(fa),
              "grad": lambda: cr.grad(fa), "hvp": lambda: hvp, "hess": lambda: cr.hessian(fa)}
    key = (fun, ravel.treedef, tuple(ravel.shapes), len(passed))
    jf = {k: cached_jit(key + (k,), make, jit) if cacheable else compile_fn(make(), jit)
          for k, make in makers.items()}
    return (lambda v: jf["f"](v, *passed), lambda v: jf["vg"](v, *passed),
            lambda v: jf["grad"](v, *passed), lambda v, p: jf["hvp"](v, p, *passed),
            lambda v: jf["hess"](v, *passed))


def _method_name(method, bounds, constraints):
    if callable(method):
        return "custom"
    if method is None:      # SciPy's own choice
        return "slsqp" if constraints else ("l-bfgs-b" if bounds is not None else "bfgs")
    return method.lower()


def minimize(fun, x0, args=(), method=None, jac=None, hess=None, hessp=None, bounds=None,
             constraints=(), tol=None, callback=None, options=None, jit=False):
    """``scipy.optimize.minimize`` with the derivatives by AD. ``fun(x, *args)`` must return a
    real scalar (NonScalarOutputError otherwise); ``x0`` is an array or a pytree of arrays
    (n numbers in all). Returns SciPy's OptimizeResult with ``x`` in the structure of ``x0``
    (``jac``, ``hess_inv`` and the rest stay flat, length n).

    What is supplied depends on the method (see the module docstring); derivative-free methods
    (Nelder-Mead, Powell, COBYLA, COBYQA) get none for the objective. ``jit=True`` compiles
    the derivatives."""
    if not isinstance(args, tuple):
        args = (args,)
    ravel = Ravel(x0, "minimize")
    meth = _method_name(method, bounds, constraints)
    value_fun = fun if jac is not True else (lambda x, *a: fun(x, *a)[0])
    obj = ScalarObjective(value_fun, ravel, args, jit, "minimize")
    f = obj.value
    # derivatives the user gave take the pytree and args, as fun does
    if jac is True:
        f = _user_fun(lambda x: fun(x, *args), ravel)
    elif callable(jac):
        jac = _user_vector(lambda x, user=jac: user(x, *args), ravel)
    if callable(hess):
        hess = (lambda h: lambda v: h(ravel.unravel(v), *args))(hess)
    if callable(hessp):
        hessp = (lambda h: lambda v, p: _dense(flat_output(h(ravel.unravel(v),
                                                            ravel.unravel(p), *args))))(hessp)
    if meth in _JAC_METHODS or meth == "custom":
        if jac is None and meth not in _HESSP_METHODS | _HESS_METHODS | {"trust-constr"}:
            f, jac = obj.value_and_grad, True      # one value_and_grad per point
        elif jac is None:
            jac = obj.grad
        if meth in _HESSP_METHODS and hess is None and hessp is None:
            hessp = obj.hessp
        elif meth in _HESS_METHODS and hess is None:
            hess = obj.hess
        elif meth == "trust-constr" and hess is None and hessp is None:
            if obj.sparse_pattern(ravel.x0) is not None:
                hess = obj.sparse_hess
            else:
                hessp = obj.hessp
    cons = _constraints(constraints, ravel, jit, meth)
    res = _so.minimize(f, ravel.x0, args=(), method=method, jac=jac, hess=hess, hessp=hessp,
                       bounds=bounds, constraints=cons, tol=tol, callback=callback,
                       options=options)
    res.x = ravel.unravel(res.x)
    return res


def _user_vector(g, ravel):
    """A user's derivative of the pytree x -> a flat float vector of the flat v."""
    return lambda v: _dense(flat_output(g(ravel.unravel(v))))


def _user_fun(fg, ravel):
    """A user's fun returning (value, gradient pytree) -> (float, flat vector) of the flat v."""
    def f(v):
        val, g = fg(ravel.unravel(v))
        return float(val), _dense(flat_output(g))
    return f


# -- constraints -------------------------------------------------------------------------------
def _constraints(constraints, ravel, jit, meth):
    if isinstance(constraints, (dict, _so.NonlinearConstraint, _so.LinearConstraint)):
        one = True
        constraints = [constraints]
    else:
        one = False
    out = [_constraint(c, ravel, jit, meth) for c in constraints]
    return out[0] if one else out


def _vector_fun(fun, ravel, args, what):
    """A constraint or residual function as (flat vector -> 1-D vector), traceable."""
    def c(v):
        return flat_output(fun(ravel.unravel(v), *args))
    c.__name__ = what
    return c


def _jacobian_fn(c, jit):
    J = cr.jacobian(c)
    J = compile_fn(J, jit) if jit else J
    return lambda v: np.asarray(J(v), dtype=np.float64)


def _lagrangian_term_hess(c, n):
    """hess(v, lam): the Hessian of lam . c at v as a LinearOperator, one linearization."""
    def hess(v, lam):
        lam = np.asarray(lam, dtype=np.float64)
        _, lin = cr.linearize(cr.grad(lambda y: cr.numpy.dot(lam, c(y))), v)
        return LinearOperator((n, n), matvec=lambda p: np.asarray(lin(np.ravel(p))),
                              dtype=np.float64)
    return hess


def _constraint(con, ravel, jit, meth):
    n = ravel.x0.size
    if isinstance(con, _so.NonlinearConstraint):
        c = _vector_fun(con.fun, ravel, (), "constraint")
        jac = con.jac if callable(con.jac) else _jacobian_fn(c, jit)
        hess = con.hess
        if meth == "trust-constr" and not callable(hess) and \
                not isinstance(hess, _so.HessianUpdateStrategy):
            hess = _lagrangian_term_hess(c, n)
        elif not callable(hess) and not isinstance(hess, _so.HessianUpdateStrategy):
            hess = _so.BFGS()                       # SciPy's default; only trust-constr uses it
        return _so.NonlinearConstraint(lambda v: np.asarray(c(v), dtype=np.float64), con.lb,
                                       con.ub, jac=jac, hess=hess,
                                       keep_feasible=con.keep_feasible)
    if isinstance(con, dict):
        if "fun" not in con:
            raise cr.InvalidArgumentError("minimize: a constraint dict needs a 'fun' entry")
        new = dict(con)
        c = _vector_fun(con["fun"], ravel, tuple(con.get("args", ())), "constraint")
        new["fun"] = lambda v: np.asarray(c(v), dtype=np.float64)
        new.pop("args", None)
        if con.get("jac") is None and meth not in ("cobyla", "cobyqa"):
            new["jac"] = _jacobian_fn(c, jit)
        elif con.get("jac") is not None:
            user_jac, a = con["jac"], tuple(con.get("args", ()))
            new["jac"] = lambda v: user_jac(ravel.unravel(v), *a)
        return new
    return con                                      # LinearConstraint: nothing to differentiate


# -- least squares, roots ----------------------------------------------------------------------
class VectorJacobian:
    """``jac(v)`` of a vector function of the flat vector: dense (``cr.jacobian``) or, when
    ``pattern`` is given, a prepared sparse Jacobian (csr)."""

    def __init__(self, c, v0, jit, pattern=None):
        self.sparse = pattern is not None
        if self.sparse:
            self._prep = _sparse_fn(cr.prepare_sparse_jacobian(
                c, v0, pattern=_sp.csr_array(pattern)), jit)
        else:
            self._dense = _jacobian_fn(c, jit)

    def __call__(self, v, *_):
        return self._prep(v) if self.sparse else self._dense(v)


def _sparse_fn(prep, jit):
    """A prepared sparse Jacobian or Hessian as v -> csr; with jit, its sweeps compiled as one
    program (``prep.compressed``) and the recovery in NumPy."""
    if not jit:
        return prep
    sweeps = compile_fn(prep.compressed, jit)
    return lambda v: prep.recover(np.asarray(sweeps(v)))


def least_squares(fun, x0, jac=None, bounds=(-np.inf, np.inf), method="trf", ftol=1e-8,
                  xtol=1e-8, gtol=1e-8, x_scale=None, loss="linear", f_scale=1.0,
                  diff_step=None, tr_solver=None, tr_options=None, jac_sparsity=None,
                  max_nfev=None, verbose=0, args=(), kwargs=None, sparse="auto", jit=False,
                  **more):
    """``scipy.optimize.least_squares`` with the Jacobian of the residuals by AD.
    ``fun(x, *args, **kwargs)`` returns the residuals (any shape or pytree: m numbers, used
    flattened); ``x0`` an array or pytree (n numbers). The Jacobian (m, n) is sparse and
    prepared once (pattern, coloring) when ``jac_sparsity`` is given or, with
    ``sparse="auto"``, when the detected pattern is sparse; dense otherwise
    (``sparse=False``, and always for method "lm"). Returns SciPy's OptimizeResult,
    ``x`` in the structure of ``x0``."""
    kwargs = {} if kwargs is None else kwargs
    if not isinstance(args, tuple):
        args = (args,)
    ravel = Ravel(x0, "least_squares")
    c = _vector_fun(lambda x: fun(x, *args, **kwargs), ravel, (), "residuals")
    r0 = np.asarray(c(ravel.x0))
    if not np.isrealobj(r0):
        raise cr.InvalidArgumentError("least_squares: the residuals must be real")
    if jac is None or isinstance(jac, str):
        pattern = None
        if method != "lm" and sparse is not False:
            if jac_sparsity is not None:
                pattern = _sp.csr_array(jac_sparsity, dtype=bool)
            elif sparse == "auto":
                detected = cr.jacobian_sparsity(c, ravel.x0)
                pattern = detected if _is_sparse(detected) else None
            elif sparse is True:
                pattern = cr.jacobian_sparsity(c, ravel.x0)
        jac = VectorJacobian(c, ravel.x0, jit, pattern)
        jac_sparsity = None             # SciPy reads it for finite differences only
    elif callable(jac):                 # the user's: of the pytree, with args and kwargs
        jac = (lambda v, user=jac: user(ravel.unravel(v), *args, **kwargs))
    if x_scale is not None:
        more["x_scale"] = x_scale
    res = _so.least_squares(lambda v: np.asarray(c(v), dtype=np.float64), ravel.x0, jac=jac,
                            bounds=bounds, method=method, ftol=ftol, xtol=xtol, gtol=gtol,
                            loss=loss, f_scale=f_scale, diff_step=diff_step,
                            tr_solver=tr_solver, tr_options=tr_options or {},
                            jac_sparsity=jac_sparsity, max_nfev=max_nfev, verbose=verbose,
                            **more)
    res.x = ravel.unravel(res.x)
    return res


def root(fun, x0, args=(), method="hybr", jac=None, tol=None, callback=None, options=None,
         jit=False):
    """``scipy.optimize.root`` with the AD Jacobian (dense, (n, n)) for the methods that use
    one (hybr, lm). ``fun(x, *args)`` returns n numbers (any shape or pytree) for ``x0`` of n
    numbers. Returns SciPy's OptimizeResult, ``x`` in the structure of ``x0``."""
    if not isinstance(args, tuple):
        args = (args,)
    ravel = Ravel(x0, "root")
    c = _vector_fun(fun, ravel, args, "root function")
    m = np.size(c(ravel.x0))
    if m != ravel.x0.size:
        raise cr.ShapeMismatchError(f"root: fun returns {m} numbers for {ravel.x0.size} "
                                    "unknowns; a root needs as many equations as unknowns")
    if jac is None and method in ("hybr", "lm"):
        jac = VectorJacobian(c, ravel.x0, jit)
    elif callable(jac):                 # the user's: of the pytree, with args
        jac = (lambda v, user=jac: user(ravel.unravel(v), *args))
    res = _so.root(lambda v: np.asarray(c(v), dtype=np.float64), ravel.x0, method=method,
                   jac=jac, tol=tol, callback=callback, options=options)
    res.x = ravel.unravel(res.x)
    return res


def _scalar_check(f, x, what):
    out = f(x)
    if np.ndim(out) != 0:
        raise cr.NonScalarOutputError(f"{what}: the function must return a scalar for a "
                                      f"scalar input, got shape {np.shape(out)}")


def minimize_scalar(fun, bracket=None, bounds=None, args=(), method=None, tol=None,
                    options=None):
    """``scipy.optimize.minimize_scalar`` (its methods use no derivatives): ``fun(x, *args)``
    must return a scalar (NonScalarOutputError otherwise). Returns SciPy's result."""
    if not isinstance(args, tuple):
        args = (args,)
    probe = bounds[0] if bounds is not None else (bracket[0] if bracket else 0.0)
    _scalar_check(lambda x: fun(x, *args), float(probe), "minimize_scalar")
    return _so.minimize_scalar(fun, bracket=bracket, bounds=bounds, args=args, method=method,
                               tol=tol, options=options)


class _Derivatives:
    """[f, f', ..., f^(order)] at one point by one Taylor-mode pass, kept for the point."""

    def __init__(self, f, order, jit):
        self._d = (lambda x: cr.derivatives(f, x, order))
        self._d = compile_fn(self._d, jit) if jit else self._d
        self._x, self._vals = None, None

    def __call__(self, x, k):
        if self._x is None or self._x != x:
            self._vals = [float(d) for d in self._d(float(x))]
            self._x = x
        return self._vals[k]


def root_scalar(f, args=(), method=None, bracket=None, fprime=None, fprime2=None, x0=None,
                x1=None, xtol=None, rtol=None, maxiter=None, options=None, jit=False):
    """``scipy.optimize.root_scalar`` with ``fprime`` (newton, and SciPy's default choice
    without a bracket) and ``fprime2`` (halley) by Taylor mode: f, f' and f'' at a point come
    from one pass. ``f(x, *args)`` maps a float to a float. Returns SciPy's RootResults."""
    if not isinstance(args, tuple):
        args = (args,)
    g = (lambda x: f(x, *args))
    probe = x0 if x0 is not None else (bracket[0] if bracket is not None else 0.0)
    _scalar_check(g, float(probe), "root_scalar")
    meth = method.lower() if isinstance(method, str) else None
    if meth is None and bracket is None and x0 is not None and x1 is None:
        meth = method = "newton"        # SciPy would take newton with derivatives given
    call = g
    if meth in ("newton", "halley") and not callable(fprime):
        d = _Derivatives(g, 2 if meth == "halley" else 1, jit)
        call = (lambda x: d(x, 0))
        fprime = (lambda x: d(x, 1))
        if meth == "halley" and not callable(fprime2):
            fprime2 = (lambda x: d(x, 2))
    return _so.root_scalar(call, method=method, bracket=bracket, fprime=fprime,
                           fprime2=fprime2, x0=x0, x1=x1, xtol=xtol, rtol=rtol,
                           maxiter=maxiter, options=options)
