"""Special functions (SciPy's ``scipy.special`` and their kin): gammaln, digamma, polygamma,
erf, erfc, erfinv, erfcinv, expit, logit, log_expit, ndtr, ndtri, log_ndtr, gamma, xlogy,
xlog1py, logaddexp, logaddexp2, logsumexp; and vector_norm, the 2-norm with the subgradient 0
at 0 (what np.linalg.norm builds on).

Elementwise ones come from the derivative tables of ``_define`` (``def_unary``/``def_binary``);
rules of the others: ``*_jvp(primals, tangents, **params)``. All are NaN-safe: a -inf entry of
logsumexp gets weight 0, xlogy(0, y) has derivative 0 in y, the norm's derivative at 0 is 0.
"""
import math

import numpy as np
from scipy import special as sp

from ..core import Primitive, ShapedArray, bind, get_aval
from . import arithmetic as ar
from . import elementwise as el
from . import reductions as red
from . import _series as ser
from ._define import (axes_batch, def_binary, def_unary, elementwise_abstract, elementwise_batch,
                      unary_taylor)
from ._sparsity import elementwise_sparsity, reduction_sparsity

mul, div, add, sub, neg, exp = ar.mul, ar.div, ar.add, ar.sub, ar.neg, el.exp
_SQRT_PI, _SQRT_2PI, _LN2 = math.sqrt(math.pi), math.sqrt(2 * math.pi), math.log(2.0)


def _plain(ufunc):
    """A SciPy ufunc as a plain function (generated code calls a primitive's implementation by
    name; it would look a ufunc up in NumPy's namespace)."""
    def impl(*args):
        return ufunc(*args)
    impl.__name__ = ufunc.__name__
    return impl


def _gauss(x):
    return exp(mul(mul(x, x), -0.5))


# -- gamma family ---------------------------------------------------------------------------------
polygamma_p = Primitive("polygamma")
polygamma_p.impl = lambda x, *, n: sp.polygamma(n, x)
polygamma_p.abstract_eval = elementwise_abstract(lambda x, *, n: sp.polygamma(n, x))


def polygamma(x, *, n):
    """The n-th derivative of digamma, elementwise in ``x`` (``n`` a static int)."""
    return bind(polygamma_p, x, n=int(n))


def polygamma_jvp(primals, tangents, *, n):
    (x,), (x_dot,) = primals, tangents
    return polygamma(x, n=n), mul(x_dot, polygamma(x, n=n + 1))


polygamma_p.jvp = polygamma_jvp
polygamma_p.batch = elementwise_batch(polygamma_p)
polygamma_p.deriv_class = ("nonlinear",)


def _polygamma_coeffs(x, first, count):
    """``[polygamma(first + m, x) / m! for m < count]`` (``first = -1``: starts at gammaln)."""
    return [gammaln(x) if first + m < 0 else
            ser.scale(polygamma(x, n=first + m), 1.0 / ser.factorial(m)) for m in range(count)]


def polygamma_taylor(primals, series, *, n):
    (x,), (s,) = primals, series
    y = polygamma(x, n=n)
    a = ser.full(x, s)
    f = [y] + _polygamma_coeffs(x, n, len(a))[1:]
    return y, ser.finish(y, ser.compose(f, a)[1:])


polygamma_p.taylor = polygamma_taylor
polygamma_p.sparsity = elementwise_sparsity

digamma_p, digamma = def_unary("digamma", _plain(sp.digamma),
                               deriv=lambda x, y: polygamma(x, n=1))
gammaln_p, gammaln = def_unary("gammaln", _plain(sp.gammaln), deriv=lambda x, y: digamma(x))
gamma_p, gamma = def_unary("gamma", _plain(sp.gamma), deriv=lambda x, y: mul(y, digamma(x)))

# -- error function and the normal distribution ---------------------------------------------------
erf_p, erf = def_unary("erf", _plain(sp.erf),
                       deriv=lambda x, y: mul(exp(neg(mul(x, x))), 2 / _SQRT_PI))
erfc_p, erfc = def_unary("erfc", _plain(sp.erfc),
                         deriv=lambda x, y: mul(exp(neg(mul(x, x))), -2 / _SQRT_PI))
erfinv_p, erfinv = def_unary("erfinv", _plain(sp.erfinv),
                             deriv=lambda x, y: mul(exp(mul(y, y)), _SQRT_PI / 2), singular=True)
erfcinv_p, erfcinv = def_unary("erfcinv", _plain(sp.erfcinv),
                               deriv=lambda x, y: mul(exp(mul(y, y)), -_SQRT_PI / 2),
                               singular=True)
ndtr_p, ndtr = def_unary("ndtr", _plain(sp.ndtr),
                         deriv=lambda x, y: mul(_gauss(x), 1 / _SQRT_2PI))
ndtri_p, ndtri = def_unary("ndtri", _plain(sp.ndtri),
                           deriv=lambda x, y: mul(exp(mul(mul(y, y), 0.5)), _SQRT_2PI),
                           singular=True)
log_ndtr_p, log_ndtr = def_unary(
    "log_ndtr", _plain(sp.log_ndtr),
    deriv=lambda x, y: mul(exp(sub(mul(mul(x, x), -0.5), y)), 1 / _SQRT_2PI))

# -- logistic -------------------------------------------------------------------------------------
expit_p, expit = def_unary("expit", _plain(sp.expit), deriv=lambda x, y: mul(y, sub(1.0, y)))
logit_p, logit = def_unary("logit", _plain(sp.logit),
                           deriv=lambda x, y: div(1.0, mul(x, sub(1.0, x))), singular=True)
log_expit_p, log_expit = def_unary("log_expit", _plain(sp.log_expit),
                                   deriv=lambda x, y: expit(neg(x)))


# -- Taylor rules of the table above, ``series(a, y)`` -> full output series (see elementwise.py):
# polygamma values composed with the input series; Gaussians through the exp recurrence;
# inverse functions solved online (their derivative is a function of the output) -------------
def _gammaln_series(a, y):
    return ser.compose([y] + _polygamma_coeffs(a[0], -1, len(a))[1:], a)


def _gauss_series(a, c, half):
    """``c exp(-a^2)`` (``half``: ``c exp(-a^2 / 2)``)."""
    u = ser.scale_series(ser.square_series(a), -0.5 if half else -1.0)
    return ser.scale_series(ser.exp_series(u, exp(u[0])), c)


def _inverse_gauss_like(c, s):
    """``y' = c exp(s y^2) a'`` (erfinv, erfcinv, ndtri), solved online."""
    def series(a, y):
        u = [None] * len(a)

        def d_of(ys, d, m):
            u[m] = ser.scale(ser.conv(ys, ys, m), s)
            if m == 0:
                d_of.w = ser.exp_online(u, exp(u[0]))
            return ser.scale(d_of.w(m), c)
        return ser.ode_online(a, y, d_of, singular=True)
    return series


def _log_ndtr_series(a, y):
    # y' = exp(-a^2/2 - y) a' / sqrt(2 pi), solved online
    sq = ser.square_series(a)
    u = [None] * len(a)

    def d_of(ys, d, m):
        u[m] = ser.sub(ser.scale(sq[m], -0.5), ys[m])
        if m == 0:
            d_of.w = ser.exp_online(u, exp(u[0]))
        return ser.scale(d_of.w(m), 1 / _SQRT_2PI)
    return ser.ode_online(a, y, d_of)


def _expit_series(a, y):
    # y' = (y - y^2) a', solved online
    return ser.ode_online(a, y, lambda ys, d, m: ser.sub(ys[m], ser.conv(ys, ys, m)))


_TAYLOR = [
    (digamma_p, lambda a, y: ser.compose([y] + _polygamma_coeffs(a[0], 0, len(a))[1:], a),
     False),
    (gammaln_p, _gammaln_series, False),
    (gamma_p, lambda a, y: ser.exp_series(_gammaln_series(a, gammaln(a[0])), y), False),
    (erf_p, lambda a, y: ser.ode(a, _gauss_series(a, 2 / _SQRT_PI, False), y), False),
    (erfc_p, lambda a, y: ser.ode(a, _gauss_series(a, -2 / _SQRT_PI, False), y), False),
    (erfinv_p, _inverse_gauss_like(_SQRT_PI / 2, 1.0), True),
    (erfcinv_p, _inverse_gauss_like(-_SQRT_PI / 2, 1.0), True),
    (ndtr_p, lambda a, y: ser.ode(a, _gauss_series(a, 1 / _SQRT_2PI, True), y), False),
    (ndtri_p, _inverse_gauss_like(_SQRT_2PI, 0.5), True),
    (log_ndtr_p, _log_ndtr_series, False),
    (expit_p, _expit_series, False),
    (logit_p, lambda a, y: ser.ode(a, ser.reciprocal_series(
        ser.sub_series(a, ser.square_series(a)), safe=True), y, True), True),
    (log_expit_p, lambda a, y: ser.ode(a, _expit_series(ser.scale_series(a, -1.0),
                                                        expit(neg(a[0]))), y), False),
]
for _prim, _series_fn, _singular in _TAYLOR:
    _prim.taylor = unary_taylor(_prim, _series_fn, _singular)
del _prim, _series_fn, _singular


# -- x log y: the derivative in y is 0 where x == 0 (x log y is identically 0 there) -------------
def _x_over(x, y):
    x_zero = ar.eq(x, 0)
    return ar.select(x_zero, 0.0, div(x, ar.select(x_zero, 1.0, y)))


xlogy_p, xlogy = def_binary("xlogy", _plain(sp.xlogy),
                            deriv0=lambda x, y, out: el.log(y),
                            deriv1=lambda x, y, out: _x_over(x, y), singular=True)
xlog1py_p, xlog1py = def_binary("xlog1py", _plain(sp.xlog1py),
                                deriv0=lambda x, y, out: el.log1p(y),
                                deriv1=lambda x, y, out: _x_over(x, add(y, 1.0)), singular=True)


# -- logaddexp: the weights are a logistic function of x - y (1/2 where x == y == +-inf) ---------
def _logaddexp_weight(x, y, scale=1.0):
    d = sub(x, y)
    # only inf - inf is replaced: at finite ties x - y must stay traced (its second derivative)
    d = ar.select(ar.logical_and(ar.eq(x, y), el.isinf(x)), 0.0, d)
    return expit(d if scale == 1.0 else mul(d, scale))


logaddexp_p, logaddexp = def_binary(
    "logaddexp", np.logaddexp,
    deriv0=lambda x, y, out: _logaddexp_weight(x, y),
    deriv1=lambda x, y, out: _logaddexp_weight(y, x))
logaddexp2_p, logaddexp2 = def_binary(
    "logaddexp2", np.logaddexp2,
    deriv0=lambda x, y, out: _logaddexp_weight(x, y, _LN2),
    deriv1=lambda x, y, out: _logaddexp_weight(y, x, _LN2))


# -- logsumexp: softmax weights, -inf entries weigh 0 (also when every entry is -inf) ----------
def _logsumexp_impl(x, *, axes):
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return np.reshape(out, red._reduced_shape(np.shape(x), axes))


logsumexp_p = Primitive("logsumexp")
logsumexp_p.impl = _logsumexp_impl
logsumexp_p.abstract_eval = lambda x, *, axes: ShapedArray(
    red._reduced_shape(x.shape, axes), x.dtype if x.dtype.kind == "f" else np.float64)


def logsumexp(x, *, axes):
    """``log(sum(exp(x), axes))``, computed stably."""
    return bind(logsumexp_p, x, axes=tuple(axes))


def softmax_weights(x, y, axes):
    """``exp(x - y)`` with ``y = logsumexp(x, axes)`` broadcast back; 0 where y is -inf."""
    y = ar.select(el.isfinite(y), y, 0.0)
    return exp(sub(x, red.expand_reduced(y, get_aval(x).shape, axes)))


def logsumexp_jvp(primals, tangents, *, axes):
    (x,), (x_dot,) = primals, tangents
    y = logsumexp(x, axes=axes)
    return y, red.reduce_sum(mul(x_dot, softmax_weights(x, y, axes)), axes=axes)


logsumexp_p.jvp = logsumexp_jvp
logsumexp_p.batch = axes_batch(logsumexp_p)
logsumexp_p.deriv_class = ("nonlinear",)


def logsumexp_taylor(primals, series, *, axes):
    # y = y0 + log(sum(exp(x - y0))): the exp and log recurrences around the primal
    (x,), (s,) = primals, series
    y = logsumexp(x, axes=axes)
    y_safe = ar.select(el.isfinite(y), y, 0.0)
    u = ser.full(x, s)
    u[0] = sub(x, red.expand_reduced(y_safe, get_aval(x).shape, axes))
    e = ser.exp_series(u, exp(u[0]))
    total = [None if c is None else red.reduce_sum(c, axes=axes) for c in e]
    return y, ser.finish(y, ser.log_series(total, y)[1:])


logsumexp_p.taylor = logsumexp_taylor
logsumexp_p.sparsity = reduction_sparsity

# -- vector_norm: sqrt(sum(x**2)) with the subgradient 0 at x = 0 ----------------------------------
vector_norm_p = Primitive("vector_norm")
vector_norm_p.impl = lambda x, *, axes: np.sqrt(np.sum(x * x, axis=axes))
vector_norm_p.abstract_eval = lambda x, *, axes: ShapedArray(
    red._reduced_shape(x.shape, axes), x.dtype if x.dtype.kind == "f" else np.float64)


def vector_norm(x, *, axes):
    """The 2-norm of real ``x`` over ``axes`` (a tuple of non-negative ints; the reduced axes
    are removed). Its derivative ``x / norm`` is taken as 0 where the norm is 0, so gradients
    of norms (and of distances, std, ...) are finite everywhere."""
    return bind(vector_norm_p, x, axes=tuple(axes))


def vector_norm_jvp(primals, tangents, *, axes):
    (x,), (x_dot,) = primals, tangents
    y = vector_norm(x, axes=axes)
    w = ar.div_or_zero(x, red.expand_reduced(y, get_aval(x).shape, axes))
    return y, red.reduce_sum(mul(x_dot, w), axes=axes)


vector_norm_p.jvp = vector_norm_jvp
vector_norm_p.batch = axes_batch(vector_norm_p)
vector_norm_p.deriv_class = ("nonlinear",)


def vector_norm_taylor(primals, series, *, axes):
    (x,), (s,) = primals, series
    y = vector_norm(x, axes=axes)
    squares = ser.square_series(ser.full(x, s))
    total = [None if c is None else red.reduce_sum(c, axes=axes) for c in squares]
    total[0] = mul(y, y)
    return y, ser.finish(y, ser.sqrt_series(total, y, zero_at_zero=True)[1:])


vector_norm_p.taylor = vector_norm_taylor
vector_norm_p.sparsity = reduction_sparsity
