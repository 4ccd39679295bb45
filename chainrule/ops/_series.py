"""Truncated power series arithmetic for Taylor rules, written with chainrule ops.

A series is a list ``[c0, c1, ..., cK]`` of normalized Taylor coefficients (``ck`` is the k-th
derivative over k!): ``c0`` is the primal, ``None`` a coefficient that is zero by structure (a
symbolic Zero; products with it are skipped, so the unit input series ``[x0, 1, 0, 0, ...]``
costs one term per product). Coefficients are arrays or tracers, combined with ``ar.mul`` /
``ar.add``, so every rule stays differentiable; when both operands are floats (0-d float64
scalars, the common case of ``derivative(f, n)(x)``) the Python operators do the work directly,
which is an order of magnitude cheaper than a bind.

Every recurrence comes from an ODE the function satisfies, matched coefficient by coefficient:

    y = exp(a)         y' = y a'                y_k = (1/k) sum_{j=1..k} j a_j y_{k-j}
    y = log(a)         a y' = a'                y_k = (a_k - sum_{j<k} (j/k) y_j a_{k-j}) / a_0
    y = a**p           a y' = p y a'            y_k = sum_{j=1..k} ((p+1) j/k - 1) a_j y_{k-j} / a_0
    y = sqrt(a)        y y = a                  y_k = (a_k - sum_{j=1..k-1} y_j y_{k-j}) / (2 y_0)
    q = a / b          q b = a                  q_k = (a_k - sum_{j=1..k} b_j q_{k-j}) / b_0
    s, c = sin, cos    s' = c a', c' = -s a'    (jointly, one order at a time)
    y' = d a'          (d a known series)       y_k = (1/k) sum_{j=1..k} j a_j d_{k-j}

``ode_online`` solves ``y' = d a'`` when ``d`` is itself built from ``y`` (tan: d = 1 + y^2):
it computes ``d_{k-1}`` from ``y_0..y_{k-1}`` just before ``y_k``. ``singular=True`` divides and
multiplies zero-safely (``ar.safe_div``/``ar.safe_mul``): a zero coefficient stays zero where the
factor is infinite (log, sqrt at 0), as the JVP rules do.
"""
import math

import numpy as np

from ..core import Tracer, Zero, carries_derivative, get_aval, strict_products, tangent_aval
from . import arithmetic as ar


# -- coefficient kernels: None is a structural zero ----------------------------------------------
def mul(a, b):
    if a is None or b is None:
        return None
    if isinstance(a, float) and isinstance(b, float):
        return a * b
    return ar.mul(a, b)


def smul(a, b):
    """``a * b``, but 0 where ``a`` is 0 even if ``b`` is infinite."""
    if a is None or b is None:
        return None
    if isinstance(a, float) and isinstance(b, float):
        return 0.0 if a == 0 else a * b
    return ar.safe_mul(a, b)


def add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, float) and isinstance(b, float):
        return a + b
    return ar.add(a, b)


def sub(a, b):
    if b is None:
        return a
    if a is None:
        return neg(b)
    if isinstance(a, float) and isinstance(b, float):
        return a - b
    return ar.sub(a, b)


def neg(a):
    if a is None:
        return None
    if isinstance(a, float):
        return -a
    return ar.neg(a)


def scale(a, s):
    """``a * s`` for a Python number ``s``."""
    if a is None:
        return None
    if s == 1:
        return a
    if isinstance(a, float):
        return a * s
    return ar.mul(a, s)


def div(a, b, safe=False):
    """``a / b``; with ``safe``, 0 where ``a`` is 0 (even where ``b`` is 0)."""
    if a is None:
        return None
    if isinstance(a, float) and isinstance(b, float):
        if b != 0:
            return a / b
        if safe and a == 0:
            return 0.0
        return ar.div(a, b)         # NumPy's inf / nan
    return ar.safe_div(a, b) if safe else ar.div(a, b)


def div_or_zero(a, b):
    """``a / b``, 0 where ``b`` is 0 (the subgradient convention of norms at 0)."""
    if a is None:
        return None
    if isinstance(a, float) and isinstance(b, float):
        return a / b if b != 0 else 0.0
    return ar.div_or_zero(a, b)


def conv(a, b, k, lo=0, hi=None, safe=False):
    """``sum_{i=lo..hi} a_i b_{k-i}`` (``hi`` defaults to ``k - lo``); None if no term. With
    ``safe=True`` the products are zero-safe (``a_i`` zero: the term is 0 even if ``b`` is inf)."""
    hi = k - lo if hi is None else hi
    acc = None
    for i in range(lo, hi + 1):
        ai = a[i]
        if ai is None:
            continue
        bi = b[k - i]
        if bi is None:
            continue
        if isinstance(ai, float) and isinstance(bi, float):
            t = 0.0 if safe and ai == 0 else ai * bi
        else:
            t = ar.safe_mul(ai, bi) if safe else ar.mul(ai, bi)
        acc = add(acc, t)
    return acc


def sconv(a, b, k, lo=0, hi=None):
    """``conv`` with zero-safe products."""
    return conv(a, b, k, lo, hi, safe=True)


# -- series: full lists [c0, ..., cK] -------------------------------------------------------------
def full(x, s, order=None):
    """``[x, x1, ..., xK]`` from a primal and its Taylor series (a list of K coefficients that
    may be Zero, or None for a constant: then ``order`` gives K)."""
    if s is None:
        return [x] + [None] * order
    return [x] + [None if type(c) is Zero else c for c in s]


def order_of(series):
    return len(next(s for s in series if s is not None))


def finish(out, cs):
    """The series of a primal ``out`` from coefficients ``cs`` (``[c1, ..., cK]``, None for
    zero): symbolic Zeros where None, coefficients broadcast to ``out``'s shape."""
    aval = get_aval(out)
    shape = aval.shape
    res, zero, live = [], None, False
    for c in cs:
        if c is None:
            if zero is None:
                zero = Zero(tangent_aval(aval))
            res.append(zero)
        elif (not shape and isinstance(c, float)) or get_aval(c).shape == shape:
            res.append(c)
            live = True
        else:
            res.append(ar.broadcast_tangent(c, shape))
            live = True
    return res if live else None


def constant(c0, order):
    return [c0] + [None] * order


def is_constant(a):
    return all(c is None for c in a[1:])


def add_series(a, b):
    return [ar.add(a[0], b[0])] + [add(x, y) for x, y in zip(a[1:], b[1:])]


def sub_series(a, b):
    return [ar.sub(a[0], b[0])] + [sub(x, y) for x, y in zip(a[1:], b[1:])]


def scale_series(a, s):
    return [scale(c, s) for c in a]


def shift(a, c):
    """``a + c`` for a constant ``c`` (only the primal changes)."""
    return [ar.add(a[0], c)] + a[1:]


def times_index(a):
    """``[None, 1 a_1, 2 a_2, ..., K a_K]``: the coefficients ``j a_j`` of ``t a'(t)``."""
    return [None] + [scale(c, j) for j, c in enumerate(a[1:], 1)]


def bilinear_series(f, a, b, y0):
    """The Cauchy product of a bilinear ``f`` (a contraction): ``c_k = sum_i f(a_i, b_{k-i})``."""
    n = len(a)
    out = [y0] + [None] * (n - 1)
    for k in range(1, n):
        for i in range(k + 1):
            if a[i] is not None and b[k - i] is not None:
                term = f(a[i], b[k - i])
                out[k] = term if out[k] is None else ar.add(out[k], term)
    return out


def mul_series(a, b, y0=None):
    """The Cauchy product; ``y0`` is the primal product when already known."""
    n = len(a)
    out = [ar.mul(a[0], b[0]) if y0 is None else y0]
    for k in range(1, n):
        out.append(conv(a, b, k))
    return out


def square_series(a, y0=None):
    """``a * a`` with the symmetric terms counted once."""
    n = len(a)
    out = [ar.mul(a[0], a[0]) if y0 is None else y0]
    for k in range(1, n):
        half = conv(a, a, k, 0, (k - 1) // 2)
        acc = scale(half, 2.0)
        if k % 2 == 0:
            acc = add(acc, mul(a[k // 2], a[k // 2]))
        out.append(acc)
    return out


def div_series(a, b, q0=None, safe=False):
    """``a / b``; ``safe`` makes the products and the division zero-safe."""
    n = len(a)
    q = [ar.div(a[0], b[0]) if q0 is None else q0] + [None] * (n - 1)
    for k in range(1, n):
        rest = sconv(b, q, k, 1, k) if safe else conv(b, q, k, 1, k)
        q[k] = div(sub(a[k], rest), b[0], safe)
    return q


def reciprocal_series(b, q0=None, safe=False):
    """``1 / b``."""
    n = len(b)
    q = [ar.div(1.0, b[0]) if q0 is None else q0] + [None] * (n - 1)
    for k in range(1, n):
        rest = sconv(b, q, k, 1, k) if safe else conv(b, q, k, 1, k)
        q[k] = div(neg(rest), b[0], safe)
    return q


def ode(a, d, y0, singular=False):
    """``y`` with ``y' = d a'`` and ``y(0) = y0``, ``d`` a known series (at least as long as
    ``a`` minus one)."""
    n = len(a)
    da = times_index(a)
    y = [y0] + [None] * (n - 1)
    for k in range(1, n):
        s = sconv(da, d, k, 1, k) if singular else conv(da, d, k, 1, k)
        y[k] = scale(s, 1.0 / k)
    return y


def ode_online(a, y0, d_of, singular=False):
    """``y`` with ``y' = d a'`` where ``d = d_of(y, d, m)`` gives ``d_m`` from ``y_0..y_m`` and
    ``d_0..d_{m-1}`` (lists filled as the recurrence goes)."""
    n = len(a)
    da = times_index(a)
    y = [y0] + [None] * (n - 1)
    d = [None] * n
    for k in range(1, n):
        d[k - 1] = d_of(y, d, k - 1)
        s = sconv(da, d, k, 1, k) if singular else conv(da, d, k, 1, k)
        y[k] = scale(s, 1.0 / k)
    return y


def exp_series(a, y0):
    """``exp(a)`` with primal ``y0`` (also ``c exp(a)``: the recurrence is linear in y)."""
    n = len(a)
    da = times_index(a)
    y = [y0] + [None] * (n - 1)
    for k in range(1, n):
        y[k] = scale(conv(da, y, k, 1, k), 1.0 / k)
    return y


def log_series(a, y0, safe=True):
    """``log(a)`` with primal ``y0``."""
    n = len(a)
    y = [y0] + [None] * (n - 1)
    dy = [None] * n
    for k in range(1, n):
        rest = conv(dy, a, k, 1, k - 1)
        y[k] = div(sub(a[k], scale(rest, 1.0 / k)), a[0], safe)
        dy[k] = scale(y[k], k)
    return y


def pow_series(a, p, y0, safe=True):
    """``a ** p`` for a constant exponent ``p`` (a number or an array without series) with
    primal ``y0``; divides by ``a_0``, so at ``a_0 = 0`` use ``int_pow_series``."""
    n = len(a)
    y = [y0] + [None] * (n - 1)
    number = not isinstance(p, Tracer) and np.ndim(p) == 0
    if number:
        p = float(p) if np.isrealobj(p) else complex(p)
    for k in range(1, n):
        acc = None
        for j in range(1, k + 1):
            if a[j] is None or y[k - j] is None:
                continue
            if number:
                w = ((p + 1) * j - k) / k
                term = scale(mul(a[j], y[k - j]), w)
            else:
                w = ar.sub(ar.mul(ar.add(p, 1.0), j / k), 1.0)
                term = mul(mul(a[j], y[k - j]), w)
            acc = add(acc, term)
        y[k] = div(acc, a[0], safe)
    return y


def pow_series_composed(a, p):
    """``a ** p`` for a constant exponent by Faa di Bruno's formula, exact at ``a_0 = 0`` too:
    ``y_k = sum_{j=1..k} C(p, j) a_0**(p-j) [(a - a_0)**j]_k``. There ``a_0**(p-j)`` is 0, 1 or
    inf as NumPy gives it, so a coefficient whose order passes a non-integer ``p`` is infinite
    (the derivative does not exist) and one below ``p`` is 0; a binomial ``C(p, j)`` that is
    zero (natural ``p < j``) or a structurally absent power of ``a - a_0`` drops its term
    although ``a_0**(p-j)`` is infinite. Costs O(K^3), so the rules use it only where
    ``a_0 = 0``."""
    n = len(a)
    d = [None] + a[1:]
    y = [None] * n
    d_pow, binom = d, 1.0
    for j in range(1, n):
        if j > 1:
            d_pow = [None] + [conv(d_pow, d, k) for k in range(1, n)]
        binom = ar.mul(binom, ar.div(ar.sub(p, float(j - 1)), float(j)))
        factor = ar.pow(a[0], ar.sub(p, float(j)))
        for k in range(j, n):
            if d_pow[k] is not None:
                # 0 where the binomial is (a natural p passed); with strict products (no zero of
                # the series is structural, core/zeros.py) a zero coefficient of a - a_0 is a
                # true zero of the series, and times the infinite factor of a non-integer power
                # the indeterminate 0 * inf (NaN): cbrt(x**3) at 0 has the series t, which
                # needs a's coefficients past order K
                term = d_pow[k]
                if strict_products() and not carries_derivative(term):
                    y[k] = add(y[k], smul(binom, ar.mul(term, factor)))
                else:           # a zero of the series may be structural (a constant mask)
                    y[k] = add(y[k], smul(ar.mul(binom, term), factor))
    return y


def int_pow_series(a, n, y0=None):
    """``a ** n`` for a non-negative int ``n`` by repeated squaring (exact at ``a_0 = 0``)."""
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else mul_series(result, base)
        n >>= 1
        if n:
            base = square_series(base)
    if result is None:
        result = [ar.add(ar.mul(a[0], 0.0), 1.0)] + [None] * (len(a) - 1)
    if y0 is not None:
        result = [y0] + result[1:]
    return result


def sqrt_series(a, y0, safe=True, zero_at_zero=False):
    """``sqrt(a)`` with primal ``y0``; ``zero_at_zero``: every coefficient is 0 where ``y0`` is
    (norms: the subgradient 0 at the origin, to every order)."""
    n = len(a)
    y = [y0] + [None] * (n - 1)
    two_y0 = scale(y0, 2.0)
    for k in range(1, n):
        rest = sub(a[k], conv(y, y, k, 1, k - 1))
        y[k] = div_or_zero(rest, two_y0) if zero_at_zero else div(rest, two_y0, safe)
    return y


def exp_online(u, w0):
    """``w = exp(u)`` coefficient by coefficient while ``u`` is being filled: returns
    ``next_w(m)`` giving ``w_m`` once ``u_1..u_m`` are known (``w0`` is ``exp(u_0)``)."""
    w = [w0]
    du = [None]

    def next_w(m):
        while len(w) <= m:
            k = len(w)
            du.append(scale(u[k], k))
            w.append(scale(conv(du, w, k, 1, k), 1.0 / k))
        return w[m]
    return next_w


def sin_cos_series(a, s0, c0, hyperbolic=False):
    """``sin(a), cos(a)`` (or ``sinh, cosh``) with primals ``s0, c0``, jointly."""
    n = len(a)
    da = times_index(a)
    s = [s0] + [None] * (n - 1)
    c = [c0] + [None] * (n - 1)
    for k in range(1, n):
        s[k] = scale(conv(da, c, k, 1, k), 1.0 / k)
        c[k] = scale(conv(da, s, k, 1, k), (1.0 if hyperbolic else -1.0) / k)
    return s, c


def compose(f, a):
    """``sum_m f_m (a - a_0)^m``: the series of ``g(a)`` from the normalized Taylor coefficients
    ``f = [g(a_0), g'(a_0), g''(a_0)/2, ...]`` of ``g`` at ``a_0`` (Horner's scheme)."""
    n = len(a)
    delta = [None] + a[1:]
    acc = [f[n - 1]] + [None] * (n - 1)
    for m in range(n - 2, -1, -1):
        prod = [None] * n
        for k in range(1, n):
            prod[k] = conv(acc, delta, k, 0, k - 1)
        prod[0] = f[m]
        acc = prod
    return acc


def factorial(k):
    return float(math.factorial(k))
