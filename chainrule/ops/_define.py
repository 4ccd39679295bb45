"""Family helpers: declare a primitive and derive its rules from one line.

    def_unary(name, impl, deriv, singular=False)
                                        elementwise, differentiable: deriv(x, y) is dy/dx written
                                        with chainrule ops (y = impl(x) is the output, for rules
                                        like tanh' = 1 - y**2); JVP is t * deriv(x, y).
                                        singular=True where deriv can be infinite (sqrt, log at
                                        0): the product is zero-safe (ar.safe_mul), so a zero
                                        tangent or cotangent gives 0, never 0 * inf = NaN
    def_binary(name, impl, deriv0, deriv1, singular=False)
                                        the same for two broadcasting arguments: deriv0(x, y, out)
                                        and deriv1(x, y, out) are the partial derivatives
    def_nary(name, impl, derivs, singular=False)
                                        any number of arguments, derivs[i](*args, out)
    def_zero(name, impl, nargs)         piecewise constant (floor, sign, comparisons, argmax):
                                        every tangent is a symbolic Zero
    Taylor rules (bottom of the file): def_unary/def_nary solve y' = deriv * x' coefficient
    by coefficient (deriv_taylor), def_zero gives zero series; unary_taylor wraps a recurrence
    of ops/_series.py, linear_taylor applies a linear primitive coefficient by coefficient,
    local_linear_taylor a piecewise-linear one's JVP at the primal
    elementwise_abstract(impl)          shape rule of a broadcasting elementwise op: NumPy's
                                        broadcasting and NumPy's own dtype resolution
    elementwise_batch(prim)             batching rule (vmap) of a broadcasting elementwise op;
    axes_batch(prim)                    of a reduction or scan with an ``axes``/``axis`` param
                                        (the vmapped axis goes to the front, axes shift by one)
"""
import contextlib
import dis
import functools

import numpy as np

from ..core import (Primitive, ShapedArray, Zero, bind, dispatch, get_aval, tangent_aval,
                    zeros_like_aval)
from . import _series as ser
from ._sparsity import elementwise_sparsity
from . import arithmetic as ar
from . import shape as sh


@functools.lru_cache(maxsize=None)
def _result_dtype(impl, key, params_key):
    standins = [({"b": False, "i": 0, "u": 0, "f": 0.0, "c": 0j}[dt.kind] if weak
                 else np.zeros((), dt)) for dt, weak in key]
    with np.errstate(all="ignore"):
        return np.result_type(impl(*standins, **dict(params_key)))


def elementwise_abstract(impl):
    """Shape rule for an elementwise op: broadcast shapes, dtype as NumPy resolves it."""
    dtypes = {}   # (dtype, weak_type) per argument -> result dtype: the hot path is one lookup

    def abstract_eval(*avals, **params):
        if len(avals) == 2 and not params:      # the hot path: binary arithmetic
            a, b = avals
            key = (a.dtype, a.weak_type, b.dtype, b.weak_type)
            dtype = dtypes.get(key)
            if dtype is not None:
                shape = a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape)
                return ShapedArray(shape, dtype, a.weak_type and b.weak_type)
            dtype = dtypes[key] = _result_dtype(impl, ((a.dtype, a.weak_type),
                                                       (b.dtype, b.weak_type)), ())
            return abstract_eval(*avals)
        shape = avals[0].shape
        for a in avals[1:]:
            if a.shape != shape:
                shape = np.broadcast_shapes(*[a.shape for a in avals])
                break
        key = tuple((a.dtype, a.weak_type) for a in avals)
        if params:
            key += tuple(sorted(params.items()))
        dtype = dtypes.get(key)
        if dtype is None:
            dtype = dtypes[key] = _result_dtype(impl, key[:len(avals)],
                                                tuple(sorted(params.items())))
        return ShapedArray(shape, dtype, all(a.weak_type for a in avals))
    return abstract_eval


# -- batching (vmap): rules ``batch(vals, dims, **params) -> (out, out_dim)`` --------------------
def to_front(x, d):
    """``x`` with its axis ``d`` moved to the front."""
    if d == 0:
        return x
    nd = get_aval(x).ndim
    return sh.transpose(x, perm=(d,) + tuple(i for i in range(nd) if i != d))


def batch_size(vals, dims):
    return next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)


def elementwise_batch(prim):
    """Batched operands get the vmapped axis in front and ones up to the broadcast rank;
    unbatched operands broadcast against the trailing axes as they are."""
    def batch(vals, dims, **params):
        size = batch_size(vals, dims)
        rank = max(get_aval(v).ndim - (d is not None) for v, d in zip(vals, dims))
        args = []
        for v, d in zip(vals, dims):
            if d is not None:
                v = to_front(v, d)
                shape = get_aval(v).shape[1:]
                v = sh.reshape(v, shape=(size,) + (1,) * (rank - len(shape)) + shape)
            args.append(v)
        return bind(prim, *args, **params), 0
    batch.__name__ = f"{prim.name}_batch"
    return batch


def axes_batch(prim):
    """For ``prim(x, *, axes=tuple)`` or ``prim(x, *, axis=int or None)`` (None: flattened)."""
    def batch(vals, dims, **params):
        (x,), (d,) = vals, dims
        x = to_front(x, d)
        if "axes" in params:
            params["axes"] = tuple(a + 1 for a in params["axes"])
        elif params.get("axis") is None:
            shape = get_aval(x).shape
            x = sh.reshape(x, shape=(shape[0], int(np.prod(shape[1:], dtype=np.int64))))
            params["axis"] = 1
        else:
            params["axis"] += 1
        return bind(prim, x, **params), 0
    batch.__name__ = f"{prim.name}_batch"
    return batch


def quiet():
    """No floating-point warnings: for derivative factors that are infinite by design at a
    singular point (1/sqrt(0)), which the zero-safe products then apply harmlessly."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def def_unary(name, impl, deriv, singular=False):
    """An elementwise primitive of one argument with derivative ``deriv(x, y)``."""
    prim = Primitive(name)
    prim.impl = impl
    prim.abstract_eval = elementwise_abstract(impl)

    def jvp(primals, tangents):
        (x,), (x_dot,) = primals, tangents
        y = bind(prim, x)
        if not singular:
            return y, ar.mul(x_dot, deriv(x, y))
        with quiet():     # an infinite factor is expected (and made harmless by safe_mul)
            return y, ar.tangent_scale(x_dot, deriv(x, y))
    jvp.__name__ = f"{name}_jvp"
    prim.jvp = jvp
    prim.taylor = deriv_taylor(prim, deriv, singular)
    prim.batch = elementwise_batch(prim)
    prim.deriv_class = ("nonlinear",)
    prim.sparsity = elementwise_sparsity

    def op(x):
        return bind(prim, x)
    op.__name__ = name
    op.primitive = prim       # exactly this primitive: the Tensor API binds it directly
    return prim, op


def def_binary(name, impl, deriv0, deriv1, singular=False):
    """An elementwise primitive of two broadcasting arguments with partial derivatives
    ``deriv0(x, y, out)`` and ``deriv1(x, y, out)``."""
    return def_nary(name, impl, (deriv0, deriv1), singular)


def def_nary(name, impl, derivs, singular=False):
    """An elementwise primitive of ``len(derivs)`` broadcasting arguments; ``derivs[i](*args,
    out)`` is the partial derivative in argument i. It is called only where that argument's
    tangent is not zero, so it may raise a named error for a derivative without closed form."""
    prim = Primitive(name)
    prim.impl = impl
    prim.abstract_eval = elementwise_abstract(impl)
    prim.zero_safety = ("no-new-zeros",)     # a constant operand only enters the derivatives

    def jvp(primals, tangents):
        out = bind(prim, *primals)
        scale = ar.tangent_scale if singular else ar.mul
        terms = []
        with quiet() if singular else contextlib.nullcontext():
            for t, deriv in zip(tangents, derivs):
                terms.append(None if type(t) is Zero else scale(t, deriv(*primals, out)))
        return out, ar.sum_tangents(out, *terms)
    jvp.__name__ = f"{name}_jvp"
    prim.jvp = jvp
    prim.taylor = nary_deriv_taylor(prim, derivs, singular)
    prim.batch = elementwise_batch(prim)
    prim.deriv_class = ("nonlinear",) * len(derivs) + ("cross",)
    prim.sparsity = elementwise_sparsity

    def op(*args):
        return bind(prim, *args)
    op.__name__ = name
    op.primitive = prim
    return prim, op


def def_zero(name, impl, nargs=1, abstract_eval=None, batch=None):
    """A primitive whose derivative is zero wherever it exists (piecewise constant);
    elementwise unless ``abstract_eval`` and ``batch`` (a function of the primitive) say
    otherwise."""
    prim = Primitive(name)
    prim.impl = impl
    prim.abstract_eval = abstract_eval or elementwise_abstract(impl)
    prim.batch = (batch or elementwise_batch)(prim)

    def jvp(primals, tangents, **params):
        out = bind(prim, *primals, **params)
        return out, Zero(tangent_aval(get_aval(out)))
    jvp.__name__ = f"{name}_jvp"
    prim.jvp = jvp
    prim.taylor = zero_taylor(prim)
    prim.deriv_class = ("zero",) * nargs
    prim.sparsity = elementwise_sparsity if abstract_eval is None else None

    def op(*args, **params):
        return bind(prim, *args, **params)
    op.__name__ = name
    return prim, op


# -- Taylor mode: rules ``taylor(primals, series, **params) -> (primal_out, series_out)`` ----------
# Series are handled as full lists [c0, c1, ..., cK] by ops/_series.py (None: a zero coefficient).
def _reads_argument(fun, index):
    """Whether ``fun`` reads its positional argument ``index`` (conservatively True if unsure):
    a derivative that does not read the output ``y`` is solved in one pass."""
    code = getattr(fun, "__code__", None)
    if code is None or index >= code.co_argcount:
        return code is None
    name = code.co_varnames[index]
    if name in code.co_cellvars:
        return True
    for ins in dis.get_instructions(fun):
        if ins.opname.startswith("LOAD_FAST") or ins.opname == "DELETE_FAST":
            args = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
            if name in args:
                return True
    return False


def series_of(fun, args, order):
    """The series ``[c0, ..., c_order]`` of ``fun(*args)`` for argument series ``args`` (full
    lists, at least ``order + 1`` long), by Taylor mode itself (the jet interpreter, reached
    through the core's hook table since ops import only the core)."""
    if order == 0:
        return [fun(*[a[0] for a in args])]
    primals = [a[0] for a in args]
    series = []
    for a in args:
        cs = a[1:order + 1]
        if all(c is None for c in cs):
            series.append(None)
        else:
            zero = Zero(tangent_aval(get_aval(a[0])))
            series.append([zero if c is None else c for c in cs])
    outs, out_series = dispatch.hooks["jet"](lambda ins: [fun(*ins)], primals, series, order)
    return ser.full(outs[0], out_series[0], order)


def unary_taylor(prim, series_fn, singular=False):
    """The Taylor rule of an elementwise primitive of one argument from a recurrence:
    ``series_fn(a, y, **params)`` returns the full series of the output given the full series
    ``a`` of the input and the primal output ``y`` (``singular``: no floating-point warnings,
    the recurrence divides zero-safely by a primal that may be 0)."""
    def taylor(primals, series, **params):
        (x,), (s,) = primals, series
        y = bind(prim, x, **params)
        with quiet() if singular else contextlib.nullcontext():
            return y, ser.finish(y, series_fn(ser.full(x, s), y, **params)[1:])
    taylor.__name__ = f"{prim.name}_taylor"
    return taylor


def deriv_taylor(prim, deriv, singular=False):
    """The Taylor rule of ``def_unary``: ``y' = deriv(x, y) x'`` solved coefficient by
    coefficient. The series of ``deriv`` comes from Taylor mode: one pass of order K - 1 when
    ``deriv`` reads only ``x``; one pass per order when it reads ``y`` (``y_k`` needs
    ``deriv`` to order k - 1, which needs ``y`` to order k - 1)."""
    uses_y = _reads_argument(deriv, 1)

    def taylor(primals, series):
        (x,), (s,) = primals, series
        y = bind(prim, x)
        a = ser.full(x, s)
        order = len(s)
        with quiet() if singular else contextlib.nullcontext():
            if not uses_y:
                d = series_of(deriv, [a, ser.constant(y, order)], order - 1)
                ys = ser.ode(a, d, y, singular)
            else:
                ys = [y] + [None] * order
                da = ser.times_index(a)
                for k in range(1, order + 1):
                    d = series_of(deriv, [a, ys], k - 1)
                    c = ser.sconv(da, d, k, 1, k) if singular else ser.conv(da, d, k, 1, k)
                    ys[k] = ser.scale(c, 1.0 / k)
        return y, ser.finish(y, ys[1:])
    taylor.__name__ = f"{prim.name}_taylor"
    return taylor


def nary_deriv_taylor(prim, derivs, singular=False):
    """The Taylor rule of ``def_nary``: ``z' = sum_i derivs[i] x_i'`` coefficient by
    coefficient (one pass per order when a partial derivative reads the output)."""
    n = len(derivs)
    uses_out = any(_reads_argument(d, n) for d in derivs)

    def taylor(primals, series):
        order = ser.order_of(series)
        z = bind(prim, *primals)
        full = [ser.full(p, s, order) for p, s in zip(primals, series)]
        terms = [(ser.times_index(a), f) for a, f in zip(full, derivs)]
        terms = [(dv, f) for dv, f in terms if any(c is not None for c in dv)]
        zs = [z] + [None] * order
        conv = ser.sconv if singular else ser.conv
        with quiet() if singular else contextlib.nullcontext():
            passes = range(1, order + 1) if uses_out else [order]
            for m in passes:
                ds = [series_of(f, full + [zs], m - 1) for _, f in terms]
                for k in (range(m, m + 1) if uses_out else range(1, order + 1)):
                    acc = None
                    for (dv, _), d in zip(terms, ds):
                        acc = ser.add(acc, conv(dv, d, k, 1, k))
                    zs[k] = ser.scale(acc, 1.0 / k)
        return z, ser.finish(z, zs[1:])
    taylor.__name__ = f"{prim.name}_taylor"
    return taylor


def zero_taylor(prim):
    """Piecewise constant: the output series is zero."""
    def taylor(primals, series, **params):
        return bind(prim, *primals, **params), None
    taylor.__name__ = f"{prim.name}_taylor"
    return taylor


def linear_taylor(prim, constant_args=()):
    """A primitive linear in its arguments jointly (those at ``constant_args`` excepted: they
    are piecewise constant, like select's condition, and only their primal is used): the
    primitive applied coefficient by coefficient, zero coefficients as zeros where another
    argument's coefficient is not zero."""
    def taylor(primals, series, **params):
        out = bind(prim, *primals, **params)
        if tangent_aval(get_aval(out)).dtype.kind not in "fc":
            return out, None
        order = ser.order_of(series)
        coeffs = []
        for k in range(order):
            cs = [p if i in constant_args or s is None or type(s[k]) is Zero else s[k]
                  for i, (p, s) in enumerate(zip(primals, series))]
            live = [i not in constant_args and s is not None and type(s[k]) is not Zero
                    for i, s in enumerate(series)]
            if not any(live):
                coeffs.append(None)
                continue
            args = [c if live[i] or i in constant_args else
                    zeros_like_aval(tangent_aval(get_aval(c))) for i, c in enumerate(cs)]
            coeffs.append(bind(prim, *args, **params))
        return out, ser.finish(out, coeffs)
    taylor.__name__ = f"{prim.name}_taylor"
    return taylor


def local_linear_taylor(prim):
    """A piecewise-linear primitive (max, min, |x|, tie-averaged reductions): its series is its
    local linear map, the JVP rule at the primal, applied to each coefficient."""
    def taylor(primals, series, **params):
        order = ser.order_of(series)
        out, coeffs = None, []
        for k in range(order):
            cs = [Zero(tangent_aval(get_aval(p))) if s is None else s[k]
                  for p, s in zip(primals, series)]
            if all(type(c) is Zero for c in cs):
                coeffs.append(None)
                continue
            out, t = prim.jvp(primals, cs, **params)
            coeffs.append(None if type(t) is Zero else t)
        if out is None:
            out = bind(prim, *primals, **params)
        return out, ser.finish(out, coeffs)
    taylor.__name__ = f"{prim.name}_taylor"
    return taylor
