"""Arithmetic: add, sub, mul, div, neg, pow, maximum, minimum, select (where), comparisons.

Elementwise binary primitives broadcast as NumPy does. Their rules:
    *_jvp(primals, tangents) -> (y, y_dot)      tangents may be Zero
    *_transpose(ct, x, y)    -> (x_bar, y_bar)  UndefPrimal marks the linear argument;
                                                cotangents are summed back to the input shape
                                                (unbroadcast)
"""
import numpy as np

from ..core import Primitive, Tracer, Zero, bind, get_aval, is_undefined, tangent_aval
from . import reductions as red
from . import shape as sh
from ._define import def_zero, elementwise_abstract


def _binary(name, impl, linear_in=()):
    prim = Primitive(name, linear_in=linear_in)
    prim.impl = impl
    prim.abstract_eval = elementwise_abstract(impl)
    return prim


def broadcast_tangent(t, shape):
    """A tangent of an input, broadcast to the output ``shape`` (Zero stays Zero)."""
    if type(t) is Zero:
        return Zero(t.aval.update(shape=shape))
    return t if get_aval(t).shape == shape else sh.broadcast_to(t, shape)


def unbroadcast(ct, aval):
    return sh.unbroadcast(ct, aval)


# -- add, sub, neg: linear ---------------------------------------------------------------------
add_p = _binary("add", np.add, linear_in=(0, 1))


def add(x, y):
    return bind(add_p, x, y)


def add_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = add(x, y)
    shape = get_aval(out).shape
    if type(x_dot) is Zero:
        return out, broadcast_tangent(y_dot, shape)
    if type(y_dot) is Zero:
        return out, broadcast_tangent(x_dot, shape)
    return out, add(x_dot, y_dot)


def add_transpose(ct, x, y):
    return (unbroadcast(ct, x.aval) if is_undefined(x) else None,
            unbroadcast(ct, y.aval) if is_undefined(y) else None)


add_p.jvp, add_p.transpose = add_jvp, add_transpose
add_p.deriv_class = ("linear", "linear")

neg_p = Primitive("neg", linear_in=(0,))
neg_p.impl = np.negative
neg_p.abstract_eval = elementwise_abstract(np.negative)


def neg(x):
    return bind(neg_p, x)


neg_p.jvp = lambda primals, tangents: (neg(primals[0]), neg(tangents[0]))
neg_p.transpose = lambda ct, x: (neg(ct),)
neg_p.deriv_class = ("linear",)

sub_p = _binary("sub", np.subtract, linear_in=(0, 1))


def sub(x, y):
    return bind(sub_p, x, y)


def sub_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = sub(x, y)
    shape = get_aval(out).shape
    if type(x_dot) is Zero:
        return out, neg(broadcast_tangent(y_dot, shape))
    if type(y_dot) is Zero:
        return out, broadcast_tangent(x_dot, shape)
    return out, sub(x_dot, y_dot)


def sub_transpose(ct, x, y):
    return (unbroadcast(ct, x.aval) if is_undefined(x) else None,
            unbroadcast(neg(ct), y.aval) if is_undefined(y) else None)


sub_p.jvp, sub_p.transpose = sub_jvp, sub_transpose
sub_p.deriv_class = ("linear", "linear")

# -- mul, div: bilinear / linear in the numerator -----------------------------------------------
mul_p = _binary("mul", np.multiply, linear_in=(0, 1))


def mul(x, y):
    return bind(mul_p, x, y)


def mul_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = mul(x, y)
    if type(x_dot) is Zero:
        return out, broadcast_tangent(mul(x, y_dot), get_aval(out).shape)
    if type(y_dot) is Zero:
        return out, broadcast_tangent(mul(x_dot, y), get_aval(out).shape)
    return out, add(mul(x_dot, y), mul(x, y_dot))


def mul_transpose(ct, x, y):
    if is_undefined(x):
        return unbroadcast(mul(ct, y), x.aval), None
    return None, unbroadcast(mul(x, ct), y.aval)


mul_p.jvp, mul_p.transpose = mul_jvp, mul_transpose
mul_p.deriv_class = ("linear", "linear", "cross")

div_p = _binary("div", np.true_divide, linear_in=(0,))


def div(x, y):
    return bind(div_p, x, y)


def div_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = div(x, y)
    shape = get_aval(out).shape
    t = Zero(tangent_aval(get_aval(out)))
    if type(x_dot) is not Zero:
        t = broadcast_tangent(div(x_dot, y), shape)
    if type(y_dot) is not Zero:
        t_y = broadcast_tangent(mul(y_dot, neg(div(out, y))), shape)
        t = t_y if type(t) is Zero else add(t, t_y)
    return out, t


def div_transpose(ct, x, y):
    return unbroadcast(div(ct, y), x.aval), None


div_p.jvp, div_p.transpose = div_jvp, div_transpose
div_p.deriv_class = ("linear", "nonlinear", "cross")


# -- pow -------------------------------------------------------------------------------------------
def _is_const_zero(y):
    return not isinstance(y, Tracer) and np.ndim(y) == 0 and y == 0


pow_p = _binary("pow", np.power)


def pow(x, y):
    return bind(pow_p, x, y)


def pow_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = pow(x, y)
    shape = get_aval(out).shape
    t = Zero(tangent_aval(get_aval(out)))
    if type(x_dot) is not Zero and not _is_const_zero(y):
        t = broadcast_tangent(mul(x_dot, mul(y, pow(x, sub(y, 1)))), shape)
    if type(y_dot) is not Zero:
        # d/dy x**y = log(x) x**y, taken as 0 where x == 0 (the limit for y > 0)
        x_zero = eq(x, 0)
        log_x = select(x_zero, 0.0, el.log(select(x_zero, 1.0, x)))
        t_y = broadcast_tangent(mul(y_dot, mul(log_x, out)), shape)
        t = t_y if type(t) is Zero else add(t, t_y)
    return out, t


pow_p.jvp = pow_jvp
pow_p.deriv_class = ("nonlinear", "nonlinear", "cross")

# -- maximum, minimum: ties share the tangent equally (the mean of the one-sided derivatives) ---
maximum_p = _binary("maximum", np.maximum)
minimum_p = _binary("minimum", np.minimum)


def maximum(x, y):
    return bind(maximum_p, x, y)


def minimum(x, y):
    return bind(minimum_p, x, y)


def _minmax_jvp(prim, pick):
    def jvp(primals, tangents):
        (x, y), (x_dot, y_dot) = primals, tangents
        out = bind(prim, x, y)
        shape = get_aval(out).shape
        w_x = add(mul(pick(x, y), 1.0), mul(eq(x, y), 0.5))   # weight of x's tangent
        t = Zero(tangent_aval(get_aval(out)))
        if type(x_dot) is not Zero:
            t = broadcast_tangent(mul(x_dot, w_x), shape)
        if type(y_dot) is not Zero:
            t_y = broadcast_tangent(mul(y_dot, sub(1.0, w_x)), shape)
            t = t_y if type(t) is Zero else add(t, t_y)
        return out, t
    jvp.__name__ = f"{prim.name}_jvp"
    return jvp


maximum_p.jvp = _minmax_jvp(maximum_p, lambda x, y: gt(x, y))
minimum_p.jvp = _minmax_jvp(minimum_p, lambda x, y: lt(x, y))
maximum_p.deriv_class = minimum_p.deriv_class = ("nonlinear", "nonlinear")

# -- select (np.where): linear in both branches ----------------------------------------------------
select_p = Primitive("select", linear_in=(1, 2))
select_p.impl = np.where
select_p.abstract_eval = elementwise_abstract(np.where)


def select(cond, x, y):
    return bind(select_p, cond, x, y)


def select_jvp(primals, tangents):
    (c, x, y), (_, x_dot, y_dot) = primals, tangents
    out = select(c, x, y)
    shape = get_aval(out).shape
    if type(x_dot) is Zero:
        x_dot = 0.0
    if type(y_dot) is Zero:
        y_dot = 0.0
    return out, broadcast_tangent(select(c, x_dot, y_dot), shape)


def select_transpose(ct, c, x, y):
    return (None,
            unbroadcast(select(c, ct, 0.0), x.aval) if is_undefined(x) else None,
            unbroadcast(select(c, 0.0, ct), y.aval) if is_undefined(y) else None)


select_p.jvp, select_p.transpose = select_jvp, select_transpose
select_p.deriv_class = ("zero", "linear", "linear")

# -- piecewise constant: comparisons and logic return plain booleans in eager mode ---------------
lt_p, lt = def_zero("lt", np.less, 2)
le_p, le = def_zero("le", np.less_equal, 2)
gt_p, gt = def_zero("gt", np.greater, 2)
ge_p, ge = def_zero("ge", np.greater_equal, 2)
eq_p, eq = def_zero("eq", np.equal, 2)
ne_p, ne = def_zero("ne", np.not_equal, 2)
logical_and_p, logical_and = def_zero("logical_and", np.logical_and, 2)
logical_or_p, logical_or = def_zero("logical_or", np.logical_or, 2)
logical_xor_p, logical_xor = def_zero("logical_xor", np.logical_xor, 2)
logical_not_p, logical_not = def_zero("logical_not", np.logical_not, 1)
floor_divide_p, floor_divide = def_zero("floor_divide", np.floor_divide, 2)

from . import elementwise as el  # noqa: E402  (elementwise builds on the ops above)
