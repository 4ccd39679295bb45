"""NumPy's functions on traced arrays, built from chainrule's primitives.

Every function here has NumPy's signature and semantics and is registered as the handler of its
NumPy counterpart, so ``np.sum(t, axis=0)`` on a tracer lands here; the same functions are the
``chainrule.numpy`` namespace, where they also accept plain arrays. No derivative rules here:
only compositions of ops.
"""
import builtins
import numbers

import numpy as np

from ..core import Tracer, dispatch, get_aval
from ..core.errors import ConcretizationError, InvalidArgumentError
from ..ops import arithmetic as ar
from ..ops import control
from ..ops import elementwise as el
from ..ops import linalg as la
from ..ops import reductions as red
from ..ops import shape as sh
from ._dispatch import exported, implements, implements_ufunc, unsupported

_shape = lambda x: get_aval(x).shape  # noqa: E731


def normalize_axes(axis, ndim, name="axis"):
    """``axis`` (None, int or tuple, negatives allowed) -> sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise InvalidArgumentError(f"{name}={axis} is out of range for an array of "
                                       f"dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise InvalidArgumentError(f"repeated axis in {name}={axis}")
    return tuple(sorted(out))


def _keep(y, shape, axes, keepdims):
    if keepdims:
        return sh.reshape(y, shape=tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return y


def _cast(y, dtype):
    return y if dtype is None else sh.convert_element_type(y, dtype=dtype)


def _no_out(out, where=True, fname=""):
    if out is not None:
        raise unsupported(f"the out= argument of numpy.{fname}")
    if where is not True:
        raise unsupported(f"the where= argument of numpy.{fname}")


# -- ufuncs ---------------------------------------------------------------------------------------
_UNARY = {np.exp: el.exp, np.exp2: el.exp2, np.expm1: el.expm1, np.log: el.log,
          np.log2: el.log2, np.log10: el.log10, np.log1p: el.log1p, np.sqrt: el.sqrt,
          np.cbrt: el.cbrt, np.square: el.square, np.reciprocal: el.reciprocal,
          np.sin: el.sin, np.cos: el.cos, np.tan: el.tan, np.arcsin: el.arcsin,
          np.arccos: el.arccos, np.arctan: el.arctan, np.sinh: el.sinh, np.cosh: el.cosh,
          np.tanh: el.tanh, np.arcsinh: el.arcsinh, np.arccosh: el.arccosh,
          np.arctanh: el.arctanh, np.absolute: el.abs, np.fabs: el.abs,
          np.deg2rad: el.deg2rad, np.rad2deg: el.rad2deg, np.sign: el.sign,
          np.floor: el.floor, np.ceil: el.ceil, np.trunc: el.trunc, np.rint: el.rint,
          np.isfinite: el.isfinite, np.isnan: el.isnan, np.isinf: el.isinf,
          np.negative: ar.neg, np.logical_not: ar.logical_not}
_BINARY = {np.add: ar.add, np.subtract: ar.sub, np.multiply: ar.mul, np.true_divide: ar.div,
           np.power: ar.pow, np.maximum: ar.maximum, np.minimum: ar.minimum, np.less: ar.lt,
           np.less_equal: ar.le, np.greater: ar.gt, np.greater_equal: ar.ge,
           np.equal: ar.eq, np.not_equal: ar.ne, np.logical_and: ar.logical_and,
           np.logical_or: ar.logical_or, np.logical_xor: ar.logical_xor,
           np.floor_divide: ar.floor_divide}
for _uf, _op in {**_UNARY, **_BINARY}.items():
    implements_ufunc(_uf)(_op)
implements_ufunc(np.deg2rad, np.radians, name="radians")(el.deg2rad)
implements_ufunc(np.rad2deg, np.degrees, name="degrees")(el.rad2deg)
implements_ufunc(np.absolute, name="abs")(el.abs)
implements_ufunc(np.true_divide, name="divide")(ar.div)
implements_ufunc(np.power, name="pow")(ar.pow)


@implements_ufunc(np.positive)
def positive(x):
    return x


@implements_ufunc(np.conjugate, name="conj")
def conjugate(x):
    if np.dtype(get_aval(x).dtype).kind == "c":
        raise unsupported("numpy.conjugate of complex traced arrays")
    return x


@implements_ufunc(np.remainder, name="mod")
def remainder(x, y):
    # x - floor(x / y) * y: derivative 1 in x and -floor(x / y) in y, where it exists
    return ar.sub(x, ar.mul(ar.floor_divide(x, y), y))


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


def _array_ufunc(ufunc, method, inputs, kwargs):
    out = kwargs.pop("out", None)
    if out is not None and out != (None,) * len(out):
        raise unsupported(f"the out= argument of numpy.{ufunc.__name__} on traced arrays "
                          "(assign the result instead)")
    where = kwargs.pop("where", True)
    if where is not True:
        raise unsupported(f"the where= argument of numpy.{ufunc.__name__}")
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("casting", None)
    kwargs.pop("order", None)
    kwargs.pop("subok", None)
    if method == "__call__":
        if kwargs:
            raise unsupported(f"numpy.{ufunc.__name__} with {sorted(kwargs)}")
        return _cast(dispatch.call_ufunc(ufunc, *inputs), dtype)
    if method == "reduce":
        reducer = _REDUCERS.get(ufunc)
        if reducer is None:
            raise unsupported(f"numpy.{ufunc.__name__}.reduce")
        axis = kwargs.pop("axis", 0)
        keepdims = kwargs.pop("keepdims", False)
        if kwargs:
            raise unsupported(f"numpy.{ufunc.__name__}.reduce with {sorted(kwargs)}")
        return _cast(reducer(inputs[0], axis=axis, keepdims=keepdims), dtype)
    if method == "accumulate" and ufunc is np.add:
        return _cast(cumsum(inputs[0], axis=kwargs.pop("axis", 0)), dtype)
    if method == "outer" and len(inputs) == 2:
        a, b = inputs
        na, nb = len(_shape(a)), len(_shape(b))
        a = sh.reshape(a, shape=_shape(a) + (1,) * nb)
        return _cast(dispatch.call_ufunc(ufunc, a, b), dtype)
    raise unsupported(f"numpy.{ufunc.__name__}.{method}")


dispatch.hooks["array_ufunc"] = _array_ufunc


# -- reductions -----------------------------------------------------------------------------------
@implements(np.sum)
def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    _no_out(out, where, "sum")
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    y = red.reduce_sum(a, axes=axes) if axes else a
    if initial is not None:
        y = ar.add(y, initial)
    return _cast(_keep(y, shape, axes, keepdims), dtype)


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    _no_out(out, where, "mean")
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    count = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    if get_aval(a).dtype.kind in "biu":
        a = sh.convert_element_type(a, dtype=np.float64)
    return _cast(ar.div(sum(a, axis=axes, keepdims=keepdims), count), dtype)


_mean = mean


def _extremum(reducer, fname):
    def f(a, axis=None, out=None, keepdims=False, initial=None, where=True):
        _no_out(out, where, fname)
        if initial is not None:
            raise unsupported(f"the initial= argument of numpy.{fname}")
        shape = _shape(a)
        axes = normalize_axes(axis, len(shape))
        y = reducer(a, axes=axes) if axes else a
        return _keep(y, shape, axes, keepdims)
    f.__name__ = fname
    return f


max = implements(np.max, np.amax, name="max")(_extremum(red.reduce_max, "max"))
min = implements(np.min, np.amin, name="min")(_extremum(red.reduce_min, "min"))
exported["amax"], exported["amin"] = max, min
_REDUCERS = {np.add: sum, np.maximum: max, np.minimum: min}


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None,
        correction=None):
    _no_out(out, where, "var")
    shape = _shape(a)
    axes = normalize_axes(axis, len(shape))
    n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    ddof = ddof if correction is None else correction
    m = _mean(a, axis=axes, keepdims=True)
    d = ar.sub(a, m)
    return _cast(ar.div(sum(ar.mul(d, d), axis=axes, keepdims=keepdims), n - ddof), dtype)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None,
        correction=None):
    return el.sqrt(var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                       where=where, correction=correction))


@implements(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None):
    _no_out(out, True, "cumsum")
    if axis is None:
        a, axis = ravel(a), 0
    axis = normalize_axes(axis, len(_shape(a)))[0]
    return _cast(red.cumsum(a, axis=axis), dtype)


@implements(np.argmax)
def argmax(a, axis=None, out=None, keepdims=False):
    _no_out(out, True, "argmax")
    if axis is None:
        return red.argmax(ravel(a), axis=0)
    return red.argmax(a, axis=normalize_axes(axis, len(_shape(a)))[0])


@implements(np.argmin)
def argmin(a, axis=None, out=None, keepdims=False):
    _no_out(out, True, "argmin")
    if axis is None:
        return red.argmin(ravel(a), axis=0)
    return red.argmin(a, axis=normalize_axes(axis, len(_shape(a)))[0])


# -- shape --------------------------------------------------------------------------------------
@implements(np.reshape)
def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C":
        raise unsupported(f"numpy.reshape with order={order!r}")
    shape = newshape if shape is None else shape
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    size = get_aval(a).size
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        shape = tuple(size // known if d == -1 else d for d in shape)
    if int(np.prod(shape, dtype=np.int64)) != size:
        raise InvalidArgumentError(f"cannot reshape an array of size {size} into {shape}")
    return sh.reshape(a, shape=shape)


@implements(np.ravel)
def ravel(a, order="C"):
    return reshape(a, (-1,), order=order)


@implements(np.transpose)
def transpose(a, axes=None):
    nd = len(_shape(a))
    perm = tuple(range(nd))[::-1] if axes is None else tuple(a_ % nd for a_ in axes)
    return sh.transpose(a, perm=perm)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    nd = len(_shape(a))
    perm = list(range(nd))
    i, j = axis1 % nd, axis2 % nd
    perm[i], perm[j] = perm[j], perm[i]
    return sh.transpose(a, perm=perm)


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    nd = len(_shape(a))
    src = normalize_axes(source, nd, "source") if isinstance(source, numbers.Integral) else \
        [s % nd for s in source]
    dst = [destination % nd] if isinstance(destination, numbers.Integral) else \
        [d % nd for d in destination]
    src = [src[0]] if isinstance(source, numbers.Integral) else src
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return sh.transpose(a, perm=order)


@implements(np.squeeze)
def squeeze(a, axis=None):
    shape = _shape(a)
    axes = (tuple(i for i, d in enumerate(shape) if d == 1) if axis is None
            else normalize_axes(axis, len(shape)))
    for i in axes:
        if shape[i] != 1:
            raise InvalidArgumentError(f"cannot squeeze axis {i} of size {shape[i]}")
    return sh.reshape(a, shape=tuple(d for i, d in enumerate(shape) if i not in axes))


@implements(np.expand_dims)
def expand_dims(a, axis):
    shape = _shape(a)
    nd = len(shape) + (1 if isinstance(axis, numbers.Integral) else len(axis))
    axes = normalize_axes(axis, nd)
    it = iter(shape)
    return sh.reshape(a, shape=tuple(1 if i in axes else next(it) for i in range(nd)))


@implements(np.broadcast_to)
def broadcast_to(array, shape, subok=False):
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    return sh.broadcast_to(array, shape)


@implements(np.atleast_1d)
def atleast_1d(*arys):
    res = [a if len(_shape(a)) >= 1 else sh.reshape(a, shape=(1,)) for a in arys]
    return res[0] if len(res) == 1 else res


@implements(np.atleast_2d)
def atleast_2d(*arys):
    res = []
    for a in arys:
        s = _shape(a)
        res.append(a if len(s) >= 2 else sh.reshape(a, shape=(1,) * (2 - len(s)) + s))
    return res[0] if len(res) == 1 else res


@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    _no_out(out, True, "concatenate")
    arrays = list(arrays)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    axis = normalize_axes(axis, len(_shape(arrays[0])))[0]
    return _cast(sh.concatenate(arrays, axis=axis), dtype)


@implements(np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = list(arrays)
    shapes = {_shape(a) for a in arrays}
    if len(shapes) != 1:
        raise InvalidArgumentError(f"stack: all input arrays must have the same shape, got "
                                   f"{sorted(shapes)}")
    axis = normalize_axes(axis, len(_shape(arrays[0])) + 1)[0]
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, out=out, dtype=dtype)


@implements(np.hstack)
def hstack(tup, dtype=None, casting="same_kind"):
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, axis=0 if len(_shape(arrs[0])) == 1 else 1, dtype=dtype)


@implements(np.vstack)
def vstack(tup, dtype=None, casting="same_kind"):
    return concatenate([atleast_2d(a) for a in tup], axis=0, dtype=dtype)


@implements(np.diff)
def diff(a, n=1, axis=-1, prepend=None, append=None):
    if prepend is not None or append is not None:
        raise unsupported("the prepend=/append= arguments of numpy.diff")
    nd = len(_shape(a))
    axis = normalize_axes(axis, nd)[0]
    for _ in range(n):
        hi = tuple(slice(1, None) if i == axis else slice(None) for i in range(nd))
        lo = tuple(slice(None, -1) if i == axis else slice(None) for i in range(nd))
        a = ar.sub(sh.getitem(a, idx=hi), sh.getitem(a, idx=lo))
    return a


@implements(np.copy)
def copy(a, order="K", subok=False):
    return a


# -- selection ----------------------------------------------------------------------------------
@implements(np.where)
def where(condition, x=None, y=None):
    if x is None and y is None:
        return np.nonzero(_concrete(condition, "numpy.where(condition)"))
    return ar.select(condition, x, y)


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
    if not isinstance(subscripts, str):
        raise unsupported("numpy.einsum in its interleaved (sublist) form")
    ins, out_s = _parse_einsum(subscripts.replace(" ", ""), [_shape(o) for o in operands])
    for s in ins:
        if len(set(s)) != len(s):
            raise unsupported(f"numpy.einsum with a repeated index within one operand ('{s}')")
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


# -- constructors ----------------------------------------------------------------------------
@implements(np.zeros_like)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    aval = get_aval(a)
    return np.zeros(aval.shape if shape is None else shape, dtype or aval.dtype)


@implements(np.ones_like)
def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    aval = get_aval(a)
    return np.ones(aval.shape if shape is None else shape, dtype or aval.dtype)


@implements(np.empty_like)
def empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return zeros_like(prototype, dtype=dtype, shape=shape)


@implements(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    aval = get_aval(a)
    shape = aval.shape if shape is None else shape
    if isinstance(fill_value, Tracer):
        return _cast(sh.broadcast_to(fill_value, shape), dtype or aval.dtype)
    return np.full(shape, fill_value, dtype or aval.dtype)


def _like_constructor(np_func):
    def constructor(*args, **kwargs):
        return np_func(*args, **kwargs)
    constructor.__name__ = np_func.__name__
    return constructor


for _f in (np.zeros, np.ones, np.empty, np.full, np.arange, np.linspace, np.eye, np.identity):
    implements(_f)(_like_constructor(_f))


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


@implements(np.isscalar)
def isscalar(element):
    return False


# -- indexing and conversion hooks ------------------------------------------------------------
def _concrete(x, what):
    if isinstance(x, Tracer):
        try:
            return x.concrete_value()
        except ConcretizationError:
            raise ConcretizationError(f"{what} needs a concrete value, but it is traced")
    return x


def normalize_index(idx, shape):
    """A user's index -> a tuple of ints, slices, None, Ellipsis and integer arrays."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    dim = 0
    for i in idx:
        if isinstance(i, Tracer):
            i = _concrete(i, "an index")
            if i.dtype.kind not in "biu":
                raise ConcretizationError("a traced floating-point value was used as an index")
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype == bool:
            out.extend(np.nonzero(i))
            dim += i.ndim
            continue
        if isinstance(i, np.ndarray):
            if i.dtype.kind not in "iu":
                raise IndexError(f"arrays used as indices must be of integer type, not {i.dtype}")
            out.append(i)
        elif isinstance(i, numbers.Integral) and not isinstance(i, bool):
            i = int(i)
            n = shape[dim] if dim < len(shape) else 0
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
            out.append(i)
        elif i is None or i is Ellipsis or isinstance(i, slice):
            out.append(i)
        else:
            raise IndexError(f"unsupported index {i!r}")
        if i is not None and i is not Ellipsis:
            dim += 1
    return tuple(out)


def _getitem(x, idx):
    return sh.getitem(x, idx=normalize_index(idx, _shape(x)))


def _setitem(x, idx, value):
    raise unsupported("item assignment (x[idx] = v) on a traced array")


dispatch.hooks["getitem"] = _getitem
dispatch.hooks["setitem"] = _setitem
dispatch.hooks["astype"] = lambda x, dtype: sh.convert_element_type(x, dtype=dtype)


def array(object, dtype=None):
    """Like ``np.array``, but accepts (nested) lists of traced values (``np.array`` cannot)."""
    if isinstance(object, (list, tuple)):
        return _cast(stack([array(o) for o in object]), dtype)
    return _cast(object, dtype)


def stop_gradient(x):
    return control.stop_gradient(x)


exported["array"] = array
exported["asarray"] = array
