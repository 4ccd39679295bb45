"""Elementwise functions of one argument, generated from one derivative table.

Each line is ``def_unary(name, impl, deriv=lambda x, y: dy/dx)`` with ``y = impl(x)``; the
helper derives the JVP (``t * deriv(x, y)``), the shape rule and the sparsity class. Derivatives
are written with chainrule ops, so every derivative is differentiable again. ``singular=True``
marks derivatives that are infinite somewhere in the domain's closure (sqrt and log at 0, arcsin
at +-1): they are applied zero-safely (see arithmetic.safe_mul). Piecewise-constant functions
(sign, floor, ...) come from ``def_zero``.
"""
import math

import numpy as np

from . import _series as ser
from . import arithmetic as ar
from ._define import def_unary, def_zero, unary_taylor

mul, div, add, sub, neg = ar.mul, ar.div, ar.add, ar.sub, ar.neg
_LN2, _LN10 = math.log(2.0), math.log(10.0)

exp_p, exp = def_unary("exp", np.exp, deriv=lambda x, y: y)
exp2_p, exp2 = def_unary("exp2", np.exp2, deriv=lambda x, y: mul(y, _LN2))
expm1_p, expm1 = def_unary("expm1", np.expm1, deriv=lambda x, y: add(y, 1.0))
log_p, log = def_unary("log", np.log, deriv=lambda x, y: div(1.0, x), singular=True)
log2_p, log2 = def_unary("log2", np.log2, deriv=lambda x, y: div(1.0 / _LN2, x), singular=True)
log10_p, log10 = def_unary("log10", np.log10, deriv=lambda x, y: div(1.0 / _LN10, x),
                           singular=True)
log1p_p, log1p = def_unary("log1p", np.log1p, deriv=lambda x, y: div(1.0, add(x, 1.0)),
                           singular=True)
sqrt_p, sqrt = def_unary("sqrt", np.sqrt, deriv=lambda x, y: div(0.5, y), singular=True)
cbrt_p, cbrt = def_unary("cbrt", np.cbrt, deriv=lambda x, y: div(1.0 / 3.0, mul(y, y)),
                         singular=True)
square_p, square = def_unary("square", np.square, deriv=lambda x, y: mul(2.0, x))
reciprocal_p, reciprocal = def_unary("reciprocal", np.reciprocal,
                                     deriv=lambda x, y: neg(mul(y, y)), singular=True)
sin_p, sin = def_unary("sin", np.sin, deriv=lambda x, y: cos(x))
cos_p, cos = def_unary("cos", np.cos, deriv=lambda x, y: neg(sin(x)))
tan_p, tan = def_unary("tan", np.tan, deriv=lambda x, y: add(1.0, mul(y, y)))
arcsin_p, arcsin = def_unary("arcsin", np.arcsin,
                             deriv=lambda x, y: div(1.0, sqrt(sub(1.0, mul(x, x)))),
                             singular=True)
arccos_p, arccos = def_unary("arccos", np.arccos,
                             deriv=lambda x, y: div(-1.0, sqrt(sub(1.0, mul(x, x)))),
                             singular=True)
arctan_p, arctan = def_unary("arctan", np.arctan, deriv=lambda x, y: div(1.0, add(1.0, mul(x, x))))
sinh_p, sinh = def_unary("sinh", np.sinh, deriv=lambda x, y: cosh(x))
cosh_p, cosh = def_unary("cosh", np.cosh, deriv=lambda x, y: sinh(x))
tanh_p, tanh = def_unary("tanh", np.tanh, deriv=lambda x, y: sub(1.0, mul(y, y)))
arcsinh_p, arcsinh = def_unary("arcsinh", np.arcsinh,
                               deriv=lambda x, y: div(1.0, sqrt(add(mul(x, x), 1.0))))
arccosh_p, arccosh = def_unary("arccosh", np.arccosh,
                               deriv=lambda x, y: div(1.0, sqrt(sub(mul(x, x), 1.0))),
                               singular=True)
arctanh_p, arctanh = def_unary("arctanh", np.arctanh,
                               deriv=lambda x, y: div(1.0, sub(1.0, mul(x, x))), singular=True)
# |x|: the subgradient 0 at 0 (sign(0) = 0)
abs_p, abs = def_unary("abs", np.abs, deriv=lambda x, y: sign(x))
deg2rad_p, deg2rad = def_unary("deg2rad", np.deg2rad, deriv=lambda x, y: math.pi / 180.0)
rad2deg_p, rad2deg = def_unary("rad2deg", np.rad2deg, deriv=lambda x, y: 180.0 / math.pi)

sign_p, sign = def_zero("sign", np.sign)
floor_p, floor = def_zero("floor", np.floor)
ceil_p, ceil = def_zero("ceil", np.ceil)
trunc_p, trunc = def_zero("trunc", np.trunc)
rint_p, rint = def_zero("rint", np.rint)
round_p, round = def_zero("round", lambda x, *, decimals: np.round(x, decimals))
signbit_p, signbit = def_zero("signbit", np.signbit)
spacing_p, spacing = def_zero("spacing", np.spacing)
nextafter_p, nextafter = def_zero("nextafter", np.nextafter, 2)
isfinite_p, isfinite = def_zero("isfinite", np.isfinite)
isnan_p, isnan = def_zero("isnan", np.isnan)
isinf_p, isinf = def_zero("isinf", np.isinf)


# -- Taylor rules: direct and joint recurrences of ops/_series.py, ``series(a, y)`` -> the full
# output series from the input's ``a`` and the primal output ``y`` (faster than the derivation
# from deriv that def_unary gives every line above, and joint where deriv is transcendental) --
def _with_primal(y, cs):
    return [y] + cs[1:]


def _linear_scale(a, y, c):
    return [y] + [ser.scale(v, c) for v in a[1:]]


def _inverse_sqrt_of(u):
    """``u ** -1/2`` for a series ``u``."""
    return ser.pow_series(u, -0.5, div(1.0, sqrt(u[0])))


def _one_minus_square(a):
    return ser.shift(ser.scale_series(ser.square_series(a), -1.0), 1.0)


def _tan_like(sign):
    """tan (``y' = (1 + y^2) a'``) and tanh (``y' = (1 - y^2) a'``), solved online."""
    def series(a, y):
        def d_of(ys, d, m):
            if m == 0:
                return add(1.0, ser.scale(mul(y, y), sign))
            return ser.scale(ser.conv(ys, ys, m), sign)
        return ser.ode_online(a, y, d_of)
    return series


def _abs_series(a, y):
    s = sign(a[0])
    return [y] + [ser.mul(v, s) for v in a[1:]]


_TAYLOR = [
    (exp_p, lambda a, y: ser.exp_series(a, y), False),
    (exp2_p, lambda a, y: ser.exp_series(ser.scale_series(a, _LN2), y), False),
    (expm1_p, lambda a, y: _with_primal(y, ser.exp_series(a, add(y, 1.0))), False),
    (log_p, lambda a, y: ser.log_series(a, y), True),
    (log2_p, lambda a, y: _linear_scale(ser.log_series(a, y), y, 1.0 / _LN2), True),
    (log10_p, lambda a, y: _linear_scale(ser.log_series(a, y), y, 1.0 / _LN10), True),
    (log1p_p, lambda a, y: ser.log_series(ser.shift(a, 1.0), y), True),
    (sqrt_p, lambda a, y: ar.pow_series_at_any_base(a[0], a, 0.5, y, ser.sqrt_series(a, y)),
     True),
    (cbrt_p, lambda a, y: ar.pow_series_at_any_base(a[0], a, 1.0 / 3.0, y), True),
    (square_p, lambda a, y: ser.square_series(a, y), False),
    (reciprocal_p, lambda a, y: ser.reciprocal_series(a, y, safe=True), True),
    (sin_p, lambda a, y: ser.sin_cos_series(a, y, cos(a[0]))[0], False),
    (cos_p, lambda a, y: ser.sin_cos_series(a, sin(a[0]), y)[1], False),
    (tan_p, _tan_like(1.0), False),
    (arcsin_p, lambda a, y: ser.ode(a, _inverse_sqrt_of(_one_minus_square(a)), y, True), True),
    (arccos_p, lambda a, y: ser.ode(a, ser.scale_series(
        _inverse_sqrt_of(_one_minus_square(a)), -1.0), y, True), True),
    (arctan_p, lambda a, y: ser.ode(a, ser.reciprocal_series(
        ser.shift(ser.square_series(a), 1.0)), y), False),
    (sinh_p, lambda a, y: ser.sin_cos_series(a, y, cosh(a[0]), hyperbolic=True)[0], False),
    (cosh_p, lambda a, y: ser.sin_cos_series(a, sinh(a[0]), y, hyperbolic=True)[1], False),
    (tanh_p, _tan_like(-1.0), False),
    (arcsinh_p, lambda a, y: ser.ode(a, _inverse_sqrt_of(
        ser.shift(ser.square_series(a), 1.0)), y), False),
    (arccosh_p, lambda a, y: ser.ode(a, _inverse_sqrt_of(
        ser.shift(ser.square_series(a), -1.0)), y, True), True),
    (arctanh_p, lambda a, y: ser.ode(a, ser.reciprocal_series(_one_minus_square(a), safe=True),
                                     y, True), True),
    (abs_p, _abs_series, False),    # the local linear map sign(x0) x, 0 at 0
    (deg2rad_p, lambda a, y: _linear_scale(a, y, math.pi / 180.0), False),
    (rad2deg_p, lambda a, y: _linear_scale(a, y, 180.0 / math.pi), False),
]
for _prim, _series_fn, _singular in _TAYLOR:
    _prim.taylor = unary_taylor(_prim, _series_fn, _singular)
del _prim, _series_fn, _singular
