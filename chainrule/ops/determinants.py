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

That identity holds for every E with U and Vh held fixed, so the derivatives of every order at
a singular A are those of Z -> adj(Z) at Z = U^T A Vh^T; past the first they come from the
Faddeev-LeVerrier recurrence (a polynomial in Z), added so that their value is exactly 0, for
n <= 8 (n matrix products per direction); past that they are NaN at a singular A.

Real matrices only (complex ones keep det = sign exp(logabsdet), numpy/linalg.py).
"""
import numpy as np

from ..core import Primitive, ShapedArray, Tracer, bind, get_aval
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
        if not isinstance(singular, Tracer) and not np.any(singular):   # known: one branch
            return out, _regular_adjugate_jvp(a, a_dot, out)
        regular = None if not isinstance(singular, Tracer) and np.all(singular) else \
            _regular_adjugate_jvp(a, a_dot, out)
        tangent = _singular_adjugate_jvp(a, a_dot, singular)
        return out, tangent if regular is None else ar.select(singular, tangent, regular)


def _regular_adjugate_jvp(a, a_dot, adj):
    # invertible A: d adj = (tr(adj E) adj - adj E adj) / det(A), differentiable to every
    # order through det and adjugate themselves
    adj_e = matmul(adj, a_dot)
    scale = _as_matrix_scale(trace(adj_e))
    return ar.div(ar.sub(ar.mul(scale, adj), matmul(adj_e, adj)), _as_matrix_scale(det(a)))


# past this size the polynomial form (n matrix products per direction) is not used: higher
# derivatives at a singular matrix are NaN there (not computed), never a wrong number
POLYNOMIAL_MAX_N = 8


def _singular_adjugate_jvp(a, a_dot, singular):
    # in the SVD frame of A, held fixed: adj(A) = c Vh^T adj(U^T A Vh^T) U^T holds for every A
    # (any fixed orthogonal U, Vh), so the derivatives of every order are those of
    # Z -> adj(Z) at Z = U^T A Vh^T = diag(s). The value: the cofactor products of s (no
    # cancellation); its derivatives in A: those of the polynomial form (_polynomial_adjugate
    # _jvp), added as (its value at Z) - (the same at Z held fixed), which is exactly 0, where
    # A is traced (it may be differentiated again) and n <= POLYNOMIAL_MAX_N
    exact = get_aval(a).shape[-1] <= POLYNOMIAL_MAX_N
    u, s, vh = svd(stop_gradient(a) if exact else not_differentiated(a, singular))
    x = matmul(mT(u), matmul(a_dot, mT(vh)))
    q = _products(s, True)
    off = ar.select(_excluding(get_aval(s).shape[-1], False), 0.0, q)
    d = red.reduce_sum(ar.mul(off, _as_row(diagonal(x))), axes=(get_aval(q).ndim - 1,))
    inner = ar.sub(diag_embed(d), ar.mul(off, x))
    if exact and isinstance(a, Tracer):
        z = matmul(mT(u), matmul(a, mT(vh)))
        inner = ar.add(inner, ar.sub(_polynomial_adjugate_jvp(z, x),
                                     _polynomial_adjugate_jvp(stop_gradient(z), x)))
    return ar.mul(matmul(mT(vh), matmul(inner, mT(u))), _as_matrix_scale(_frame_sign(u, vh)))


def _polynomial_adjugate_jvp(z, y):
    """``adj'(Z)[Y]`` for stacks ``(..., n, n)``, from the Faddeev-LeVerrier recurrence
    ``M_k = Z M_(k-1) + c_(n-k+1) I``, ``c_(n-k) = -tr(Z M_k) / k`` (M_1 = I,
    adj(Z) = (-1)^(n+1) M_n) and its derivative: a polynomial in Z, linear in Y, so its own
    derivatives of every order are exact wherever Z is, singular or not."""
    n = get_aval(z).shape[-1]
    if n == 1:
        return ar.mul(y, 0.0)
    eye = np.eye(n)
    zm, ym, zmd = z, y, None            # Z M_1, Y M_1, Z M_1' (M_1' = 0)
    c, cd = ar.neg(trace(z)), ar.neg(trace(y))
    for k in range(2, n + 1):
        if k > 2:
            zm, ym, zmd = matmul(z, m), matmul(y, m), matmul(z, md)
            c = ar.div(ar.neg(trace(zm)), float(k - 1))
            cd = ar.div(ar.neg(ar.add(trace(ym), trace(zmd))), float(k - 1))
        m = ar.add(zm, ar.mul(_as_matrix_scale(c), eye))
        md = ar.add(ym if zmd is None else ar.add(ym, zmd), ar.mul(_as_matrix_scale(cd), eye))
    return md if n % 2 else ar.neg(md)


def _as_row(v):
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
    """``x`` (any shape) whose derivative is NaN where the boolean ``flag`` (broadcasting
    against ``x``) holds and 0 elsewhere."""
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
