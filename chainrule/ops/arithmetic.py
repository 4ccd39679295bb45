"""Arithmetic: add, sub, mul, div, neg, pow, maximum/minimum, fmax/fmin, arctan2, hypot, select
(where), comparisons, and the zero-safe products safe_mul/safe_div of NaN-safe derivatives.

Elementwise binary primitives broadcast as NumPy does. Their rules:
    *_jvp(primals, tangents) -> (y, y_dot)      tangents may be Zero
    *_transpose(ct, x, y)    -> (x_bar, y_bar)  UndefPrimal marks the linear argument;
                                                cotangents are summed back to the input shape
                                                (unbroadcast)
NaN-safety: a derivative factor that may be infinite (1/y at y = 0, sqrt'(0)) is applied with
safe_mul/safe_div, whose result is 0 wherever the tangent is 0, so the branch np.where did not
take (zero cotangent) contributes 0, not 0 * inf = NaN.
"""
import numpy as np

from ..core import (Primitive, Tracer, Zero, add_any_p, bind, carries_derivative,
                    check_ambiguous, get_aval, is_undefined, may_hold_zero, strict_products,
                    tangent_aval)
from . import _series as ser
from . import shape as sh
from ._sparsity import choice_sparsity, elementwise_sparsity, select_sparsity
from ._define import (def_binary, def_zero, elementwise_abstract, elementwise_batch,
                      linear_taylor, local_linear_taylor, quiet)


def _binary(name, impl, linear_in=()):
    prim = Primitive(name, linear_in=linear_in)
    prim.impl = impl
    prim.abstract_eval = elementwise_abstract(impl)
    prim.batch = elementwise_batch(prim)
    prim.sparsity = elementwise_sparsity
    return prim


# add, sub, mul and div hand float64 scalars (what NumPy's ufuncs return for 0-d operands) to
# Python's operators: NumPy's scalar arithmetic computes the same IEEE result, of the same type,
# with the same floating-point error handling, about ten times faster than a ufunc call (the
# per-operation cost of scalar loops). At least one operand is a np.float64, so a Python float
# never decides the type. Each writes the test out: a helper call would cost a third of the gain.
_F64 = np.float64
_F64_PEERS = frozenset((np.float64, float))


def broadcast_tangent(t, shape):
    """A tangent of an input, broadcast to the output ``shape`` (Zero stays Zero)."""
    if type(t) is Zero:
        return Zero(t.aval.update(shape=shape))
    return t if get_aval(t).shape == shape else sh.broadcast_to(t, shape)


unbroadcast = sh.unbroadcast


def sum_tangents(out, *terms):
    """The sum of the non-None tangent terms, broadcast to ``out``'s shape (Zero if none)."""
    shape = get_aval(out).shape
    t = None
    for term in terms:
        if term is not None:
            term = broadcast_tangent(term, shape)
            t = term if t is None else add(t, term)
    return Zero(tangent_aval(get_aval(out))) if t is None else t


# -- add, sub, neg: linear ---------------------------------------------------------------------
add_p = _binary("add", np.add, linear_in=(0, 1))


def add(x, y):
    if type(x) in _F64_PEERS and type(y) in _F64_PEERS and (type(x) is _F64
                                                            or type(y) is _F64):
        return x + y
    return bind(add_p, x, y)


# add, sub, mul and div are exactly their primitive but for float64 scalars: ``primitive`` lets
# the Tensor API bind it directly
add.primitive = add_p


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


def add_taylor(primals, series):
    (x, y), (sx, sy) = primals, series
    out = add(x, y)
    k = ser.order_of(series)
    a, b = ser.full(x, sx, k), ser.full(y, sy, k)
    return out, ser.finish(out, [ser.add(p, q) for p, q in zip(a[1:], b[1:])])


add_p.taylor = add_taylor
add_any_p.taylor = linear_taylor(add_any_p)    # the core's tangent accumulation

neg_p = Primitive("neg", linear_in=(0,))
neg_p.impl = np.negative
neg_p.abstract_eval = elementwise_abstract(np.negative)
neg_p.batch = elementwise_batch(neg_p)


def neg(x):
    return bind(neg_p, x)


neg_p.jvp = lambda primals, tangents: (neg(primals[0]), neg(tangents[0]))
neg_p.transpose = lambda ct, x: (neg(ct),)
neg_p.deriv_class = ("linear",)
neg_p.sparsity = elementwise_sparsity


def neg_taylor(primals, series):
    out = neg(primals[0])
    return out, ser.finish(out, [ser.neg(c) for c in ser.full(primals[0], series[0])[1:]])


neg_p.taylor = neg_taylor

sub_p = _binary("sub", np.subtract, linear_in=(0, 1))


def sub(x, y):
    if type(x) in _F64_PEERS and type(y) in _F64_PEERS and (type(x) is _F64
                                                            or type(y) is _F64):
        return x - y
    return bind(sub_p, x, y)


sub.primitive = sub_p


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


def sub_taylor(primals, series):
    (x, y), (sx, sy) = primals, series
    out = sub(x, y)
    k = ser.order_of(series)
    a, b = ser.full(x, sx, k), ser.full(y, sy, k)
    return out, ser.finish(out, [ser.sub(p, q) for p, q in zip(a[1:], b[1:])])


sub_p.taylor = sub_taylor

# -- mul: bilinear ------------------------------------------------------------------------------
mul_p = _binary("mul", np.multiply, linear_in=(0, 1))


def mul(x, y):
    if type(x) in _F64_PEERS and type(y) in _F64_PEERS and (type(x) is _F64
                                                            or type(y) is _F64):
        return x * y
    return bind(mul_p, x, y)


mul.primitive = mul_p


def mul_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = mul(x, y)
    # a constant factor's zeros are structural (a 0/1 mask): the product is 0 there, also
    # where the tangent is infinite
    if type(x_dot) is Zero:
        scale = safe_mul if may_hold_zero(x) else mul
        return out, broadcast_tangent(scale(y_dot, x), get_aval(out).shape)
    if type(y_dot) is Zero:
        scale = safe_mul if may_hold_zero(y) else mul
        return out, broadcast_tangent(scale(x_dot, y), get_aval(out).shape)
    return out, add(mul(x_dot, y), mul(x, y_dot))


def mul_transpose(ct, x, y):
    if is_undefined(x):
        return unbroadcast(mul(ct, y), x.aval), None
    return None, unbroadcast(mul(x, ct), y.aval)


mul_p.jvp, mul_p.transpose = mul_jvp, mul_transpose
mul_p.deriv_class = ("linear", "linear", "cross")


def mul_taylor(primals, series):
    (x, y), (sx, sy) = primals, series
    out = mul(x, y)
    k = ser.order_of(series)
    a, b = ser.full(x, sx, k), ser.full(y, sy, k)
    return out, ser.finish(out, ser.mul_series(a, b, out)[1:])


mul_p.taylor = mul_taylor


# -- safe_mul, safe_div: t * c and t / c, but 0 wherever t == 0 (linear in t) -------------------
def _safe_mul_impl(t, c):
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.where((t == 0) | (c == 0), 0, np.multiply(t, c))
    return out[()] if out.ndim == 0 else out      # a scalar, as NumPy's ufuncs return


def _safe_div_impl(t, c):
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = np.where(t == 0, 0, np.true_divide(t, c))
    return out[()] if out.ndim == 0 else out


safe_mul_p = _binary("safe_mul", _safe_mul_impl, linear_in=(0,))
safe_div_p = _binary("safe_div", _safe_div_impl, linear_in=(0,))


def safe_mul(t, c):
    """``t * c`` with 0 wherever ``t == 0`` or ``c == 0``, even where the other factor is
    infinite or NaN. Linear in ``t`` (the tangent or cotangent)."""
    return bind(safe_mul_p, t, c)


def safe_div(t, c):
    """``t / c`` with 0 wherever ``t == 0``, even where ``c`` is 0 or NaN."""
    return bind(safe_div_p, t, c)


def tangent_scale(t, c):
    """A JVP rule's tangent ``t`` times a derivative factor ``c`` that may be infinite:
    zero-safe (``safe_mul``), or a plain product where the forward pass runs strict (no
    structural zero can be present: core.zeros.strict_products) and no outer derivative
    carries ``t`` (whose own products must stay zero-safe)."""
    if not strict_products():
        check_ambiguous(t, c)
    elif not carries_derivative(t):     # a value, or one staged or batched: plain
        return mul(t, c)
    return bind(safe_mul_p, t, c)


def tangent_divide(t, c):
    """``t / c`` for a JVP rule's tangent, zero-safe unless strict (see ``tangent_scale``)."""
    if not strict_products():
        check_ambiguous(t, c, divide=True)
    elif not carries_derivative(t):
        return div(t, c)
    return bind(safe_div_p, t, c)


def safe_mul_jvp(primals, tangents):
    (t, c), (t_dot, c_dot) = primals, tangents
    out = safe_mul(t, c)
    # both terms keep the tangent in the linear slot, and neither masks on the primal t, so
    # derivatives of every order flow through t also where t == 0
    t_term = None if type(t_dot) is Zero else safe_mul(t_dot, c)
    c_term = None if type(c_dot) is Zero else safe_mul(c_dot, t)
    return out, sum_tangents(out, t_term, c_term)


def safe_div_jvp(primals, tangents):
    (t, c), (t_dot, c_dot) = primals, tangents
    out = safe_div(t, c)
    t_term = None if type(t_dot) is Zero else safe_div(t_dot, c)
    # d(t / c) = -t c_dot / c**2, zero-safe in t and c_dot without masking on the primal t
    c_term = None if type(c_dot) is Zero else neg(safe_div(safe_mul(c_dot, t), mul(c, c)))
    return out, sum_tangents(out, t_term, c_term)


safe_mul_p.jvp = safe_mul_jvp
safe_mul_p.transpose = lambda ct, t, c: (unbroadcast(safe_mul(ct, c), t.aval), None)
# where no zero of the cotangent can come from an untaken branch, a mask or a cotangent seed,
# a zero is an outer derivative vanishing at this point, and 0 * inf is left to NumPy (NaN)
safe_mul_p.strict_transpose = lambda ct, t, c: (unbroadcast(mul(ct, c), t.aval), None)
safe_div_p.strict_transpose = lambda ct, t, c: (unbroadcast(div(ct, c), t.aval), None)
safe_mul_p.deriv_class = ("linear", "nonlinear", "cross")
safe_div_p.jvp = safe_div_jvp
safe_div_p.transpose = lambda ct, t, c: (unbroadcast(safe_div(ct, c), t.aval), None)
safe_div_p.deriv_class = ("linear", "nonlinear", "cross")


def safe_mul_taylor(primals, series):
    (t, c), (st, sc) = primals, series
    out = safe_mul(t, c)
    k = ser.order_of(series)
    a, b = ser.full(t, st, k), ser.full(c, sc, k)
    with quiet():
        return out, ser.finish(out, [ser.sconv(a, b, j) for j in range(1, k + 1)])


def safe_div_taylor(primals, series):
    (t, c), (st, sc) = primals, series
    out = safe_div(t, c)
    k = ser.order_of(series)
    with quiet():
        q = ser.div_series(ser.full(t, st, k), ser.full(c, sc, k), out, safe=True)
    return out, ser.finish(out, q[1:])


safe_mul_p.taylor, safe_div_p.taylor = safe_mul_taylor, safe_div_taylor


def div_or_zero(x, y):
    """``x / y`` where ``y != 0`` and 0 where ``y == 0``, with a finite derivative everywhere
    (the subgradient of norms at 0: ``div_or_zero(x, norm)`` is x / |x|, or 0 at 0)."""
    y_zero = eq(y, 0)
    return select(y_zero, 0.0, div(x, select(y_zero, 1.0, y)))


# -- div: linear in the numerator ------------------------------------------------------------------
div_p = _binary("div", np.true_divide, linear_in=(0,))


def div(x, y):
    if type(x) in _F64_PEERS and type(y) in _F64_PEERS and (type(x) is _F64
                                                            or type(y) is _F64):
        return x / y
    return bind(div_p, x, y)


div.primitive = div_p


def div_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = div(x, y)
    x_term = None if type(x_dot) is Zero else tangent_divide(x_dot, y)
    with quiet():
        y_term = None if type(y_dot) is Zero else tangent_scale(y_dot, neg(div(out, y)))
    return out, sum_tangents(out, x_term, y_term)


div_p.jvp = div_jvp
div_p.transpose = lambda ct, x, y: (unbroadcast(safe_div(ct, y), x.aval), None)
div_p.strict_transpose = lambda ct, x, y: (unbroadcast(div(ct, y), x.aval), None)
div_p.deriv_class = ("linear", "nonlinear", "cross")


def div_taylor(primals, series):
    # plain division: a select (np.where) that masks y == 0 takes the other branch's series,
    # so the zero-safe products of the JVP are not needed for NaN-free masked derivatives
    (x, y), (sx, sy) = primals, series
    out = div(x, y)
    k = ser.order_of(series)
    q = ser.div_series(ser.full(x, sx, k), ser.full(y, sy, k), out)
    return out, ser.finish(out, q[1:])


div_p.taylor = div_taylor


# -- pow -------------------------------------------------------------------------------------------
def _is_const_zero(y):
    return not isinstance(y, Tracer) and np.ndim(y) == 0 and y == 0


pow_p = _binary("pow", np.power)


def pow(x, y):
    return bind(pow_p, x, y)


def pow_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    out = pow(x, y)
    x_term = y_term = None
    if type(x_dot) is not Zero and not _is_const_zero(y):
        if type(y) in (int, float):
            # a Python exponent stays a weak scalar (float32 x keeps float32), and for
            # y = 1, 2, 3, ... the derivative y x**(y-1) is finite: no zero-safe product needed
            natural = y >= 1 and float(y).is_integer()
            scale = mul if natural else tangent_scale
            with quiet():
                x_term = scale(x_dot, mul(y, _power(x, y - 1) if natural else pow(x, y - 1)))
        else:
            with quiet():       # y x**(y-1) is 0 where y == 0, although 0**-1 is inf
                x_term = tangent_scale(x_dot, safe_mul(y, pow(x, sub(y, 1))))
    if type(y_dot) is not Zero:
        # d/dy x**y = log(x) x**y, taken as 0 where x == 0 (the limit for y > 0)
        x_zero = eq(x, 0)
        log_x = select(x_zero, 0.0, el.log(select(x_zero, 1.0, x)))
        y_term = tangent_scale(y_dot, mul(log_x, out))
    return out, sum_tangents(out, x_term, y_term)


def _power(x, n):
    """``x ** n`` for a natural number ``n`` inside derivative rules: ``integer_pow``."""
    n = int(n)
    return pow(x, 0) if n == 0 else x if n == 1 else integer_pow(x, n)


pow_p.jvp = pow_jvp
pow_p.deriv_class = ("nonlinear", "nonlinear", "cross")


def _small_natural(y):
    """A concrete exponent that is a small non-negative integer (exact at x = 0 by products)."""
    if type(y) is int or type(y) is float:
        n = float(y)
    elif isinstance(y, Tracer) or np.ndim(y) != 0 or not np.isrealobj(y):
        return None
    else:
        n = float(y)
    return int(n) if n.is_integer() and 0 <= n <= 64 else None


def pow_taylor(primals, series):
    (x, y), (sx, sy) = primals, series
    out = pow(x, y)
    k = ser.order_of(series)
    a = ser.full(x, sx, k)
    with quiet():
        if sy is None:
            n = _small_natural(y)
            ys = (ser.int_pow_series(a, n, out) if n is not None
                  else pow_series_at_any_base(x, a, y, out))
        else:   # x**y = exp(y log x), log x taken as 0 where x == 0 (as in the JVP)
            x_zero = eq(x, 0)
            log_x = select(x_zero, 0.0, el.log(select(x_zero, 1.0, x)))
            log_a = ser.constant(log_x, k) if sx is None else ser.log_series(a, log_x)
            ys = ser.exp_series(ser.mul_series(ser.full(y, sy, k), log_a), out)
    return out, ser.finish(out, ys[1:])


pow_p.taylor = pow_taylor


def pow_series_at_any_base(x, a, y, out, ys=None):
    """``a ** y`` for a constant exponent that is an array or not a small natural number: the
    recurrence (which divides by ``a_0``; or the coefficients ``ys`` a rule computed so), and
    where ``a_0 = 0`` Faa di Bruno's form, exact there (0 below the exponent, inf past a
    non-integer one, the binomial terms at integers)."""
    ys = ser.pow_series(a, y, out) if ys is None else ys
    if all(c is None for c in ys[1:]):
        return ys
    at_zero = eq(x, 0)
    composed = ser.pow_series_composed(a, y)
    return [ys[0]] + [c if c is None or z is None else select(at_zero, z, c)
                      for c, z in zip(ys[1:], composed[1:])]


# -- integer_pow: x**n for a natural n >= 2, the powers that derivative rules make ---------------
# User code's x**n stays NumPy's pow (same values as NumPy). Derivatives of powers are products:
# NumPy's pow costs about 30x more per element than a product for a negative base, and a product
# chain would differentiate by the product rule into several operations where this one
# primitive differentiates into one.
def _integer_pow_impl(x, *, n):
    if n > 4:
        return np.power(x, n)
    sq = x * x
    return sq if n == 2 else sq * x if n == 3 else sq * sq


integer_pow_p = Primitive("integer_pow")
integer_pow_p.impl = _integer_pow_impl
integer_pow_p.abstract_eval = elementwise_abstract(_integer_pow_impl)
integer_pow_p.batch = elementwise_batch(integer_pow_p)
integer_pow_p.sparsity = elementwise_sparsity
integer_pow_p.deriv_class = ("nonlinear",)


def integer_pow(x, n):
    return bind(integer_pow_p, x, n=int(n))


def integer_pow_jvp(primals, tangents, *, n):
    (x,), (x_dot,) = primals, tangents
    out = integer_pow(x, n)
    if type(x_dot) is Zero:
        return out, x_dot
    return out, mul(x_dot, mul(float(n), _power(x, n - 1)))


def integer_pow_taylor(primals, series, *, n):
    (x,), (sx,) = primals, series
    out = integer_pow(x, n)
    k = ser.order_of(series)
    return out, ser.finish(out, ser.int_pow_series(ser.full(x, sx, k), n, out)[1:])


integer_pow_p.jvp = integer_pow_jvp
integer_pow_p.taylor = integer_pow_taylor


# -- maximum, minimum, fmax, fmin: ties share the tangent equally --------------------------------
def _weight(mask, like):
    """A boolean mask as 0/1 in the dtype of ``like``'s tangent."""
    return sh.convert_element_type(mask, dtype=tangent_aval(get_aval(like)).dtype)


def _minmax_jvp(prim, pick, nan_aware=False):
    def jvp(primals, tangents):
        (x, y), (x_dot, y_dot) = primals, tangents
        out = bind(prim, x, y)
        w_x = add(_weight(pick(x, y), out), mul(_weight(eq(x, y), out), 0.5))
        if nan_aware:   # fmax/fmin return the argument that is not NaN
            w_x = select(el.isnan(y), 1.0, select(el.isnan(x), 0.0, w_x))
        x_term = None if type(x_dot) is Zero else mul(x_dot, w_x)
        y_term = None if type(y_dot) is Zero else mul(y_dot, sub(1.0, w_x))
        return out, sum_tangents(out, x_term, y_term)
    jvp.__name__ = f"{prim.name}_jvp"
    return jvp


maximum_p = _binary("maximum", np.maximum)
minimum_p = _binary("minimum", np.minimum)
fmax_p = _binary("fmax", np.fmax)
fmin_p = _binary("fmin", np.fmin)


def maximum(x, y):
    return bind(maximum_p, x, y)


def minimum(x, y):
    return bind(minimum_p, x, y)


def fmax(x, y):
    return bind(fmax_p, x, y)


def fmin(x, y):
    return bind(fmin_p, x, y)


maximum_p.jvp = _minmax_jvp(maximum_p, lambda x, y: gt(x, y))
minimum_p.jvp = _minmax_jvp(minimum_p, lambda x, y: lt(x, y))
fmax_p.jvp = _minmax_jvp(fmax_p, lambda x, y: gt(x, y), nan_aware=True)
fmin_p.jvp = _minmax_jvp(fmin_p, lambda x, y: lt(x, y), nan_aware=True)
for _p in (maximum_p, minimum_p, fmax_p, fmin_p):
    _p.deriv_class = ("nonlinear", "nonlinear")
    _p.taylor = local_linear_taylor(_p)     # the local linear map, ties averaged
    _p.sparsity = choice_sparsity(larger=_p in (maximum_p, fmax_p))


# -- arctan2, hypot: the subgradient 0 at the origin ------------------------------------------
def _sq_norm(x, y):
    return add(mul(x, x), mul(y, y))


arctan2_p, arctan2 = def_binary(
    "arctan2", np.arctan2,    # arctan2(y, x)
    deriv0=lambda y, x, out: div_or_zero(x, _sq_norm(x, y)),
    deriv1=lambda y, x, out: div_or_zero(neg(y), _sq_norm(x, y)))
hypot_p, hypot = def_binary("hypot", np.hypot,
                            deriv0=lambda x, y, out: div_or_zero(x, out),
                            deriv1=lambda x, y, out: div_or_zero(y, out))

# -- select (np.where): linear in both branches ----------------------------------------------------
select_p = Primitive("select", linear_in=(1, 2))


def _plus_zero(v):
    return (type(v) is float or type(v) is int) and v == 0 and str(v)[0] != "-"


def _select_impl(c, x, y):
    """np.where; a boolean mask choosing between a float64 array of its shape and +0 (relu,
    the transposes of select) is a bitwise and with the mask widened to all-ones words, exact
    for every value (inf, nan, -0.0) and several times faster than np.where's branch per
    element on a random mask."""
    if type(c) is np.ndarray and c.dtype == np.bool_:
        if _plus_zero(y) and type(x) is np.ndarray and x.dtype == np.float64 \
                and x.shape == c.shape:
            bits = c.astype(np.int64)
            np.negative(bits, out=bits)             # True -> all ones, False -> 0
            return np.bitwise_and(bits, x.view(np.int64), out=bits).view(np.float64)
        if _plus_zero(x) and type(y) is np.ndarray and y.dtype == np.float64 \
                and y.shape == c.shape:
            bits = c.astype(np.int64)
            bits -= 1                               # True -> 0, False -> all ones
            return np.bitwise_and(bits, y.view(np.int64), out=bits).view(np.float64)
    return np.where(c, x, y)


select_p.impl = _select_impl
select_p.abstract_eval = elementwise_abstract(np.where)
select_p.batch = elementwise_batch(select_p)


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
select_p.sparsity = select_sparsity      # a known condition selects the branch read


def select_taylor(primals, series):
    (c, x, y), (_, sx, sy) = primals, series
    out = select(c, x, y)
    k = ser.order_of(series)
    a, b = ser.full(x, sx, k), ser.full(y, sy, k)
    return out, ser.finish(out, [None if p is None and q is None else
                                 select(c, 0.0 if p is None else p, 0.0 if q is None else q)
                                 for p, q in zip(a[1:], b[1:])])


select_p.taylor = select_taylor

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
heaviside_p, heaviside = def_zero("heaviside", np.heaviside, 2)

from . import elementwise as el  # noqa: E402  (elementwise builds on the ops above)

# -- remainders: NumPy's own values (x - floor(x / y) y loses digits for large x / y); the
# derivative 1 in x and -floor(x / y) (-trunc(x / y) for fmod) in y, where it exists
remainder_p, remainder = def_binary("remainder", np.remainder, lambda x, y, out: 1.0,
                                    lambda x, y, out: neg(floor_divide(x, y)))
fmod_p, fmod = def_binary("fmod", np.fmod, lambda x, y, out: 1.0,
                          lambda x, y, out: neg(el.trunc(div(x, y))))
