"""NumPy's functions on traced arrays, built from chainrule's primitives.

Every function here has NumPy's signature and semantics and is registered as the handler of its
NumPy counterpart, so ``np.sum(t, axis=0)`` on a tracer lands here; the same functions are the
``chainrule.numpy`` namespace, where they also accept plain arrays. No derivative rules here:
only compositions of ops. The families live in ``_ufuncs`` (ufuncs and their methods),
``_reductions`` and ``_shape`` (shape, indexing, item assignment); this module holds linear
algebra products, constructors, polynomials and interpolation, and the conversion hooks.
"""
import builtins
import numbers

import numpy as np

from ..core import Tracer, dispatch, get_aval
from ..core.errors import InvalidArgumentError, UnsupportedFunctionError
from ..ops import arithmetic as ar
from ..ops import control
from ..ops import elementwise as el
from ..ops import gather
from ..ops import linalg as la
from ..ops import reductions as red
from ..ops import shape as sh
from . import _reductions, _shape as _shp, _ufuncs  # noqa: F401  (register their handlers)
from ._dispatch import exported, implements, implements_like, implements_ufunc, unsupported
from ._shape import (cast as _cast, concrete as _concrete, no_out as _no_out, owned, ravel,
                     stack)
from ._shape import normalize_axes  # noqa: F401  (chainrule.numpy.normalize_axes)

_shape = lambda x: get_aval(x).shape  # noqa: E731


@implements_ufunc(np.matmul)
def matmul(a, b):
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        raise InvalidArgumentError("matmul: operands must be at least 1-d; use * for scalars")
    if len(sa) == 1 and len(sb) == 1:
        return la.dot_general(a, b, spec="i,i->")
    if len(sa) == 1:
        return la.dot_general(a, b, spec=_batch("j", "jk", "k", len(sb) - 2))
    if len(sb) == 1:
        return la.dot_general(a, b, spec=_batch("ij", "j", "i", len(sa) - 2))
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    a = sh.broadcast_to(a, batch + sa[-2:])
    b = sh.broadcast_to(b, batch + sb[-2:])
    nb = len(batch)
    letters = _letters(nb, skip="ijk")
    return la.dot_general(a, b, spec=f"{letters}ij,{letters}jk->{letters}ik")


def _letters(n, skip=""):
    pool = [c for c in "abcdefghlmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in skip]
    return "".join(pool[:n])


def _batch(a_s, b_s, o_s, nb):
    """A spec where the operand with more dimensions carries ``nb`` leading batch letters."""
    letters = _letters(nb, skip="ijk")
    if len(a_s) == 1 and len(b_s) == 2:     # vector @ stack of matrices
        return f"{a_s},{letters}{b_s}->{letters}{o_s}"
    return f"{letters}{a_s},{b_s}->{letters}{o_s}"


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    _no_out(out, True, "clip")
    lo = a_min if min is None else min
    hi = a_max if max is None else max
    if lo is not None:
        a = ar.select(ar.lt(a, lo), lo, a)
    if hi is not None:
        a = ar.select(ar.gt(a, hi), hi, a)
    return a


@implements(np.round, np.around)
def round(a, decimals=0, out=None):
    _no_out(out, True, "round")
    return el.round(a, decimals=int(decimals))


@implements(np.fix)
def fix(x, out=None):
    _no_out(out, True, "fix")
    return el.trunc(x)


@implements(np.isclose)
def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    close = ar.le(el.abs(ar.sub(a, b)), ar.add(atol, ar.mul(rtol, el.abs(b))))
    close = ar.logical_or(close, ar.eq(a, b))
    if equal_nan:
        close = ar.logical_or(close, ar.logical_and(el.isnan(a), el.isnan(b)))
    return close


@implements(np.allclose)
def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(red.reduce_all(isclose(a, b, rtol, atol, equal_nan),
                               axes=tuple(range(len(np.broadcast_shapes(_shape(a),
                                                                        _shape(b)))))))


@implements(np.polyval)
def polyval(p, x):
    """Horner's scheme; ``p`` (highest degree first) and ``x`` may both be traced."""
    n = len(p)
    if n == 0:
        return np.zeros(_shape(x))
    y = p[0]
    for i in range(1, n):
        y = ar.add(ar.mul(y, x), p[i])
    shape = np.broadcast_shapes(_shape(y), _shape(x))
    return sh.broadcast_to(y, shape) if _shape(y) != shape else y


@implements(np.interp)
def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation, differentiable in ``x`` and ``fp`` (``xp`` is data).
    At a knot the derivative in ``x`` is the slope of the interval to its right."""
    if period is not None:
        raise unsupported("numpy.interp with period=")
    if isinstance(xp, Tracer):
        raise UnsupportedFunctionError("numpy.interp: the derivative with respect to the knots "
                                       "xp is not supported; pass them as a plain array")
    xp = np.asarray(xp, dtype=np.float64)
    fp = fp if isinstance(fp, Tracer) else np.asarray(fp, dtype=np.float64)
    n = xp.shape[0]
    if isinstance(x, Tracer) and n > 1:
        return _interp_staged(x, xp, fp, left, right)
    xv = np.asarray(_concrete(x, "numpy.interp(x)"), dtype=np.float64)
    i = np.clip(np.searchsorted(xp, xv, side="right") - 1, 0, builtins.max(n - 2, 0))
    if n == 1:
        f0 = sh.getitem(fp, idx=(np.zeros_like(i),))
        y = sh.broadcast_to(f0, xv.shape) if _shape(f0) != xv.shape else f0
    else:
        x0, x1 = xp[i], xp[i + 1]
        f0, f1 = sh.getitem(fp, idx=(i,)), sh.getitem(fp, idx=(i + 1,))
        t = ar.div(ar.sub(x, x0), x1 - x0)
        y = ar.add(f0, ar.mul(t, ar.sub(f1, f0)))
    first, last = sh.getitem(fp, idx=(0,)), sh.getitem(fp, idx=(n - 1,))
    y = ar.select(xv < xp[0], first if left is None else left, y)
    return ar.select(xv > xp[-1], last if right is None else right, y)


def _interp_staged(x, xp, fp, left, right):
    """interp of a traced ``x`` with the interval found by a staged searchsorted and gather
    (batched and compiled without reading x's values); the same formula as above."""
    n = xp.shape[0]
    i = ar.maximum(ar.minimum(ar.sub(red.searchsorted(xp, x, side="right"), 1), n - 2), 0)
    x0, x1 = gather.take_rows(xp, i), gather.take_rows(xp, ar.add(i, 1))
    f0, f1 = gather.take_rows(fp, i), gather.take_rows(fp, ar.add(i, 1))
    y = ar.add(f0, ar.mul(ar.div(ar.sub(x, x0), ar.sub(x1, x0)), ar.sub(f1, f0)))
    first, last = sh.getitem(fp, idx=(0,)), sh.getitem(fp, idx=(n - 1,))
    y = ar.select(ar.lt(x, xp[0]), first if left is None else left, y)
    return ar.select(ar.gt(x, xp[-1]), last if right is None else right, y)


@implements(np.sinc)
def sinc(x):
    """sin(pi x) / (pi x); near 0 its Taylor polynomial, so every derivative is right at 0."""
    px = ar.mul(x, np.pi)
    small = ar.lt(el.abs(px), 1e-3)
    safe = ar.select(small, 1.0, px)
    p2 = ar.mul(px, px)
    series = ar.add(1.0, ar.mul(p2, ar.add(-1.0 / 6.0, ar.mul(p2, 1.0 / 120.0))))
    return ar.select(small, series, ar.div(el.sin(safe), safe))


@implements(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a = _shp.moveaxis(a, axisa, -1)
    b = _shp.moveaxis(b, axisb, -1)
    na, nb = _shape(a)[-1], _shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise InvalidArgumentError("cross: vectors must have 2 or 3 components")

    def comp(v, i, n):
        return sh.getitem(v, idx=(Ellipsis, i)) if i < n else 0.0
    a0, a1, a2 = (comp(a, i, na) for i in range(3))
    b0, b1, b2 = (comp(b, i, nb) for i in range(3))
    z = ar.sub(ar.mul(a0, b1), ar.mul(a1, b0))
    if na == 2 and nb == 2:
        return z
    out = _shp.stack([ar.sub(ar.mul(a1, b2), ar.mul(a2, b1)),
                      ar.sub(ar.mul(a2, b0), ar.mul(a0, b2)), z], axis=-1)
    return _shp.moveaxis(out, -1, axisc)


def _full_correlation(a, v):
    """c[k] = sum_j a_padded[k + j] v[j] for every overlap k (length len(a) + len(v) - 1)."""
    n, m = _shape(a)[0], _shape(v)[0]
    padded = _shp.pad(a, (m - 1, m - 1))
    windows = sh.getitem(padded, idx=(np.arange(n + m - 1)[:, None] + np.arange(m)[None, :],))
    return la.dot_general(windows, v, spec="kj,j->k")


def _trim(c, n, m, mode):
    if mode == "full":
        return c
    if mode == "valid":
        lo, size = min(n, m) - 1, max(n, m) - min(n, m) + 1
    elif mode == "same":
        size = max(n, m)
        lo = (n + m - 1 - size) // 2
    else:
        raise InvalidArgumentError(f"mode must be 'full', 'same' or 'valid', not {mode!r}")
    return sh.getitem(c, idx=(slice(lo, lo + size),))


@implements(np.correlate)
def correlate(a, v, mode="valid"):
    n, m = _shape(a)[0], _shape(v)[0]
    if m > n:    # numpy swaps and reverses
        return _shp.flip(correlate(v, a, mode))
    return _trim(_full_correlation(a, v), n, m, mode)


@implements(np.convolve)
def convolve(a, v, mode="full"):
    n, m = _shape(a)[0], _shape(v)[0]
    if m > n:
        a, v, n, m = v, a, m, n
    return _trim(_full_correlation(a, _shp.flip(v)), n, m, mode)


@implements(np.trapezoid)
def trapezoid(y, x=None, dx=1.0, axis=-1):
    nd = len(_shape(y))
    axis = _shp.one_axis(axis, nd)
    hi = sh.getitem(y, idx=_shp.along(axis, nd, slice(1, None)))
    lo = sh.getitem(y, idx=_shp.along(axis, nd, slice(None, -1)))
    if x is None:
        return ar.mul(_reductions.sum(ar.add(hi, lo), axis=axis), ar.mul(dx, 0.5))
    d = _shp.diff(x, axis=-1 if len(_shape(x)) == 1 else axis)
    if len(_shape(x)) == 1 and nd > 1:
        d = sh.reshape(d, shape=tuple(_shape(x)[0] - 1 if i == axis else 1 for i in range(nd)))
    return ar.mul(_reductions.sum(ar.mul(ar.add(hi, lo), d), axis=axis), 0.5)


@implements(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    """Second-order central differences inside, first-order one-sided at the ends, for
    uniform (scalar) spacings."""
    nd = len(_shape(f))
    axes = list(range(nd)) if axis is None else _shp.axis_list(axis, nd)
    spacing = list(varargs) or [1.0]
    if len(spacing) == 1:
        spacing = spacing * len(axes)
    if edge_order != 1 or any(np.ndim(h) != 0 or isinstance(h, Tracer) for h in spacing):
        raise unsupported("numpy.gradient with edge_order=2 or coordinate arrays")
    outs = []
    for ax, h in zip(axes, spacing):
        def part(sl, ax=ax):
            return sh.getitem(f, idx=_shp.along(ax, nd, sl))
        inner = ar.div(ar.sub(part(slice(2, None)), part(slice(None, -2))), 2.0 * h)
        first = ar.div(ar.sub(part(slice(1, 2)), part(slice(0, 1))), float(h))
        last = ar.div(ar.sub(part(slice(-1, None)), part(slice(-2, -1))), float(h))
        outs.append(sh.concatenate([first, inner, last], axis=ax))
    return outs[0] if len(outs) == 1 else tuple(outs)


@implements(np.cumulative_sum)
def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    return _cumulative(_reductions.cumsum, 0.0, x, axis, dtype, out, include_initial)


@implements(np.cumulative_prod)
def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    return _cumulative(_reductions.cumprod, 1.0, x, axis, dtype, out, include_initial)


def _cumulative(scan, start, x, axis, dtype, out, include_initial):
    nd = len(_shape(x))
    if axis is None:
        if nd > 1:
            raise InvalidArgumentError("axis must be given for arrays of more than one dimension")
        axis = 0
    y = scan(x, axis=axis, dtype=dtype, out=out)
    if include_initial:
        axis = _shp.one_axis(axis, nd)
        shape = tuple(1 if i == axis else d for i, d in enumerate(_shape(y)))
        y = sh.concatenate([np.full(shape, start, get_aval(y).dtype), y], axis=axis)
    return y


@implements(np.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    if axis != 0:
        raise unsupported("numpy.linspace with axis != 0 on traced arrays")
    div = (num - 1) if endpoint else num
    frac = np.arange(num, dtype=np.float64) / builtins.max(div, 1)
    lead = (slice(None),) + (None,) * len(np.broadcast_shapes(_shape(start), _shape(stop)))
    step = ar.sub(stop, start)
    y = ar.add(start, ar.mul(step, frac[lead]))
    if endpoint and num > 1:
        y = sh.setitem(y, stop, idx=(num - 1,))
    y = _cast(y, dtype)
    return (y, ar.div(step, div)) if retstep else y


# -- linear algebra ---------------------------------------------------------------------------
@implements(np.dot)
def dot(a, b, out=None):
    _no_out(out, True, "dot")
    na, nb = len(_shape(a)), len(_shape(b))
    if na == 0 or nb == 0:
        return ar.mul(a, b)
    if nb == 1:
        la_ = _letters(na)
        return la.dot_general(a, b, spec=f"{la_},{la_[-1]}->{la_[:-1]}")
    la_ = _letters(na)
    lb = _letters(na + nb)[na:]
    lb = lb[:-2] + la_[-1] + lb[-1]
    return la.dot_general(a, b, spec=f"{la_},{lb}->{la_[:-1]}{lb[:-2]}{lb[-1]}")


@implements(np.vdot)
def vdot(a, b):
    return la.dot_general(ravel(a), ravel(b), spec="i,i->")


@implements(np.inner)
def inner(a, b):
    na, nb = len(_shape(a)), len(_shape(b))
    if na == 0 or nb == 0:
        return ar.mul(a, b)
    la_ = _letters(na)
    lb = _letters(na + nb)[na:-1] + la_[-1]
    return la.dot_general(a, b, spec=f"{la_},{lb}->{la_[:-1]}{lb[:-1]}")


@implements(np.outer)
def outer(a, b, out=None):
    _no_out(out, True, "outer")
    return la.dot_general(ravel(a), ravel(b), spec="i,j->ij")


@implements(np.tensordot)
def tensordot(a, b, axes=2):
    na, nb = len(_shape(a)), len(_shape(b))
    if isinstance(axes, numbers.Integral):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, numbers.Integral) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, numbers.Integral) else list(ax_b)
    ax_a, ax_b = [i % na for i in ax_a], [i % nb for i in ax_b]
    la_ = list(_letters(na))
    lb = list(_letters(na + nb)[na:])
    for i, j in zip(ax_a, ax_b):
        lb[j] = la_[i]
    out = [c for i, c in enumerate(la_) if i not in ax_a] + \
          [c for j, c in enumerate(lb) if j not in ax_b]
    return la.dot_general(a, b, spec=f"{''.join(la_)},{''.join(lb)}->{''.join(out)}")


@implements(np.einsum)
def einsum(subscripts, *operands, out=None, optimize=False, **kwargs):
    _no_out(out, True, "einsum")
    if not isinstance(subscripts, str):     # einsum(op0, sub0, op1, sub1, ..., [out])
        from ._extra import einsum_subscripts
        subscripts, operands = einsum_subscripts((subscripts,) + operands)
    ins, out_s = _parse_einsum(subscripts.replace(" ", ""), [_shape(o) for o in operands])
    operands = list(operands)
    for k, s in enumerate(ins):
        if len(set(s)) != len(s):   # a repeated index ('ii->', 'ij,jj->i'): take diagonals
            operands[k], ins[k] = la.take_diagonals(operands[k], s)
    if len(operands) == 1:
        (s,) = ins
        x = operands[0]
        summed = tuple(i for i, c in enumerate(s) if c not in out_s)
        if summed:
            x = red.reduce_sum(x, axes=summed)
            s = "".join(c for c in s if c in out_s)
        return sh.transpose(x, perm=[s.index(c) for c in out_s])
    acc, acc_s = operands[0], ins[0]
    for k in range(1, len(operands)):
        later = set(out_s).union(*ins[k + 1:])
        res_s = "".join(dict.fromkeys(c for c in acc_s + ins[k] if c in later))
        if k == len(operands) - 1:
            res_s = out_s
        acc = la.dot_general(acc, operands[k], spec=f"{acc_s},{ins[k]}->{res_s}")
        acc_s = res_s
    return acc


def _parse_einsum(subscripts, shapes):
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
    else:
        lhs, out = subscripts, None
    ins = lhs.split(",")
    used = set(subscripts) - set(".,->")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    n_ell = 0
    for s, shp in zip(ins, shapes):
        if "..." in s:
            n_ell = builtins.max(n_ell, len(shp) - (len(s) - 3))
    ell = "".join(spare[:n_ell])
    new_ins = []
    for s, shp in zip(ins, shapes):
        if "..." in s:
            k = len(shp) - (len(s) - 3)
            s = s.replace("...", ell[n_ell - k:])
        new_ins.append(s)
    if out is None:
        counts = {}
        for s in new_ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return new_ins, out


# -- constructors: arrays that can be written into --------------------------------------------
def _like_result(like, value):
    """``value`` as an array of ``like``'s interpreter (so that item assignment works)."""
    if isinstance(like, Tracer):
        if isinstance(value, Tracer) and value._interp.level >= like._interp.level:
            return value
        return owned(like._interp, value, "an array created like a traced one")
    return value


@implements(np.zeros_like)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    aval = get_aval(a)
    return _like_result(a, np.zeros(aval.shape if shape is None else shape, dtype or aval.dtype))


@implements(np.ones_like)
def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    aval = get_aval(a)
    return _like_result(a, np.ones(aval.shape if shape is None else shape, dtype or aval.dtype))


@implements(np.empty_like)
def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return zeros_like(prototype, dtype=dtype, shape=shape)


@implements(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    aval = get_aval(a)
    shape = aval.shape if shape is None else shape
    if isinstance(fill_value, Tracer):
        value = _cast(sh.broadcast_to(fill_value, shape), dtype or aval.dtype)
    else:
        value = np.full(shape, fill_value, dtype or aval.dtype)
    return _like_result(a, value)


def _like_constructor(np_func):
    make = np.zeros if np_func is np.empty else np_func

    def constructor(like, *args, **kwargs):
        return _like_result(like, make(*args, **kwargs))
    constructor.__name__ = np_func.__name__
    return constructor


for _f in (np.zeros, np.ones, np.empty, np.full, np.arange, np.eye, np.identity, np.tri):
    implements_like(_f)(_like_constructor(_f))


@implements_like(np.array, np.asarray, np.asanyarray)
def _array_like(like, object, dtype=None, *args, **kwargs):
    return _like_result(like, array(object, dtype))


@implements(np.shape)
def shape(a):
    return _shape(a)


@implements(np.ndim)
def ndim(a):
    return len(_shape(a))


@implements(np.size)
def size(a, axis=None):
    s = _shape(a)
    return int(np.prod(s, dtype=np.int64)) if axis is None else s[axis]


@implements(np.result_type)
def result_type(*arrays_and_dtypes):
    return np.result_type(*[get_aval(a).dtype if isinstance(a, Tracer) else a
                            for a in arrays_and_dtypes])


@implements(np.iscomplexobj)
def iscomplexobj(x):
    return get_aval(x).dtype.kind == "c"


@implements(np.isrealobj)
def isrealobj(x):
    return get_aval(x).dtype.kind != "c"


@implements(np.isscalar)
def isscalar(element):
    return False


# -- indexing and conversion hooks ------------------------------------------------------------
def _astype(x, dtype):
    y = sh.convert_element_type(x, dtype=dtype)
    return _shp.copy(x) if y is x else y     # astype copies, as in NumPy


dispatch.hooks["getitem"] = _shp.getitem
dispatch.hooks["setitem"] = _shp.setitem
dispatch.hooks["astype"] = _astype


def array(object, dtype=None):
    """Like ``np.array``, but accepts (nested) lists of traced values (``np.array`` cannot).
    A traced array is copied (a new array to write into), as ``np.array`` does."""
    if isinstance(object, (list, tuple)):
        return _cast(stack([array(o) for o in object]), dtype)
    if isinstance(object, Tracer):
        return _cast(_shp.copy(object), dtype)
    return _cast(np.array(object), dtype)


def asarray(a, dtype=None):
    """Like ``np.asarray``: a traced array is returned as it is (no copy)."""
    if isinstance(a, (list, tuple)):
        return array(a, dtype)
    return _cast(a if isinstance(a, Tracer) else np.asarray(a), dtype)


def stop_gradient(x):
    return control.stop_gradient(x)


exported["array"] = array
exported["asarray"] = asarray
