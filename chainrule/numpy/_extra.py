"""More of NumPy on traced arrays, each a composition of the handlers of the other modules:
nan_to_num, real_if_close, iscomplex, isreal, partition, argpartition, rollaxis, dsplit; and,
for what NumPy's protocols cannot reach, ``chainrule.numpy.r_``, ``c_`` and ``vectorize``
(``np.r_[...]``, ``np.c_[...]`` and ``np.vectorize(f)(x)`` convert their inputs with
``np.asarray``, which a traced array refuses).
"""

import numpy as np

from ..core import ConcretizationError, ShapedArray, Tracer, dispatch, get_aval
from ..ops import eig as eg
from ..ops import gather
from ..ops import reductions as red
from ..ops import vectorize as vz
from ._dispatch import exported, implements, unsupported
from . import linalg
from .linalg import _result_class
from ._shape import concatenate, moveaxis, one_axis, reshape, split, stack


EigResult = _result_class(np.linalg.eig(np.eye(1)), "EigResult", ("eigenvalues", "eigenvectors"))


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
    """``np.real(a)`` if every imaginary part is within ``tol`` machine epsilons of 0, else
    ``a``. The result's dtype depends on the values, so the test needs them: eager modes
    read it; jit records it as a guard (a call that decides otherwise is traced again); vmap
    and make_graph, which cannot know it, raise ConcretizationError."""
    if not _is_complex(a):
        return a
    eps = np.finfo(get_aval(a).dtype).eps
    tol = tol * eps if tol > 1 else tol
    close = np.all(np.abs(np.imag(a)) < tol)
    try:
        close = bool(close)
    except ConcretizationError:
        raise ConcretizationError(
            "numpy.real_if_close: whether the result is real depends on the values, which are "
            "not known here (under vmap each example could decide otherwise; inside make_graph "
            "there are no values): write np.real(x) where the imaginary parts are known to "
            "vanish, or keep the complex array") from None
    return np.real(a) if close else a


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
    """NumPy's arrangement, computed when the program runs (a primitive without derivative,
    staged by jit and batched by vmap like argsort)."""
    if order is not None:
        raise unsupported("numpy.argpartition with order=")
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    kth = tuple(int(k) for k in np.ravel(kth))
    return red.argpartition(a, kth=kth, axis=one_axis(axis, get_aval(a).ndim))


@implements(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """NumPy's own arrangement (argpartition), gathered from ``a``: the same elements in the
    same places in every mode, jit and vmap included."""
    if order is not None:
        raise unsupported("numpy.partition with order=")
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    axis = one_axis(axis, get_aval(a).ndim)
    return gather.take_along(a, argpartition(a, kth, axis), axis=axis)


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
    """``np.vectorize`` for traced arguments: ``pyfunc`` (scalars -> a scalar or a tuple) is
    applied to each element of the broadcast arguments, so Python control flow on values
    works. Real arguments go through one primitive (ops/vectorize.py) that loops over the
    elements when the program runs: eager, jit (no guards, no retracing), vmap and every
    derivative, each element differentiated on its own branch. The result types come from
    ``otypes``, else from staging ``pyfunc`` on scalars, else (it branches on values) from
    its results on the first element, as NumPy does (under jit that element's branch becomes
    a guard; pass ``otypes`` to avoid it). Complex arguments, traced ``excluded`` arguments
    and functions that close over traced values are called element by element as the
    program is traced instead (a Python loop, like NumPy's: Python branches then fail under
    vmap and make_graph). ``signature=`` is not supported."""
    def __init__(self, pyfunc, otypes=None, doc=None, excluded=None, cache=False,
                 signature=None):
        if signature is not None:
            raise unsupported("chainrule.numpy.vectorize with signature=")
        self.pyfunc, self.excluded = pyfunc, set(excluded or ())
        self.otypes = None if otypes is None else [np.dtype(t) for t in otypes]
        self.__doc__ = doc or getattr(pyfunc, "__doc__", None)

    def __call__(self, *args, **kwargs):
        pyfunc = self.pyfunc
        if not any(isinstance(a, Tracer) for a in
                   list(args) + list(kwargs.values()) + _closed_over(pyfunc)):
            return np.vectorize(pyfunc, otypes=self.otypes, excluded=self.excluded)(*args,
                                                                                    **kwargs)
        pos = [i for i in range(len(args)) if i not in self.excluded]
        keys = [k for k in kwargs if k not in self.excluded]
        vals = [args[i] for i in pos] + [kwargs[k] for k in keys]
        shape = np.broadcast_shapes(*[get_aval(v).shape if isinstance(v, Tracer)
                                      else np.shape(v) for v in vals])
        flat = [reshape(np.broadcast_to(v, shape), (-1,)) for v in vals]
        fixed = [args[i] if i in self.excluded else None for i in range(len(args))]
        fixed_kw = {k: v for k, v in kwargs.items() if k in self.excluded}

        def scalar_fun(*xs):
            a, kw = list(fixed), dict(fixed_kw)
            for i, x in zip(pos, xs):
                a[i] = x
            kw.update(zip(keys, xs[len(pos):]))
            return pyfunc(*a, **kw)
        held = _closed_over(pyfunc) + [v for v in fixed if v is not None] + list(fixed_kw.values())
        found = None
        if not any(isinstance(v, Tracer) for v in held) and not any(map(_is_complex, flat)):
            found = self._result_types(scalar_fun, flat)
        if found is None:
            return self._loop(scalar_fun, flat, shape)
        types, single = found
        outs = [reshape(o, shape) for o in vz.vectorize(scalar_fun, flat, nout=len(types),
                                                         dtypes=types)]
        return outs[0] if single else tuple(outs)

    def _result_types(self, scalar_fun, flat):
        """``(dtypes, single)`` of the results of ``scalar_fun``, or None if it reads traced
        values it closes over."""
        in_avals = [ShapedArray((), get_aval(v).dtype) for v in flat]
        returns = {}

        def probe(ins):
            out = scalar_fun(*ins)
            returns["tuple"] = isinstance(out, (tuple, list))
            return list(out) if returns["tuple"] else [out]
        try:
            graph, consts = dispatch.hooks["graphs"].close(probe, in_avals)
        except ConcretizationError:         # it branches on values
            if self.otypes:
                return self.otypes, len(self.otypes) == 1
            return self._first_element_types(probe, flat, returns)
        if consts:
            return None
        return (self.otypes or [np.dtype(get_aval(v).dtype) for v in graph.outvars],
                not returns["tuple"])

    def _first_element_types(self, probe, flat, returns):
        """As np.vectorize: the results of the first element, here in the current mode (under
        jit its branch is a guard; where values are unknown, one float64 result). Integer
        results of inexact arguments are float64, so that a Python 0 in one branch does not
        truncate the other elements."""
        try:
            outs = probe([v[0] for v in flat]) if get_aval(flat[0]).size else None
        except ConcretizationError:
            outs = None
        if outs is None:
            return [np.dtype(np.float64)], True
        types = []
        for o in outs:
            dt = np.dtype(get_aval(o).dtype if isinstance(o, Tracer) else np.asarray(o).dtype)
            types.append(np.dtype(np.float64) if dt.kind in "iu" else dt)
        return types, not returns["tuple"]

    def _loop(self, scalar_fun, flat, shape):
        outs = [scalar_fun(*[v[n] for v in flat])
                for n in range(int(np.prod(shape, dtype=np.int64)))]

        def stacked(items):
            return reshape(stack([o if isinstance(o, Tracer) else np.asarray(o)
                                  for o in items]), shape)
        if outs and isinstance(outs[0], tuple):
            return tuple(stacked([o[j] for o in outs]) for j in range(len(outs[0])))
        return stacked(outs)


def _closed_over(fun):
    """The values ``fun`` holds in its closure cells and defaults."""
    held = list(getattr(fun, "__defaults__", None) or ())
    for cell in getattr(fun, "__closure__", None) or ():
        try:
            held.append(cell.cell_contents)
        except ValueError:      # an empty cell
            pass
    return held


exported.update(r_=r_, c_=c_, vectorize=vectorize)


# -- the general eigendecomposition: complex results, as in JAX ---------------------------------
@implements(np.linalg.eig, name="linalg.eig")
def eig(a):
    """``(w, V)`` of a real or complex ``(..., n, n)``, always complex (NumPy returns real
    arrays when every eigenvalue is real); see chainrule/ops/eig.py for the eigenvectors'
    gauge."""
    w, v = eg.eig(a, compute_v=True)
    return EigResult(w, v)


@implements(np.linalg.eigvals, name="linalg.eigvals")
def eigvals(a):
    return eg.eig(a, compute_v=False)[0]


linalg.eig, linalg.eigvals = eig, eigvals      # chainrule.numpy.linalg.eig, as NumPy's
