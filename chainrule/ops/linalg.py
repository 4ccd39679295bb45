"""Linear algebra: contractions (dot_general), diagonals, linear solves, determinants
(slogdet), pinv and the matrix exponential; the decompositions are in decompositions.py.

Matrices are stacks ``(..., m, n)``; every rule is written for stacks, and batching (vmap) only
adds a leading batch axis (``stacked_batch``). ``dot_general``'s ``spec`` is explicit:
``"ij,jk->ik"``, letters only, no ellipsis and no letter repeated within one operand (the NumPy
layer expands matmul, dot, tensordot, einsum, ... into this form; einsum takes repeated letters
with ``diagonal`` first). A letter in both operands and the output is a batch axis; in both
operands but not the output, a contracted axis; in one operand only and not the output, summed
first. The implementation reshapes to one batched matrix product (BLAS).

Linear primitives (with transposes): dot_general, diagonal / diag_embed (each other's transpose),
solve and triangular_solve in their right-hand side, expm_frechet in its direction. Nonlinear
ones have only a JVP rule, written with those, so reverse mode and every higher order follow:

    solve           x_dot = solve(A, b_dot - A_dot x);  transpose in b: solve(A^T, ct)
    triangular      x_dot = op(T)^-1 (b_dot - op(T_dot) x), T_dot masked to the triangle read
    slogdet         logabsdet_dot = Re tr(A^-1 A_dot); sign_dot = i sign Im tr(A^-1 A_dot)
    pinv            X_dot = -X A_dot X + X X^H A_dot^H (I - A X) + (I - X A) A_dot^H X^H X
                    (constant rank)
    expm            the Frechet derivative expm_frechet(A, A_dot) = [expm([[A, E], [0, A]])]_12,
                    linear in E (transpose: expm_frechet(A^T, ct)); its JVP in A is the same
                    trick one size up, so every order exists

Complex matrices follow ops/complex.py: transposes are plain (not conjugate) transposes, and a
real operand's cotangent is the real part of what reaches it.

Rules: ``*_jvp(primals, tangents, **params)``, ``*_transpose(ct, *args, **params)``,
``*_batch(vals, dims, **params)``.
"""
import functools
import math

import numpy as np
import scipy.linalg

from ..core import Primitive, ShapedArray, Zero, bind, get_aval, is_undefined
from . import arithmetic as ar
from . import complex as cx
from . import reductions as red
from . import shape as sh
from . import _series as ser
from ._define import linear_taylor, quiet
from ._sparsity import contraction_sparsity, selection_sparsity



# -- batching: the vmapped axis becomes one more leading batch axis -------------------------------
def to_front(x, d):
    """``x`` with its axis ``d`` moved to the front."""
    if d == 0:
        return x
    nd = get_aval(x).ndim
    return sh.transpose(x, perm=(d,) + tuple(i for i in range(nd) if i != d))


def stacked_batch(prim):
    """The batching rule of a primitive on stacks whose operands share their batch dimensions:
    batched operands get the vmapped axis in front, the others are broadcast to it."""
    def batch(vals, dims, **params):
        size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
        args = [sh.broadcast_to(v, (size,) + get_aval(v).shape) if d is None else to_front(v, d)
                for v, d in zip(vals, dims)]
        out = bind(prim, *args, **params)
        return out, ([0] * len(out) if prim.multiple_results else 0)
    batch.__name__ = f"{prim.name}_batch"
    return batch


def rhs_batch(prim):
    """Batching of ``prim(a, b)`` (a solve): with ``a`` unbatched the vmapped axis of ``b``
    joins its columns, so one factorization of ``a`` serves the whole batch."""
    stacked = stacked_batch(prim)

    def batch(vals, dims, **params):
        (a, b), (da, db) = vals, dims
        if da is not None:
            return stacked(vals, dims, **params)
        nd = get_aval(b).ndim
        b = sh.transpose(b, perm=tuple(i for i in range(nd) if i != db) + (db,))
        shape = get_aval(b).shape
        x = bind(prim, a, sh.reshape(b, shape=shape[:-2] + (shape[-2] * shape[-1],)), **params)
        return sh.reshape(x, shape=shape), nd - 1
    batch.__name__ = f"{prim.name}_batch"
    return batch


def parse_spec(spec):
    ins, out = spec.split("->")
    a, b = ins.split(",")
    return a, b, out


@functools.lru_cache(maxsize=1024)
def _matrix_plan(spec):
    """For a spec that is one matrix/vector product (no batch letter, one contracted letter,
    at most one free letter per operand): (transpose a?, transpose b?, transpose result?);
    else None. Such products go straight to BLAS on transposed views, with no copies."""
    a_s, b_s, o_s = parse_spec(spec)
    if len(set(a_s)) != len(a_s) or len(set(b_s)) != len(b_s):
        return None
    contract = [c for c in a_s if c in b_s]
    free_a = [c for c in a_s if c not in b_s]
    free_b = [c for c in b_s if c not in a_s]
    if (len(contract) != 1 or contract[0] in o_s or len(free_a) > 1 or len(free_b) > 1
            or sorted(o_s) != sorted(free_a + free_b)):
        return None
    return (a_s[0] != (free_a + contract)[0], b_s[0] != (contract + free_b)[0],
            o_s != "".join(free_a + free_b))


def _dot_general_impl(a, b, *, spec):
    plan = _matrix_plan(spec)
    if plan is not None:
        ta, tb, tr = plan
        r = np.matmul(a.T if ta else a, b.T if tb else b)
        return r.T if tr else r
    a_s, b_s, o_s = parse_spec(spec)
    a_sum = tuple(i for i, c in enumerate(a_s) if c not in b_s and c not in o_s)
    if a_sum:
        a = np.sum(a, axis=a_sum)
        a_s = "".join(c for c in a_s if c in b_s or c in o_s)
    b_sum = tuple(i for i, c in enumerate(b_s) if c not in a_s and c not in o_s)
    if b_sum:
        b = np.sum(b, axis=b_sum)
        b_s = "".join(c for c in b_s if c in a_s or c in o_s)
    batch = [c for c in a_s if c in b_s and c in o_s]
    contract = [c for c in a_s if c in b_s and c not in o_s]
    free_a = [c for c in a_s if c not in b_s]
    free_b = [c for c in b_s if c not in a_s]
    size = dict(zip(a_s, np.shape(a)))
    size.update(zip(b_s, np.shape(b)))
    prod = lambda cs: math.prod(size[c] for c in cs)  # noqa: E731
    a2 = np.transpose(a, [a_s.index(c) for c in batch + free_a + contract])
    b2 = np.transpose(b, [b_s.index(c) for c in batch + contract + free_b])
    a2 = np.reshape(a2, (prod(batch), prod(free_a), prod(contract)))
    b2 = np.reshape(b2, (prod(batch), prod(contract), prod(free_b)))
    r = np.matmul(a2, b2)
    r_s = batch + free_a + free_b
    r = np.reshape(r, [size[c] for c in r_s])
    return np.transpose(r, [r_s.index(c) for c in o_s])


def _dot_general_abstract(a, b, *, spec):
    a_s, b_s, o_s = parse_spec(spec)
    size = dict(zip(a_s, a.shape))
    size.update(zip(b_s, b.shape))
    return ShapedArray([size[c] for c in o_s], np.result_type(a.dtype, b.dtype))


dot_general_p = Primitive("dot_general", linear_in=(0, 1))
dot_general_p.impl = _dot_general_impl
dot_general_p.abstract_eval = _dot_general_abstract


def dot_general(a, b, *, spec):
    return bind(dot_general_p, a, b, spec=spec)


def dot_general_jvp(primals, tangents, *, spec):
    (a, b), (a_dot, b_dot) = primals, tangents
    out = dot_general(a, b, spec=spec)
    t = None
    if type(a_dot) is not Zero:
        t = dot_general(a_dot, b, spec=spec)
    if type(b_dot) is not Zero:
        t_b = dot_general(a, b_dot, spec=spec)
        t = t_b if t is None else ar.add(t, t_b)
    return out, t


def _transpose_operand(ct, other, target_aval, ct_s, other_s, target_s, ct_first):
    """Solve for one operand: contract ``ct`` with ``other`` down to ``target_s``; letters of
    the target that appear in neither (summed out of it alone) are broadcast back."""
    present = "".join(c for c in target_s if c in ct_s or c in other_s)
    spec = f"{ct_s},{other_s}->{present}" if ct_first else f"{other_s},{ct_s}->{present}"
    r = dot_general(ct, other, spec=spec) if ct_first else dot_general(other, ct, spec=spec)
    if present != target_s:
        kept = [target_aval.shape[i] if c in present else 1 for i, c in enumerate(target_s)]
        r = sh.broadcast_to(sh.reshape(r, shape=kept), target_aval.shape)
    return cx.real_cotangent(r, target_aval)


def dot_general_transpose(ct, a, b, *, spec):
    a_s, b_s, o_s = parse_spec(spec)
    if is_undefined(a):
        return _transpose_operand(ct, b, a.aval, o_s, b_s, a_s, True), None
    return None, _transpose_operand(ct, a, b.aval, o_s, a_s, b_s, False)


dot_general_p.jvp, dot_general_p.transpose = dot_general_jvp, dot_general_transpose
dot_general_p.deriv_class = ("linear", "linear", "cross")


def dot_general_taylor(primals, series, *, spec):
    (a, b), (sa, sb) = primals, series
    out = dot_general(a, b, spec=spec)
    k = ser.order_of(series)
    c = ser.bilinear_series(lambda u, v: dot_general(u, v, spec=spec), ser.full(a, sa, k),
                            ser.full(b, sb, k), out)
    return out, ser.finish(out, c[1:])


dot_general_p.taylor = dot_general_taylor
dot_general_p.sparsity = contraction_sparsity


def dot_general_batch(vals, dims, *, spec):
    (a, b), (da, db) = vals, dims
    a_s, b_s, o_s = parse_spec(spec)
    c = next(ch for ch in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if ch not in spec)
    if da is not None:
        a, a_s = to_front(a, da), c + a_s
    if db is not None:
        b, b_s = to_front(b, db), c + b_s
    return dot_general(a, b, spec=f"{a_s},{b_s}->{c}{o_s}"), 0


dot_general_p.batch = dot_general_batch


# -- helpers on stacks of matrices, written with ops ----------------------------------------------
_BATCH = "abcdefghlmnopqrstuvwxyz"


def matmul(a, b):
    """``a @ b`` for stacks ``(..., m, k)`` and ``(..., k, n)`` with the same batch dimensions."""
    bl = _BATCH[:get_aval(a).ndim - 2]
    return dot_general(a, b, spec=f"{bl}ij,{bl}jk->{bl}ik")


def mT(x):
    """Swap the last two axes."""
    nd = get_aval(x).ndim
    return sh.transpose(x, perm=tuple(range(nd - 2)) + (nd - 1, nd - 2))


def mH(x):
    """The conjugate transpose of the last two axes."""
    return cx.conj(mT(x))


def tril(x, k=0):
    n, m = get_aval(x).shape[-2:]
    return ar.mul(x, np.tri(n, m, k, dtype=cx.real_dtype(get_aval(x).dtype)))


def triu(x, k=0):
    n, m = get_aval(x).shape[-2:]
    return ar.mul(x, 1 - np.tri(n, m, k - 1, dtype=cx.real_dtype(get_aval(x).dtype)))


def symmetrize(x, lower=True):
    """The symmetric matrix that ``x``'s lower (or upper) triangle stands for."""
    return ar.add(tril(x), mT(tril(x, -1))) if lower else ar.add(triu(x), mT(triu(x, 1)))


def real_eye(n, dtype):
    return np.eye(n, dtype=cx.real_dtype(dtype))


def off_diagonal_inverse(d):
    """``F[..., i, j] = 1 / d[..., i, j]`` off the diagonal and 0 on it (d's diagonal is 0)."""
    n = get_aval(d).shape[-1]
    eye = real_eye(n, get_aval(d).dtype)
    return ar.div(1.0 - eye, ar.add(d, eye))


def as_row(v):
    """``(..., n) -> (..., 1, n)``: v_j along rows."""
    return sh.reshape(v, shape=get_aval(v).shape[:-1] + (1, get_aval(v).shape[-1]))


def as_col(v):
    """``(..., n) -> (..., n, 1)``: v_i along columns."""
    return sh.reshape(v, shape=get_aval(v).shape + (1,))


def add_tangent(t, u):
    return u if t is None or type(t) is Zero else ar.add(t, u)


# -- diagonal / diag_embed: each other's transpose -------------------------------------------------
diagonal_p = Primitive("diagonal", linear_in=(0,))
diagonal_p.impl = lambda x: np.diagonal(x, axis1=-2, axis2=-1)
diagonal_p.abstract_eval = lambda x: ShapedArray(x.shape[:-1], x.dtype)


def diagonal(x):
    """``(..., n, n) -> (..., n)``: the main diagonal of each matrix."""
    return bind(diagonal_p, x)


def _diag_embed_impl(d):
    n = d.shape[-1]
    out = np.zeros(d.shape + (n,), d.dtype)
    i = np.arange(n)
    out[..., i, i] = d
    return out


diag_embed_p = Primitive("diag_embed", linear_in=(0,))
diag_embed_p.impl = _diag_embed_impl
diag_embed_p.abstract_eval = lambda d: ShapedArray(d.shape + d.shape[-1:], d.dtype)


def diag_embed(d):
    """``(..., n) -> (..., n, n)``: diagonal matrices with diagonals ``d``."""
    return bind(diag_embed_p, d)


diagonal_p.jvp = lambda primals, tangents: (diagonal(primals[0]), diagonal(tangents[0]))
diagonal_p.transpose = lambda ct, x: (diag_embed(ct),)
diagonal_p.deriv_class = ("linear",)
diagonal_p.sparsity = selection_sparsity(diagonal_p)
diag_embed_p.jvp = lambda primals, tangents: (diag_embed(primals[0]), diag_embed(tangents[0]))
diag_embed_p.transpose = lambda ct, d: (diagonal(ct),)
diag_embed_p.deriv_class = ("linear",)
diagonal_p.taylor, diag_embed_p.taylor = linear_taylor(diagonal_p), linear_taylor(diag_embed_p)
diag_embed_p.sparsity = selection_sparsity(diag_embed_p)


def _trailing_batch(prim, core):
    """Batching of a one-operand primitive acting on its last ``core`` axes."""
    def batch(vals, dims):
        (x,), (d,) = vals, dims
        if d >= get_aval(x).ndim - core:
            x, d = to_front(x, d), 0
        return bind(prim, x), d
    batch.__name__ = f"{prim.name}_batch"
    return batch


diagonal_p.batch = _trailing_batch(diagonal_p, 2)
diag_embed_p.batch = _trailing_batch(diag_embed_p, 1)


def trace(x):
    """``(..., n, n) -> (...)``."""
    return red.reduce_sum(diagonal(x), axes=(get_aval(x).ndim - 2,))


def take_diagonals(x, subscripts):
    """For einsum: ``x`` with subscripts in which a letter repeats (``"iij"``) -> the operand
    restricted to the diagonals and its subscripts with each letter once (``"ji"``)."""
    s = subscripts
    while len(set(s)) != len(s):
        c = next(ch for ch in s if s.count(ch) > 1)
        i = s.index(c)
        j = s.index(c, i + 1)
        keep = [k for k in range(len(s)) if k not in (i, j)]
        x = diagonal(sh.transpose(x, perm=keep + [i, j]))
        s = "".join(s[k] for k in keep) + c
    return x, s


# -- solve: A x = b for stacks A (..., n, n), b (..., n, k); linear in b --------------------------
solve_p = Primitive("solve", linear_in=(1,))
solve_p.impl = lambda a, b: np.linalg.solve(a, b)
solve_p.abstract_eval = lambda a, b: ShapedArray(b.shape, np.result_type(a.dtype, b.dtype))


def solve(a, b):
    """``A^-1 b`` for ``a`` of shape ``(..., n, n)`` and ``b`` of shape ``(..., n, k)`` (same
    batch dimensions)."""
    return bind(solve_p, a, b)


def solve_jvp(primals, tangents):
    (a, b), (a_dot, b_dot) = primals, tangents
    x = solve(a, b)
    rhs = None if type(b_dot) is Zero else b_dot
    if type(a_dot) is not Zero:
        ax = matmul(a_dot, x)
        rhs = ar.neg(ax) if rhs is None else ar.sub(rhs, ax)
    return x, solve(a, rhs)


def solve_transpose(ct, a, b):
    return None, cx.real_cotangent(solve(mT(a), ct), b.aval)


solve_p.jvp, solve_p.transpose = solve_jvp, solve_transpose
solve_p.deriv_class = ("nonlinear", "linear", "cross")


def solve_series(a, b, solve0, op=lambda m: m):
    """The series of ``X`` with ``op(A) X = B`` (A, B full series): matching powers of t,
    ``op(A_0) X_k = B_k - sum_{i=1..k} op(A_i) X_{k-i}``, one solve with ``A_0`` per order."""
    x = [solve0(b[0])] + [None] * (len(a) - 1)
    for k in range(1, len(a)):
        rhs = b[k]
        for i in range(1, k + 1):
            if a[i] is not None and x[k - i] is not None:
                rhs = ser.sub(rhs, matmul(op(a[i]), x[k - i]))
        x[k] = None if rhs is None else solve0(rhs)
    return x


def solve_taylor(primals, series):
    (a, b), (sa, sb) = primals, series
    k = ser.order_of(series)
    xs = solve_series(ser.full(a, sa, k), ser.full(b, sb, k), lambda r: solve(a, r))
    return xs[0], ser.finish(xs[0], xs[1:])


solve_p.taylor = solve_taylor
solve_p.batch = rhs_batch(solve_p)


# -- triangular_solve: op(T) x = b, T the lower or upper triangle of a; linear in b ---------------
def _triangular_solve_impl(a, b, *, lower, transpose_a, unit_diagonal):
    return scipy.linalg.solve_triangular(a, b, trans=1 if transpose_a else 0, lower=lower,
                                         unit_diagonal=unit_diagonal, check_finite=False)


triangular_solve_p = Primitive("triangular_solve", linear_in=(1,))
triangular_solve_p.impl = _triangular_solve_impl
triangular_solve_p.abstract_eval = lambda a, b, **params: ShapedArray(
    b.shape, np.result_type(a.dtype, b.dtype))


def triangular_solve(a, b, *, lower, transpose_a=False, unit_diagonal=False):
    """``op(T)^-1 b``: T is the lower (``lower=True``) or upper triangle of ``a`` (its diagonal
    taken as ones with ``unit_diagonal``), op(T) = T^T with ``transpose_a``. Shapes as solve."""
    return bind(triangular_solve_p, a, b, lower=lower, transpose_a=transpose_a,
                unit_diagonal=unit_diagonal)


def triangular_solve_jvp(primals, tangents, *, lower, transpose_a, unit_diagonal):
    (a, b), (a_dot, b_dot) = primals, tangents
    params = dict(lower=lower, transpose_a=transpose_a, unit_diagonal=unit_diagonal)
    x = triangular_solve(a, b, **params)
    rhs = None if type(b_dot) is Zero else b_dot
    if type(a_dot) is not Zero:
        k = -1 if unit_diagonal else 0
        t_dot = tril(a_dot, k) if lower else triu(a_dot, -k)
        tx = matmul(mT(t_dot) if transpose_a else t_dot, x)
        rhs = ar.neg(tx) if rhs is None else ar.sub(rhs, tx)
    return x, triangular_solve(a, rhs, **params)


def triangular_solve_transpose(ct, a, b, *, lower, transpose_a, unit_diagonal):
    return None, cx.real_cotangent(triangular_solve(
        a, ct, lower=lower, transpose_a=not transpose_a, unit_diagonal=unit_diagonal), b.aval)


triangular_solve_p.jvp = triangular_solve_jvp
triangular_solve_p.transpose = triangular_solve_transpose
triangular_solve_p.deriv_class = ("nonlinear", "linear", "cross")


def triangular_solve_taylor(primals, series, *, lower, transpose_a, unit_diagonal):
    (a, b), (sa, sb) = primals, series
    k = ser.order_of(series)
    d = -1 if unit_diagonal else 0

    def op(m):      # op(T) of a coefficient: the triangle read, transposed if asked
        t = tril(m, d) if lower else triu(m, -d)
        return mT(t) if transpose_a else t
    xs = solve_series(ser.full(a, sa, k), ser.full(b, sb, k), lambda r: triangular_solve(
        a, r, lower=lower, transpose_a=transpose_a, unit_diagonal=unit_diagonal), op)
    return xs[0], ser.finish(xs[0], xs[1:])


triangular_solve_p.taylor = triangular_solve_taylor
triangular_solve_p.batch = rhs_batch(triangular_solve_p)


def right_solve_upper(x, r):
    """``x R^-1`` for upper-triangular R."""
    return mT(triangular_solve(r, mT(x), lower=False, transpose_a=True))


# -- slogdet: [sign, log|det|] ---------------------------------------------------------------------
slogdet_p = Primitive("slogdet", multiple_results=True)
slogdet_p.impl = lambda a: list(np.linalg.slogdet(a))
slogdet_p.abstract_eval = lambda a: [ShapedArray(a.shape[:-2], a.dtype),
                                     ShapedArray(a.shape[:-2], cx.real_dtype(a.dtype))]


def slogdet(a):
    """``(..., n, n) -> [sign (...), logabsdet (...)]``; sign is complex for complex ``a``."""
    return bind(slogdet_p, a)


def slogdet_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    sign, logabsdet = slogdet(a)
    if not cx.is_complex(a):
        # tr(adj(A) A_dot) / det(A): inf or nan at a singular A (as JAX gives), not LinAlgError
        from .determinants import det_jvp
        with quiet():
            det_a, det_dot = det_jvp((a,), (a_dot,))
            return [sign, logabsdet], [Zero(get_aval(sign)), ar.div(det_dot, det_a)]
    t = trace(solve(a, a_dot))
    return [sign, logabsdet], [ar.mul(sign, cx.complex_(0.0, cx.imag(t))), cx.real(t)]


slogdet_p.jvp = slogdet_jvp
slogdet_p.deriv_class = ("nonlinear",)


def slogdet_taylor(primals, series):
    # d/dt log det A = tr(A^-1 A'): Y = A^-1 A' by solve_series, log det_k = tr(Y_{k-1}) / k
    (a,), (s,) = primals, series
    sign, logabsdet = slogdet(a)
    big_a = ser.full(a, s)
    order = len(s)
    a_dot = [ser.scale(c, j) for j, c in enumerate(big_a[1:], 1)]
    y = solve_series(big_a[:order], a_dot, lambda r: solve(a, r))
    logdet = [None] + [None if c is None else ar.mul(trace(c), 1.0 / (j + 1))
                       for j, c in enumerate(y)]
    if not cx.is_complex(a):
        return [sign, logabsdet], [None, ser.finish(logabsdet, logdet[1:])]
    phase = [None] + [None if c is None else cx.complex_(0.0, cx.imag(c)) for c in logdet[1:]]
    sign_series = ser.exp_series(phase, sign)
    return [sign, logabsdet], [ser.finish(sign, sign_series[1:]),
                               ser.finish(logabsdet, [None if c is None else cx.real(c)
                                                      for c in logdet[1:]])]


slogdet_p.taylor = slogdet_taylor
slogdet_p.batch = stacked_batch(slogdet_p)

# -- pinv: Moore-Penrose pseudo-inverse ------------------------------------------------------------
pinv_p = Primitive("pinv")
pinv_p.impl = lambda a, *, rcond, hermitian: np.linalg.pinv(a, rcond=rcond, hermitian=hermitian)
pinv_p.abstract_eval = lambda a, **params: ShapedArray(a.shape[:-2] + a.shape[-2:][::-1], a.dtype)


def pinv(a, *, rcond=1e-15, hermitian=False):
    """``(..., m, n) -> (..., n, m)``; singular values below ``rcond`` times the largest are
    taken as zero."""
    return bind(pinv_p, a, rcond=rcond, hermitian=hermitian)


def pinv_jvp(primals, tangents, *, rcond, hermitian):
    (a,), (a_dot,) = primals, tangents
    x = pinv(a, rcond=rcond, hermitian=hermitian)
    a_dot_h = mH(a_dot)
    t = ar.neg(matmul(x, matmul(a_dot, x)))
    t = ar.add(t, matmul(matmul(x, mH(x)), ar.sub(a_dot_h, matmul(a_dot_h, matmul(a, x)))))
    t = ar.add(t, matmul(ar.sub(a_dot_h, matmul(x, matmul(a, a_dot_h))), matmul(mH(x), x)))
    return x, t


pinv_p.jvp = pinv_jvp
pinv_p.deriv_class = ("nonlinear",)


def product_coefficient(left, right, m, f=None):
    """``sum_{i=0..m} f(left_i, right_{m-i})`` (``f`` defaults to matmul; None entries are
    zero): coefficient m of a product of two series, available as soon as both are known to m."""
    acc = None
    for i in range(m + 1):
        if left[i] is not None and right[m - i] is not None:
            acc = ser.add(acc, (f or matmul)(left[i], right[m - i]))
    return acc


def pinv_taylor(primals, series, *, rcond, hermitian):
    # the JVP as an ODE in X (constant rank): X' = -X A' X + X X^H A'^H (I - A X)
    # + (I - X A) A'^H X^H X, solved online: coefficient m of the right side needs X_0..X_m
    # and gives X_{m+1} = rhs_m / (m + 1); every product is filled one coefficient at a time
    (a,), (s,) = primals, series
    x0 = pinv(a, rcond=rcond, hermitian=hermitian)
    big_a = ser.full(a, s)
    order = len(s)
    a_dot_h = [None if c is None else mH(ser.scale(c, j)) for j, c in enumerate(big_a[1:], 1)]
    a_dot = [None if c is None else mH(c) for c in a_dot_h]
    xs, xhs = [x0] + [None] * order, [mH(x0)] + [None] * order
    names = ("x_ad", "t1", "ax", "w", "xxh", "t2", "xa", "xhx", "y", "t3")
    p = {name: [] for name in names}
    for m in range(order):
        p["x_ad"].append(product_coefficient(xs, a_dot, m))
        p["t1"].append(ser.neg(product_coefficient(p["x_ad"], xs, m)))
        p["ax"].append(product_coefficient(big_a, xs, m))
        residual_ax = [None if c is None else ar.neg(c) for c in p["ax"]]   # I - A X, less I
        p["w"].append(ser.add(product_coefficient(a_dot_h, residual_ax, m), a_dot_h[m]))
        p["xxh"].append(product_coefficient(xs, xhs, m))
        p["t2"].append(product_coefficient(p["xxh"], p["w"], m))
        p["xa"].append(product_coefficient(xs, big_a, m))
        p["xhx"].append(product_coefficient(xhs, xs, m))
        p["y"].append(product_coefficient(a_dot_h, p["xhx"], m))
        residual_xa = [None if c is None else ar.neg(c) for c in p["xa"]]   # I - X A, less I
        t3 = ser.add(product_coefficient(residual_xa, p["y"], m), p["y"][m])
        rhs = ser.add(ser.add(p["t1"][m], p["t2"][m]), t3)
        xs[m + 1] = ser.scale(rhs, 1.0 / (m + 1))
        xhs[m + 1] = None if xs[m + 1] is None else mH(xs[m + 1])
    return x0, ser.finish(x0, xs[1:])


pinv_p.taylor = pinv_taylor
pinv_p.batch = stacked_batch(pinv_p)

# -- expm and its Frechet derivative ---------------------------------------------------------------
expm_p = Primitive("expm")
expm_p.impl = lambda a: scipy.linalg.expm(a)
expm_p.abstract_eval = lambda a: ShapedArray(a.shape, a.dtype)


def expm(a):
    """``(..., n, n) -> (..., n, n)``: the matrix exponential."""
    return bind(expm_p, a)


expm_p.jvp = lambda primals, tangents: (expm(primals[0]), expm_frechet(primals[0], tangents[0]))
expm_p.deriv_class = ("nonlinear",)


def expm_series(a):
    """The series of ``expm(A(t))``: the exponential of the block upper-triangular Toeplitz
    matrix of ``A_0..A_K`` (truncated matrix series form an algebra isomorphic to it) is the
    Toeplitz matrix of the result, whose first block row holds its coefficients."""
    order = len(a) - 1
    aval = get_aval(a[0])
    n, nd = aval.shape[-1], aval.ndim
    zeros = np.zeros(aval.shape, aval.dtype)
    rows = [sh.concatenate([zeros] * i + [zeros if c is None else c for c in a[:order + 1 - i]],
                           axis=nd - 1) for i in range(order + 1)]
    big = expm(sh.concatenate(rows, axis=nd - 2))
    lead = (slice(None),) * (nd - 2)
    return [sh.getitem(big, idx=lead + (slice(0, n), slice(j * n, (j + 1) * n)))
            for j in range(order + 1)]


def expm_taylor(primals, series):
    (a,), (s,) = primals, series
    out = expm(a)
    return out, ser.finish(out, expm_series(ser.full(a, s))[1:])


expm_p.taylor = expm_taylor
expm_p.batch = stacked_batch(expm_p)


def _block(a, e, lower_left):
    """``[[a, e], [lower_left, a]]`` for stacks of n x n matrices."""
    nd = get_aval(a).ndim
    top = sh.concatenate([a, e], axis=nd - 1)
    bottom = sh.concatenate([lower_left, a], axis=nd - 1)
    return sh.concatenate([top, bottom], axis=nd - 2)


def _expm_frechet_impl(a, e):
    n = a.shape[-1]
    dtype = np.result_type(a.dtype, e.dtype)
    m = np.concatenate([np.concatenate([a, e], axis=-1).astype(dtype),
                        np.concatenate([np.zeros_like(a), a], axis=-1).astype(dtype)], axis=-2)
    return scipy.linalg.expm(m)[..., :n, n:]


expm_frechet_p = Primitive("expm_frechet", linear_in=(1,))
expm_frechet_p.impl = _expm_frechet_impl
expm_frechet_p.abstract_eval = lambda a, e: ShapedArray(e.shape, np.result_type(a.dtype, e.dtype))


def expm_frechet(a, e):
    """The derivative of expm at ``a`` in the direction ``e`` (both ``(..., n, n)``)."""
    return bind(expm_frechet_p, a, e)


def expm_frechet_jvp(primals, tangents):
    (a, e), (a_dot, e_dot) = primals, tangents
    out = expm_frechet(a, e)
    t = None
    if type(e_dot) is not Zero:
        t = expm_frechet(a, e_dot)
    if type(a_dot) is not Zero:
        n = get_aval(a).shape[-1]
        zeros = np.zeros(get_aval(a).shape, get_aval(a).dtype)
        m_dot = _block(a_dot, zeros, zeros)
        big = expm_frechet(_block(a, e, zeros), m_dot)
        nd = get_aval(a).ndim
        t = add_tangent(t, sh.getitem(big, idx=(slice(None),) * (nd - 2)
                                       + (slice(0, n), slice(n, None))))
    return out, t


def expm_frechet_transpose(ct, a, e):
    return None, cx.real_cotangent(expm_frechet(mT(a), ct), e.aval)


expm_frechet_p.jvp, expm_frechet_p.transpose = expm_frechet_jvp, expm_frechet_transpose
expm_frechet_p.deriv_class = ("nonlinear", "linear", "cross")


def expm_frechet_taylor(primals, series):
    # the upper-right block of expm([[A, E], [0, A]]), whose series expm_series gives
    (a, e), (sa, se) = primals, series
    out = expm_frechet(a, e)
    k = ser.order_of(series)
    aval = get_aval(a)
    n, nd = aval.shape[-1], aval.ndim
    zeros = np.zeros(aval.shape, np.result_type(aval.dtype, get_aval(e).dtype))
    blocks = [None if ca is None and ce is None else
              _block(zeros if ca is None else ca, zeros if ce is None else ce, zeros)
              for ca, ce in zip(ser.full(a, sa, k), ser.full(e, se, k))]
    lead = (slice(None),) * (nd - 2)
    coeffs = [sh.getitem(c, idx=lead + (slice(0, n), slice(n, None)))
              for c in expm_series(blocks)[1:]]
    return out, ser.finish(out, coeffs)


expm_frechet_p.taylor = expm_frechet_taylor
expm_frechet_p.batch = stacked_batch(expm_frechet_p)
