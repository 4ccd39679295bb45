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

from . import arithmetic as ar
from ._define import def_unary, def_zero

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
