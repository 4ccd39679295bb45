"""vectorize: a Python function of scalars applied to each element of same-shaped arrays, as
one primitive, so that Python control flow on the values (``if a > 0``) runs element by
element when the program runs: under jit (the staged program calls it), vmap (the batch is
more elements) and every derivative.

    vectorize(fun, args, *, nout, dtypes)   args of one shape -> nout arrays of that shape

    vectorize_jvp:     y_j = fun_j(x), y_dot_j = sum_i vectorize(d fun_j / d x_i)(x) x_dot_i
    vectorize_taylor:  each element's series by Taylor mode on ``fun`` at that element
    batching:          the batch is more elements (unbatched arguments broadcast to it)
    sparsity:          elementwise; every pair of arguments may couple at second order

The derivative and series functions are themselves scalar functions (``_Derivative``,
``_Series``) applied with ``vectorize``, so every rule is differentiable again. They run
chainrule's Taylor interpreter on one element at a time, through the core's hook table.
"""
import numpy as np

from ..core import Primitive, ShapedArray, Zero, bind, dispatch, get_aval, tangent_aval
from ..core.errors import InvalidArgumentError
from . import arithmetic as ar
from ._sparsity import elementwise_sparsity
from .linalg import stacked_batch

vectorize_p = Primitive("vectorize", multiple_results=True)


def _results(fun, xs, nout):
    out = fun(*xs)
    out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    if len(out) != nout:
        raise InvalidArgumentError(
            f"vectorize: the function returned {len(out)} result(s) where {nout} were "
            "expected; pass otypes= with one type per result")
    return out


def _vectorize_impl(*args, fun, nout, dtypes):
    shape = args[0].shape
    outs = [np.empty(shape, dt) for dt in dtypes]
    for idx in np.ndindex(*shape):
        for o, v in zip(outs, _results(fun, [a[idx] for a in args], nout)):
            o[idx] = v
    return outs


vectorize_p.impl = _vectorize_impl
vectorize_p.abstract_eval = lambda *avals, fun, nout, dtypes: [
    ShapedArray(avals[0].shape, dt) for dt in dtypes]


def vectorize(fun, args, *, nout=1, dtypes=(np.dtype(np.float64),)):
    """``fun`` (scalars -> a scalar, or a tuple of ``nout``) applied elementwise to ``args``
    (a list of arrays of one shape ``s``): a list of ``nout`` arrays of shape ``s`` and
    ``dtypes``."""
    return bind(vectorize_p, *args, fun=fun, nout=nout, dtypes=tuple(dtypes))


def _jet(fun, x0, series, order, nout):
    """The Taylor coefficients 1..order of each result of ``fun`` at the scalars ``x0``."""
    _, out_series = dispatch.hooks["jet"](lambda ins: list(_results(fun, ins, nout)),
                                          list(x0), series, order)
    return [[0.0] * order if s is None else [0.0 if type(c) is Zero else c for c in s]
            for s in out_series]


class _Derivative:
    """The scalar function ``x -> (d fun_j / d x_arg)_j`` of one element."""
    def __init__(self, fun, arg, nout):
        self.fun, self.arg, self.nout = fun, arg, nout

    def __call__(self, *xs):
        series = [[1.0] if i == self.arg else None for i in range(len(xs))]
        return tuple(s[0] for s in _jet(self.fun, xs, series, 1, self.nout))

    def _key(self):
        return (self.fun, self.arg, self.nout)

    def __eq__(self, other):
        return type(other) is _Derivative and other._key() == self._key()

    def __hash__(self):
        return hash(self._key())


class _Series:
    """The scalar function ``(x0 per argument, then the order coefficients of each argument
    in live) -> every result's coefficients 1..order``, flat."""
    def __init__(self, fun, nargs, live, order, nout):
        self.fun, self.nargs, self.live, self.order, self.nout = fun, nargs, live, order, nout

    def __call__(self, *xs):
        k, series = self.order, [None] * self.nargs
        for n, i in enumerate(self.live):
            series[i] = list(xs[self.nargs + n * k:self.nargs + (n + 1) * k])
        coeffs = _jet(self.fun, xs[:self.nargs], series, k, self.nout)
        return tuple(c for s in coeffs for c in s)

    def _key(self):
        return (self.fun, self.nargs, self.live, self.order, self.nout)

    def __eq__(self, other):
        return type(other) is _Series and other._key() == self._key()

    def __hash__(self):
        return hash(self._key())


def _differentiable(dtype):
    return np.dtype(dtype).kind in "fc"


def vectorize_jvp(primals, tangents, *, fun, nout, dtypes):
    outs = vectorize(fun, primals, nout=nout, dtypes=dtypes)
    dots = [None] * nout
    for i, t in enumerate(tangents):
        if type(t) is Zero:
            continue
        d = vectorize(_Derivative(fun, i, nout), primals, nout=nout, dtypes=dtypes)
        for j in range(nout):
            if _differentiable(dtypes[j]):
                term = ar.mul(d[j], t)
                dots[j] = term if dots[j] is None else ar.add(dots[j], term)
    return outs, [Zero(tangent_aval(get_aval(o))) if d is None else d
                  for o, d in zip(outs, dots)]


def vectorize_taylor(primals, series, *, fun, nout, dtypes):
    outs = vectorize(fun, primals, nout=nout, dtypes=dtypes)
    order = len(next(s for s in series if s is not None))
    live = tuple(i for i, s in enumerate(series) if s is not None)
    coeffs = [ar.mul(primals[i], 0.0) if type(c) is Zero else c
              for i in live for c in series[i]]
    flat = vectorize(_Series(fun, len(primals), live, order, nout), list(primals) + coeffs,
                     nout=nout * order, dtypes=[dt for dt in dtypes for _ in range(order)])
    return outs, [flat[j * order:(j + 1) * order] if _differentiable(dtypes[j])
                  else [Zero(tangent_aval(get_aval(outs[j])))] * order for j in range(nout)]


def vectorize_sparsity(out_aval, avals, values, **params):
    return [elementwise_sparsity(o, avals, values) for o in out_aval]


vectorize_p.jvp = vectorize_jvp
vectorize_p.taylor = vectorize_taylor
vectorize_p.batch = stacked_batch(vectorize_p)     # the batch is more elements
vectorize_p.sparsity = vectorize_sparsity
vectorize_p.deriv_class = ("nonlinear", "cross")
