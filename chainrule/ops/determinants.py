"""Determinants that stay differentiable at singular matrices: det and the adjugate.

    det         (..., n, n) -> (...)          det_dot = tr(adj(A) A_dot)
    adjugate    (..., n, n) -> (..., n, n)    adj(A) = det(A) A^-1 where A is invertible

det is a polynomial in the entries of A, so its derivatives exist everywhere; written as
det(A) tr(A^-1 A_dot) they need A^-1 and fail at a singular A. Here both go through the
adjugate, computed from the SVD A = U diag(s) Vh, which exists for every A:

    adj(A) = det(U) det(Vh) Vh^T diag(p) U^T,            p_i = prod_{k != i} s_k

and its derivative, from adj(A + E) = det(U) det(Vh) Vh^T adj(diag(s) + U^T E Vh^T) U^T (U,
Vh fixed) and the first-order cofactors of a diagonal matrix plus X:

    adj(S + X)_ii = p_i + sum_{l != i} q_il X_ll,   adj(S + X)_ij = -q_ij X_ij (i != j),
    q_ij = prod_{k != i, j} s_k.

Real matrices only (complex ones keep det = sign exp(logabsdet), numpy/linalg.py).
"""
import numpy as np

from ..core import Primitive, ShapedArray, bind, get_aval
from . import arithmetic as ar
from . import reductions as red
from . import shape as sh
from .control import stop_gradient
from .decompositions import svd
from ._define import elementwise_batch, quiet
from ._sparsity import elementwise_sparsity
from .linalg import diag_embed, diagonal, matmul, mT, stacked_batch, trace


def _excluding(n, pairs):
    """A boolean mask (n, n) or (n, n, n): True where k is i (or i or j) in prod_k."""
    k = np.arange(n)
    if not pairs:
        return k[:, None] == k[None, :]
    return (k[None, None, :] == k[:, None, None]) | (k[None, None, :] == k[None, :, None])


def _products(s, pairs):
    """``p_i = prod_{k != i} s_k`` (``pairs=False``) or ``q_ij = prod_{k != i, j} s_k``, with
    no division (exact where some s_k are 0); ``s`` is (..., n)."""
    n = get_aval(s).shape[-1]
    mask = _excluding(n, pairs)
    lead = get_aval(s).ndim - 1
    expand = (slice(None),) * lead + (None,) * (mask.ndim - 1) + (slice(None),)
    terms = ar.select(mask, 1.0, sh.getitem(s, idx=expand))
    return red.reduce_prod(terms, axes=(lead + mask.ndim - 1,))


def _frame_sign(u, vh):
    # det(U) det(Vh) = +-1, piecewise constant: its derivative is 0
    return ar.mul(bind(det_p, stop_gradient(u)), bind(det_p, stop_gradient(vh)))


def _adjugate_impl(a):
    u, s, vh = np.linalg.svd(a)
    p = _impl_products(s)
    c = np.linalg.det(u) * np.linalg.det(vh)
    return c[..., None, None] * np.matmul(np.swapaxes(vh, -1, -2) * p[..., None, :],
                                          np.swapaxes(u, -1, -2))


def _impl_products(s):
    n = s.shape[-1]
    return np.prod(np.where(_excluding(n, False), 1.0, s[..., None, :]), axis=-1)


adjugate_p = Primitive("adjugate")
adjugate_p.impl = _adjugate_impl
adjugate_p.abstract_eval = lambda a: ShapedArray(a.shape, a.dtype)


def adjugate(a):
    """``(..., n, n) -> (..., n, n)``: the transposed cofactor matrix, ``det(A) A^-1`` where
    A is invertible; defined (and smooth) for every A."""
    return bind(adjugate_p, a)


def adjugate_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    out = adjugate(a)
    singular = _numerically_singular(a)
    with quiet():
        return out, ar.select(singular, _singular_adjugate_jvp(a, a_dot, singular),
                              _regular_adjugate_jvp(a, a_dot, out))


def _regular_adjugate_jvp(a, a_dot, adj):
    # invertible A: d adj = (tr(adj E) adj - adj E adj) / det(A), differentiable to every
    # order through det and adjugate themselves
    adj_e = matmul(adj, a_dot)
    scale = _as_matrix_scale(trace(adj_e))
    return ar.div(ar.sub(ar.mul(scale, adj), matmul(adj_e, adj)), _as_matrix_scale(det(a)))


def _singular_adjugate_jvp(a, a_dot, singular):
    # the SVD frame: exact to first order; its own derivative is not computed (NaN), since
    # U and V are not differentiable where singular values vanish or repeat
    u, s, vh = svd(not_differentiated(a, singular))
    x = matmul(mT(u), matmul(a_dot, mT(vh)))
    q = _products(s, True)
    off = ar.select(_excluding(get_aval(s).shape[-1], False), 0.0, q)
    d = red.reduce_sum(ar.mul(off, as_row(diagonal(x))), axes=(get_aval(q).ndim - 1,))
    inner = ar.sub(diag_embed(d), ar.mul(off, x))
    return ar.mul(matmul(mT(vh), matmul(inner, mT(u))), _as_matrix_scale(_frame_sign(u, vh)))


def as_row(v):
    """``(..., n) -> (..., 1, n)``."""
    nd = get_aval(v).ndim
    return sh.getitem(v, idx=(slice(None),) * (nd - 1) + (None, slice(None)))


def _as_matrix_scale(c):
    """``(...) -> (..., 1, 1)``: a scale per matrix of a stack."""
    nd = get_aval(c).ndim
    return sh.getitem(c, idx=(slice(None),) * nd + (None, None)) if nd else c


def _numerically_singular(a):
    """(..., 1, 1) booleans: the smallest singular value below n eps times the largest."""
    (s,) = svd(stop_gradient(a), compute_uv=False)
    n = get_aval(a).shape[-1]
    nd = get_aval(s).ndim - 1
    small = ar.le(red.reduce_min(s, axes=(nd,)),
                  ar.mul(red.reduce_max(s, axes=(nd,)), n * np.finfo(np.float64).eps))
    return _as_matrix_scale(small)


adjugate_p.jvp = adjugate_jvp

# -- not_differentiated: the identity in x, whose derivative is NaN where ``flag`` holds and 0
# elsewhere (a value whose derivative a rule does not compute there: NaN says so instead of a
# wrong number; 0 elsewhere keeps masked branches finite in nested derivatives)
not_differentiated_p = Primitive("not_differentiated")
not_differentiated_p.impl = lambda x, flag: x
not_differentiated_p.abstract_eval = lambda x, flag: ShapedArray(x.shape, x.dtype)
not_differentiated_p.jvp = lambda primals, tangents: (
    not_differentiated(*primals),
    ar.safe_mul(tangents[0], ar.select(primals[1], np.nan, 0.0)))
not_differentiated_p.deriv_class = ("nonlinear", "zero")
not_differentiated_p.batch = elementwise_batch(not_differentiated_p)
not_differentiated_p.sparsity = elementwise_sparsity


def not_differentiated(x, flag):
    return bind(not_differentiated_p, x, flag)


adjugate_p.deriv_class = ("nonlinear",)
adjugate_p.batch = stacked_batch(adjugate_p)

det_p = Primitive("det")
det_p.impl = np.linalg.det
det_p.abstract_eval = lambda a: ShapedArray(a.shape[:-2], a.dtype)


def det(a):
    """Real ``(..., n, n) -> (...)``, differentiable at singular matrices too."""
    return bind(det_p, a)


def det_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    out = det(a)
    nd = get_aval(a).ndim
    return out, red.reduce_sum(ar.mul(mT(adjugate(a)), a_dot), axes=(nd - 2, nd - 1))


det_p.jvp = det_jvp
det_p.deriv_class = ("nonlinear",)
det_p.batch = stacked_batch(det_p)
