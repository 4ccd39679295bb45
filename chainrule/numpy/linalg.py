"""``numpy.linalg`` on traced arrays (``cnp.linalg.solve``, or ``np.linalg.solve(tracer, b)``
through NEP 18), plus ``np.kron`` and ``np.vdot`` (which conjugates complex arrays).

Compositions of the primitives of ``ops/linalg.py`` and ``ops/decompositions.py``; no
derivative rules here. Stacks of matrices ``(..., m, n)`` are accepted where NumPy accepts them.
Derivatives exist where the function is differentiable:

- ``eigh`` eigenvectors need distinct eigenvalues, ``svd`` vectors distinct nonzero singular
  values (at a repeated value they are not unique, and their derivatives come out inf/NaN).
  Eigenvalues and singular values get finite first derivatives even when repeated; those are
  exact for functions symmetric within a repeated group (sums, traces, norms), which are the
  differentiable ones there. Their second derivatives need distinct values too.
- ``det``, ``inv``, ``solve`` need a nonsingular matrix (det's derivative det(A) tr(A^-1 A_dot)
  is NaN at a singular A); ``pinv`` and ``lstsq`` a constant rank near the point.
- ``cholesky`` and ``eigh`` read one triangle, as LAPACK does: their derivatives are those of
  the function of that triangle (the gradient lies in it), so finite differences in any
  direction agree with them.
- Decompositions (cholesky, qr, eigh, svd, lstsq) are differentiated for real matrices only;
  solve, inv, det, slogdet, pinv, matrix_power, multi_dot, norm and the products also take
  complex ones.
"""
import builtins
import collections
import numbers

import numpy as np

from ..core import Tracer, dispatch, get_aval
from ..core.errors import ConcretizationError, InvalidArgumentError
from ..ops import arithmetic as ar
from ..ops import complex as cx
from ..ops import decompositions as dec
from ..ops import determinants as dets
from ..ops import elementwise as el
from ..ops import linalg as la
from ..ops import reductions as red
from ..ops import shape as sh
from ._dispatch import implements, unsupported
from ._funcs import normalize_axes
from ._shape import from_sequence

_shape = lambda x: get_aval(x).shape  # noqa: E731



def _result_class(example, name, fields):
    """NumPy's own named-tuple class of a result, so that traced and plain calls return the
    same pytree structure (a plain namedtuple where NumPy returns tuples)."""
    cls = type(example)
    return cls if hasattr(cls, "_fields") else collections.namedtuple(name, fields)


SlogdetResult = _result_class(np.linalg.slogdet(np.eye(1)), "SlogdetResult",
                              ["sign", "logabsdet"])
EighResult = _result_class(np.linalg.eigh(np.eye(1)), "EighResult",
                           ["eigenvalues", "eigenvectors"])
QRResult = _result_class(np.linalg.qr(np.eye(1)), "QRResult", ["Q", "R"])
SVDResult = _result_class(np.linalg.svd(np.eye(1)), "SVDResult", ["U", "S", "Vh"])


def _inexact(x):
    """Integer and boolean arrays are computed in float64, as LAPACK does."""
    return x if get_aval(x).dtype.kind in "fc" else sh.convert_element_type(x, dtype=np.float64)


def _same_kind(*xs):
    """Inexact operands, all complex if one is (real ones promoted with ``to_complex``)."""
    xs = [_inexact(x) for x in xs]
    if any(cx.is_complex(x) for x in xs):
        xs = [cx.to_complex(x) for x in xs]
    return xs


def _square(a, fname):
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise InvalidArgumentError(f"numpy.linalg.{fname}: expected a square matrix or a stack "
                                   f"of them (..., n, n), got shape {s}")
    return _inexact(a)


def _real_only(a, fname):
    if cx.is_complex(a) and isinstance(a, Tracer):
        raise unsupported(f"numpy.linalg.{fname} of a complex traced matrix (its derivative is "
                          "implemented for real matrices)")
    return a


def _concrete(x, what):
    if isinstance(x, Tracer):
        try:
            return x.concrete_value()
        except ConcretizationError:
            raise ConcretizationError(f"{what} needs a concrete value, but it is traced "
                                      "(staged)") from None
    return x


def _eye_like(a):
    n = _shape(a)[-1]
    return sh.broadcast_to(np.eye(n, dtype=get_aval(a).dtype), _shape(a))


def _abs(x):
    return cx.complex_abs(x) if cx.is_complex(x) else el.abs(x)


def _abs2(x):
    if cx.is_complex(x):
        re, im = cx.real(x), cx.imag(x)
        return ar.add(ar.mul(re, re), ar.mul(im, im))
    return ar.mul(x, x)


def _safe_sqrt(s):
    """sqrt with derivative 0 (not 0/0) at 0: the gradient of a 2-norm at x = 0 is 0."""
    at_zero = ar.eq(s, 0.0)
    return ar.select(at_zero, 0.0, el.sqrt(ar.select(at_zero, 1.0, s)))


def _move_to_end(x, axes):
    nd = len(_shape(x))
    return sh.transpose(x, perm=[i for i in range(nd) if i not in axes] + list(axes))


# -- products --------------------------------------------------------------------------------------
@implements(np.vdot)
def vdot(a, b):
    """``sum(conj(a) * b)`` over the flattened arrays."""
    a, b = _same_kind(a, b)
    return la.dot_general(cx.conj(sh.reshape(a, shape=(get_aval(a).size,))),
                          sh.reshape(b, shape=(get_aval(b).size,)), spec="i,i->")


@implements(np.kron)
def kron(a, b):
    """The Kronecker product; the operand with fewer dimensions gets leading ones."""
    sa, sb = _shape(a), _shape(b)
    nd = builtins.max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    a2 = sh.reshape(a, shape=tuple(d for k in sa for d in (k, 1)))
    b2 = sh.reshape(b, shape=tuple(d for k in sb for d in (1, k)))
    a2, b2 = _same_kind_if_traced(a2, b2)
    return sh.reshape(ar.mul(a2, b2), shape=tuple(i * j for i, j in zip(sa, sb)))


def _same_kind_if_traced(a, b):
    if cx.is_complex(a) != cx.is_complex(b):
        return _same_kind(a, b)
    return a, b


def _chain_order(dims):
    """Cheapest parenthesization of a matrix chain with shapes dims[i] x dims[i + 1]:
    split[i][j] is where the product of matrices i..j splits."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = float("inf")
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


@implements(np.linalg.multi_dot, name="linalg.multi_dot")
def multi_dot(arrays, *, out=None):
    """``arrays[0] @ arrays[1] @ ...`` in the cheapest order; a 1-d first (last) array is a row
    (column) vector."""
    if out is not None:
        raise unsupported("the out= argument of numpy.linalg.multi_dot")
    arrays = _same_kind(*arrays)
    if len(arrays) < 2:
        raise InvalidArgumentError("numpy.linalg.multi_dot needs at least two arrays")
    first_1d, last_1d = len(_shape(arrays[0])) == 1, len(_shape(arrays[-1])) == 1
    if first_1d:
        arrays[0] = sh.reshape(arrays[0], shape=(1,) + _shape(arrays[0]))
    if last_1d:
        arrays[-1] = sh.reshape(arrays[-1], shape=_shape(arrays[-1]) + (1,))
    for x in arrays:
        if len(_shape(x)) != 2:
            raise InvalidArgumentError("numpy.linalg.multi_dot: arrays must be 2-d (the first "
                                       "and last may be 1-d)")
    split = _chain_order([_shape(arrays[0])[0]] + [_shape(x)[1] for x in arrays])

    def product(i, j):
        if i == j:
            return arrays[i]
        k = split[i][j]
        return la.matmul(product(i, k), product(k + 1, j))
    r = product(0, len(arrays) - 1)
    s = _shape(r)
    return sh.reshape(r, shape=(s[:1] if not first_1d else ()) + (s[1:] if not last_1d else ()))


@implements(np.linalg.matrix_power, name="linalg.matrix_power")
def matrix_power(a, n):
    """``a`` to the integer power ``n`` by repeated squaring (``n < 0``: of ``inv(a)``)."""
    if not isinstance(n, numbers.Integral):
        raise TypeError("numpy.linalg.matrix_power: the exponent must be an integer")
    a = _square(a, "matrix_power")
    if n == 0:
        return np.broadcast_to(np.eye(_shape(a)[-1], dtype=get_aval(a).dtype), _shape(a))
    if n < 0:
        a, n = inv(a), -n
    result, power = None, a
    while n:
        if n & 1:
            result = power if result is None else la.matmul(result, power)
        n >>= 1
        if n:
            power = la.matmul(power, power)
    return result


# -- solves and inverses ---------------------------------------------------------------------------
@implements(np.linalg.solve, name="linalg.solve")
def solve(a, b):
    """``x`` with ``a @ x = b``: ``a (..., n, n)``, ``b (n,)`` (a vector, NumPy 2 semantics) or
    ``(..., n, k)``; batch dimensions broadcast."""
    a, b = _same_kind(_square(a, "solve"), b)
    sa, sb = _shape(a), _shape(b)
    if len(sb) == 1:
        b2 = sh.broadcast_to(sh.reshape(b, shape=sb + (1,)), sa[:-1] + (1,))
        return sh.reshape(la.solve(a, b2), shape=sa[:-1])
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    return la.solve(sh.broadcast_to(a, batch + sa[-2:]), sh.broadcast_to(b, batch + sb[-2:]))


@implements(np.linalg.inv, name="linalg.inv")
def inv(a):
    a = _square(a, "inv")
    return la.solve(a, _eye_like(a))


@implements(np.linalg.slogdet, name="linalg.slogdet")
def slogdet(a):
    """``(sign, logabsdet)`` of ``a (..., n, n)``."""
    return SlogdetResult(*la.slogdet(_square(a, "slogdet")))


@implements(np.linalg.det, name="linalg.det")
def det(a):
    """``(..., n, n) -> (...)``; real matrices through the adjugate (differentiable at singular
    matrices too, ops/determinants.py), complex ones as ``sign * exp(logabsdet)``."""
    a = _square(a, "det")
    if np.dtype(get_aval(a).dtype).kind != "c":
        return dets.det(a)
    sign, logabsdet = la.slogdet(a)
    return ar.mul(sign, el.exp(logabsdet))


@implements(np.linalg.pinv, name="linalg.pinv")
def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    a = _inexact(a)
    tol = rtol if rcond is None else rcond
    if tol is None:
        tol = 1e-15
    if np.ndim(tol) != 0:
        raise unsupported("numpy.linalg.pinv with an array rcond")
    return la.pinv(a, rcond=float(tol), hermitian=bool(hermitian))


@implements(np.linalg.lstsq, name="linalg.lstsq")
def lstsq(a, b, rcond=None):
    """``(x, residuals, rank, s)`` as NumPy returns them; ``x = pinv(a) @ b`` with NumPy's
    cutoff. ``rank`` (and so the shape of ``residuals``) is read from the concrete value of
    ``a``: inside staged code lstsq raises ConcretizationError."""
    a, b = _same_kind(a, b)
    _real_only(a, "lstsq")
    m, n = _shape(a)
    tol = np.finfo(get_aval(a).dtype).eps * builtins.max(m, n) if rcond is None else rcond
    s = dec.svd(a, compute_uv=False)[0]
    x = la.dot_general(la.pinv(a, rcond=float(tol), hermitian=False), b,
                       spec="ij,j->i" if len(_shape(b)) == 1 else "ij,jk->ik")
    try:
        s_val = np.asarray(_concrete(s, "numpy.linalg.lstsq (the rank of a)"))
    except ConcretizationError:
        # values unknown (vmap, make_graph): the rank is a traced value, and the residuals
        # are given whenever m > n (as JAX does under jit), 0 where a is rank deficient
        return _lstsq_staged(a, b, x, s, tol)
    rank = int(np.sum(s_val > tol * s_val.max())) if s_val.size else 0
    if rank == n and m > n:
        r = ar.sub(b, la.dot_general(a, x, spec="ij,j->i" if len(_shape(b)) == 1
                                     else "ij,jk->ik"))
        residuals = red.reduce_sum(_abs2(r), axes=(0,))
        if len(_shape(b)) == 1:
            residuals = sh.reshape(residuals, shape=(1,))
    else:
        residuals = np.empty((0,), dtype=cx.real_dtype(get_aval(a).dtype))
    return x, residuals, np.int32(rank), s


def _lstsq_staged(a, b, x, s, tol):
    m, n = _shape(a)
    big = ar.gt(s, ar.mul(red.reduce_max(s, axes=(0,)), tol))
    rank = red.reduce_sum(sh.convert_element_type(big, dtype=np.int32), axes=(0,))
    if m <= n:
        return x, np.empty((0,), dtype=cx.real_dtype(get_aval(a).dtype)), rank, s
    vec = len(_shape(b)) == 1
    r = ar.sub(b, la.dot_general(a, x, spec="ij,j->i" if vec else "ij,jk->ik"))
    residuals = red.reduce_sum(_abs2(r), axes=(0,))
    residuals = sh.reshape(residuals, shape=(1,)) if vec else residuals
    return x, ar.select(ar.eq(rank, n), residuals, 0.0), rank, s


@implements(np.linalg.tensorsolve, name="linalg.tensorsolve")
def tensorsolve(a, b, axes=None):
    """``x`` with ``tensordot(a, x, x.ndim) = b``, through one matrix solve."""
    if axes is not None:
        nd = len(_shape(a))
        axes = [ax % nd for ax in axes]
        a = sh.transpose(a, perm=[i for i in range(nd) if i not in axes] + axes)
    sa, sb = _shape(a), _shape(b)
    x_shape = sa[len(sb):]
    n = int(np.prod(sb, dtype=np.int64))
    if int(np.prod(x_shape, dtype=np.int64)) != n:
        raise InvalidArgumentError("numpy.linalg.tensorsolve: a is not square in the split "
                                   "given by b's shape")
    x = solve(sh.reshape(a, shape=(n, n)), sh.reshape(b, shape=(n,)))
    return sh.reshape(x, shape=x_shape)


@implements(np.linalg.tensorinv, name="linalg.tensorinv")
def tensorinv(a, ind=2):
    sa = _shape(a)
    lead, trail = sa[:ind], sa[ind:]
    n = int(np.prod(lead, dtype=np.int64))
    return sh.reshape(inv(sh.reshape(a, shape=(n, n))), shape=trail + lead)


@implements(np.linalg.cond, name="linalg.cond")
def cond(x, p=None):
    """The condition number: ratio of extreme singular values (p None, 2, -2), else
    ``norm(x, p) * norm(inv(x), p)``."""
    if p in (None, 2, -2):
        s = svd(x, compute_uv=False)
        last = (len(_shape(s)) - 1,)
        big, small = red.reduce_max(s, axes=last), red.reduce_min(s, axes=last)
        return ar.div(big, small) if p != -2 else ar.div(small, big)
    return ar.mul(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


@implements(np.linalg.matrix_rank, name="linalg.matrix_rank")
def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """An integer (no derivative), from the concrete value of ``A``."""
    return np.linalg.matrix_rank(_concrete(A, "numpy.linalg.matrix_rank"), tol=tol,
                                 hermitian=hermitian, rtol=rtol)


# -- factorizations --------------------------------------------------------------------------------
@implements(np.linalg.cholesky, name="linalg.cholesky")
def cholesky(a, /, *, upper=False):
    """Lower factor L (``upper=True``: U = L^T) of a symmetric positive definite ``a``, read from
    its lower (upper) triangle as LAPACK does; the derivative is that of the function of that
    triangle."""
    a = _real_only(_square(a, "cholesky"), "cholesky")
    return la.mT(dec.cholesky(la.mT(a))) if upper else dec.cholesky(a)


@implements(np.linalg.qr, name="linalg.qr")
def qr(a, mode="reduced"):
    """``(Q, R)`` (``mode="reduced"``, or ``"complete"`` when m <= n) or ``R`` (``mode="r"``)."""
    a = _real_only(_inexact(a), "qr")
    m, n = _shape(a)[-2:]
    if mode not in ("reduced", "complete", "r") or (mode == "complete" and m > n):
        raise unsupported(f"numpy.linalg.qr with mode={mode!r} (for m > n the extra columns of "
                          "a complete Q are not unique, so have no derivative)")
    if m >= n:
        q, r = dec.qr(a)
    else:   # A = Q [R1 R2]: Q R1 is the QR of the leading square block, R2 = Q^T A[:, m:]
        nd = len(_shape(a))
        lead = (slice(None),) * (nd - 1)
        q, r1 = dec.qr(sh.getitem(a, idx=lead + (slice(0, m),)))
        r2 = la.matmul(la.mT(q), sh.getitem(a, idx=lead + (slice(m, None),)))
        r = sh.concatenate([r1, r2], axis=nd - 1)
    return r if mode == "r" else QRResult(q, r)


@implements(np.linalg.eigh, name="linalg.eigh")
def eigh(a, UPLO="L"):
    """``(eigenvalues ascending, eigenvectors)`` of a real symmetric or complex Hermitian
    ``a`` read from one triangle. Eigenvector derivatives need distinct eigenvalues; complex
    eigenvectors have the gauge diag(V^H V_dot) = 0 (as JAX); no Taylor mode for complex."""
    a = _square(a, "eigh")
    return EighResult(*dec.eigh(a, lower=_uplo(UPLO), compute_v=True))


@implements(np.linalg.eigvalsh, name="linalg.eigvalsh")
def eigvalsh(a, UPLO="L"):
    a = _square(a, "eigvalsh")
    return dec.eigh(a, lower=_uplo(UPLO), compute_v=False)[0]


def _uplo(uplo):
    if uplo not in ("L", "U", "l", "u"):
        raise InvalidArgumentError(f"UPLO must be 'L' or 'U', got {uplo!r}")
    return uplo in ("L", "l")


@implements(np.linalg.svd, name="linalg.svd")
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """``(U, S, Vh)`` or ``S``. With vectors, ``full_matrices=True`` is refused for non-square
    ``a`` (the extra columns are not unique); singular vectors need distinct nonzero singular
    values to be differentiable."""
    a = _inexact(a)
    if not compute_uv:
        return dec.svd(a, compute_uv=False)[0]
    m, n = _shape(a)[-2:]
    if full_matrices and m != n:
        raise unsupported("numpy.linalg.svd with full_matrices=True of a non-square traced "
                          "matrix; pass full_matrices=False")
    return SVDResult(*dec.svd(a, compute_uv=True))


@implements(np.linalg.svdvals, name="linalg.svdvals")
def svdvals(x, /):
    return svd(x, compute_uv=False)


# -- norms -----------------------------------------------------------------------------------------
def _vector_norm(x, ord, axis):
    """Norm over the single axis ``axis`` (reduced away)."""
    axes = (axis,)
    if ord is None or ord == 2:
        return _safe_sqrt(red.reduce_sum(_abs2(x), axes=axes))
    if ord == np.inf:
        return red.reduce_max(_abs(x), axes=axes)
    if ord == -np.inf:
        return red.reduce_min(_abs(x), axes=axes)
    if ord == 0:
        nonzero = ar.ne(x, 0)
        return red.reduce_sum(sh.convert_element_type(
            nonzero, dtype=cx.real_dtype(get_aval(x).dtype)), axes=axes)
    if ord == 1:
        return red.reduce_sum(_abs(x), axes=axes)
    if isinstance(ord, str):
        raise InvalidArgumentError(f"invalid norm order {ord!r} for vectors")
    return ar.pow(red.reduce_sum(ar.pow(_abs(x), float(ord)), axes=axes), 1.0 / ord)


def _matrix_norm(x, ord, row, col):
    """Norm over the axes ``row`` and ``col`` (both reduced away)."""
    if ord in (None, "fro", "f"):
        return _safe_sqrt(red.reduce_sum(_abs2(x), axes=tuple(sorted((row, col)))))
    if ord in ("nuc", 2, -2):       # singular values, of real or complex matrices
        s = dec.svd(_move_to_end(x, (row, col)), compute_uv=False)[0]
        last = (len(_shape(s)) - 1,)
        if ord == "nuc":
            return red.reduce_sum(s, axes=last)
        return red.reduce_max(s, axes=last) if ord == 2 else red.reduce_min(s, axes=last)
    if ord in (1, -1, np.inf, -np.inf):
        summed, other = (row, col) if ord in (1, -1) else (col, row)
        sums = red.reduce_sum(_abs(x), axes=(summed,))
        other = other - 1 if other > summed else other
        return (red.reduce_max if ord > 0 else red.reduce_min)(sums, axes=(other,))
    raise InvalidArgumentError(f"invalid norm order {ord!r} for matrices")


@implements(np.linalg.norm, name="linalg.norm")
def norm(x, ord=None, axis=None, keepdims=False):
    """NumPy's vector and matrix norms. The 2-norm and 'fro' have gradient 0 at x = 0."""
    x = _inexact(from_sequence(x))
    shape = _shape(x)
    nd = len(shape)
    if axis is None:
        if ord is None:
            r = _safe_sqrt(red.reduce_sum(_abs2(x), axes=tuple(range(nd))))
            axes = tuple(range(nd))
            return _keepdims(r, shape, axes) if keepdims else r
        if nd not in (1, 2):
            raise InvalidArgumentError("numpy.linalg.norm: improper number of dimensions "
                                       "for an order without an axis")
        axis = tuple(range(nd))
    axes = normalize_axes(axis, nd) if not isinstance(axis, tuple) else \
        tuple(a % nd for a in axis)
    if len(axes) == 1:
        r = _vector_norm(x, ord, axes[0])
    elif len(axes) == 2:
        r = _matrix_norm(x, ord, *axes)
    else:
        raise InvalidArgumentError("numpy.linalg.norm: axis must be an int or a pair")
    return _keepdims(r, shape, axes) if keepdims else r


def _keepdims(r, shape, axes):
    return sh.reshape(r, shape=tuple(1 if i in axes else d for i, d in enumerate(shape)))


@implements(np.linalg.vector_norm, name="linalg.vector_norm")
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    x = _inexact(x)
    shape = _shape(x)
    if axis is None:
        r = norm(sh.reshape(x, shape=(get_aval(x).size,)), ord=ord, axis=0)
        return _keepdims(r, shape, tuple(range(len(shape)))) if keepdims else r
    if isinstance(axis, tuple) and len(axis) > 1:   # several axes: flatten them into one
        axes = normalize_axes(axis, len(shape))
        moved = _move_to_end(x, axes)
        kept = _shape(moved)[:len(shape) - len(axes)]
        size = int(np.prod([shape[i] for i in axes], dtype=np.int64))
        r = norm(sh.reshape(moved, shape=kept + (size,)), ord=ord, axis=-1)
        return _keepdims(r, shape, axes) if keepdims else r
    return norm(x, ord=ord, axis=axis, keepdims=keepdims)


@implements(np.linalg.matrix_norm, name="linalg.matrix_norm")
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


# -- small array-API functions of numpy.linalg -----------------------------------------------------
@implements(np.linalg.matrix_transpose, name="linalg.matrix_transpose")
def matrix_transpose(x, /):
    return la.mT(x)


@implements(np.linalg.matmul, name="linalg.matmul")
def matmul(x1, x2, /):
    return dispatch.call_ufunc(np.matmul, x1, x2)


@implements(np.linalg.outer, name="linalg.outer")
def outer(x1, x2, /):
    x1, x2 = _same_kind_if_traced(x1, x2)
    return la.dot_general(x1, x2, spec="i,j->ij")


@implements(np.linalg.diagonal, name="linalg.diagonal")
def linalg_diagonal(x, /, *, offset=0):
    nd = len(_shape(x))
    return diagonal(x, offset, nd - 2, nd - 1)


@implements(np.linalg.trace, name="linalg.trace")
def linalg_trace(x, /, *, offset=0, dtype=None):
    nd = len(_shape(x))
    return trace(x, offset, nd - 2, nd - 1, dtype)


# -- diagonals and traces of the last two axes -----------------------------------------------------
def diagonal(a, offset=0, axis1=0, axis2=1):
    """np.diagonal through the ``diagonal`` primitive (square blocks cut out with slices)."""
    nd = len(_shape(a))
    x = _move_to_end(a, (axis1 % nd, axis2 % nd))
    n, m = _shape(x)[-2:]
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    k = builtins.max(0, builtins.min(n - r0, m - c0))
    lead = (slice(None),) * (nd - 2)
    return la.diagonal(sh.getitem(x, idx=lead + (slice(r0, r0 + k), slice(c0, c0 + k))))


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    d = diagonal(a, offset, axis1, axis2)
    r = red.reduce_sum(d, axes=(len(_shape(d)) - 1,))
    return r if dtype is None else sh.convert_element_type(r, dtype=dtype)
