"""More of NumPy on traced arrays, each a composition of the handlers of the other modules:
nan_to_num, real_if_close, iscomplex, isreal, partition, argpartition, rollaxis, dsplit; and,
for what NumPy's protocols cannot reach, ``chainrule.numpy.r_``, ``c_`` and ``vectorize``
(``np.r_[...]``, ``np.c_[...]`` and ``np.vectorize(f)(x)`` convert their inputs with
``np.asarray``, which a traced array refuses).
"""

import numpy as np

from ..core import Tracer, get_aval
from ._dispatch import exported, implements, unsupported
from ._shape import (concatenate, concrete, moveaxis, one_axis, reshape, split, stack,
                     take_along_axis)


def _is_complex(x):
    return np.dtype(get_aval(x).dtype).kind == "c"


@implements(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +-inf -> ``posinf``/``neginf`` (the largest finite values by default);
    derivative 1 where x is finite, 0 at the replaced entries."""
    if _is_complex(x):
        return np.real(nan_to_num(np.real(x), copy, nan, posinf, neginf)) \
            + 1j * nan_to_num(np.imag(x), copy, nan, posinf, neginf)
    if np.dtype(get_aval(x).dtype).kind not in "fc":
        return x
    big = np.finfo(get_aval(x).dtype).max
    posinf = big if posinf is None else posinf
    neginf = -big if neginf is None else neginf
    inf = np.isinf(x)
    return np.where(np.isnan(x), nan, np.where(inf & (x > 0), posinf,
                                               np.where(inf & (x < 0), neginf, x)))


@implements(np.real_if_close)
def real_if_close(a, tol=100):
    """``np.real(a)`` if every imaginary part is within ``tol`` machine epsilons of 0 (decided
    on the value, so it needs a concrete one), else ``a``."""
    if not _is_complex(a):
        return a
    eps = np.finfo(get_aval(a).dtype).eps
    tol = tol * eps if tol > 1 else tol
    imag = np.asarray(concrete(np.imag(a), "numpy.real_if_close"))
    return np.real(a) if np.all(np.abs(imag) < tol) else a


@implements(np.iscomplex)
def iscomplex(x):
    if not _is_complex(x):
        return np.zeros(get_aval(x).shape, bool)
    return np.imag(x) != 0


@implements(np.isreal)
def isreal(x):
    return ~iscomplex(x)


@implements(np.argpartition)
def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    if order is not None:
        raise unsupported("numpy.argpartition with order=")
    return np.argpartition(np.asarray(concrete(a, "numpy.argpartition")), kth, axis=axis)


@implements(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """NumPy's own arrangement (argpartition of the value), gathered from ``a``."""
    if order is not None:
        raise unsupported("numpy.partition with order=")
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return take_along_axis(a, argpartition(a, kth, axis), axis)


@implements(np.rollaxis)
def rollaxis(a, axis, start=0):
    nd = get_aval(a).ndim
    axis = one_axis(axis, nd)
    start = start + nd if start < 0 else start
    if not 0 <= start <= nd:
        raise np.exceptions.AxisError(f"start {start} out of range for {nd} dimensions")
    if axis < start:
        start -= 1
    return a if axis == start else moveaxis(a, axis, start)


@implements(np.dsplit)
def dsplit(ary, indices_or_sections):
    if get_aval(ary).ndim < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, axis=2)


def einsum_subscripts(args):
    """einsum's interleaved form ``(op0, sub0, op1, sub1, ..., [out])`` -> ``(string, ops)``."""
    args = list(args)
    out = args.pop() if len(args) % 2 else None

    def letters(sub):
        return "".join("..." if s is Ellipsis else
                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(s)] for s in sub)
    ops, subs = args[0::2], args[1::2]
    spec = ",".join(letters(s) for s in subs)
    return (spec if out is None else spec + "->" + letters(out)), ops


# -- index tricks and vectorize: objects NumPy's protocols cannot reach -------------------------
class _Concatenator:
    """``r_[a, b, 0:3]`` (axis 0, at least 1-D) and ``c_[a, b]`` (last axis, 1-D as columns)."""
    def __init__(self, columns):
        self.columns = columns

    def _item(self, k):
        if isinstance(k, slice):
            return np.r_[k]
        if isinstance(k, str):
            raise unsupported("the string directives of numpy.r_/c_")
        if not isinstance(k, Tracer):
            k = np.asarray(k)
        nd = get_aval(k).ndim
        if self.columns:
            return reshape(k, (-1, 1)) if nd < 2 else k
        return reshape(k, (1,)) if nd == 0 else k

    def __getitem__(self, key):
        items = [self._item(k) for k in (key if isinstance(key, tuple) else (key,))]
        return concatenate(items, axis=-1 if self.columns else 0)


r_ = _Concatenator(columns=False)
c_ = _Concatenator(columns=True)


class vectorize:
    """``np.vectorize`` for traced arguments: ``pyfunc`` is called on each element (of the
    broadcast arguments) and the results are stacked, so Python control flow on values works
    and every transformation applies; a Python loop, like NumPy's. ``excluded`` names
    positional indices or keywords passed unchanged; ``signature=`` is not supported."""
    def __init__(self, pyfunc, otypes=None, doc=None, excluded=None, cache=False,
                 signature=None):
        if signature is not None:
            raise unsupported("chainrule.numpy.vectorize with signature=")
        self.pyfunc, self.excluded = pyfunc, set(excluded or ())
        self.__doc__ = doc or getattr(pyfunc, "__doc__", None)

    def __call__(self, *args, **kwargs):
        if not any(isinstance(a, Tracer) for a in list(args) + list(kwargs.values())):
            return np.vectorize(self.pyfunc, excluded=self.excluded)(*args, **kwargs)
        pos = [i for i in range(len(args)) if i not in self.excluded]
        keys = [k for k in kwargs if k not in self.excluded]
        vals = [args[i] for i in pos] + [kwargs[k] for k in keys]
        shape = np.broadcast_shapes(*[get_aval(v).shape if isinstance(v, Tracer)
                                      else np.shape(v) for v in vals])
        flat = [reshape(np.broadcast_to(v, shape), (-1,)) for v in vals]
        outs = []
        for n in range(int(np.prod(shape, dtype=np.int64))):
            a, kw = list(args), dict(kwargs)
            for i, v in zip(pos, flat):
                a[i] = v[n]
            for k, v in zip(keys, flat[len(pos):]):
                kw[k] = v[n]
            outs.append(self.pyfunc(*a, **kw))
        if outs and isinstance(outs[0], tuple):
            return tuple(reshape(stack([np.asarray(o[j]) if not isinstance(o[j], Tracer)
                                        else o[j] for o in outs]), shape)
                         for j in range(len(outs[0])))
        return reshape(stack([o if isinstance(o, Tracer) else np.asarray(o) for o in outs]),
                       shape)


exported.update(r_=r_, c_=c_, vectorize=vectorize)
