"""``scipy.linalg`` functions for traced arrays: ``chainrule.scipy.linalg.solve_triangular(a, b)``.

SciPy's linalg functions convert their inputs with ``np.asarray`` instead of dispatching through
NEP 18, so ``scipy.linalg.solve_triangular(tracer, b)`` cannot be intercepted: it raises
``chainrule.ConcretizationError`` (never a wrong number). Call these instead; they take the same
arguments (``overwrite_*`` and ``check_finite`` are accepted and ignored) and plain arrays too.

Shapes follow SciPy's batching: ``a`` is ``(..., n, n)``; ``b`` is a vector ``(n,)`` or a
stack ``(..., n, k)``, batch dimensions broadcast. Factors are returned with zeros in the
unused triangle (SciPy leaves unspecified values there).
"""
import numpy as np

from ..core import Tracer, dispatch, get_aval
from ..core.errors import ConcretizationError, InvalidArgumentError
from ..numpy import linalg as nla
from ..ops import arithmetic as ar
from ..ops import complex as cx
from ..ops import decompositions as dec
from ..ops import linalg as la
from ..ops import shape as sh
from ..numpy._dispatch import unsupported

_shape = lambda x: get_aval(x).shape  # noqa: E731


def _rhs(a, b):
    """-> (a, b) as stacks with the same batch dimensions, and a function restoring the shape
    of the result for a vector ``b``."""
    a, b = nla._same_kind(a, b)
    sa, sb = _shape(a), _shape(b)
    if len(sb) == 1:
        b2 = sh.broadcast_to(sh.reshape(b, shape=sb + (1,)), sa[:-1] + (1,))
        return a, b2, lambda x: sh.reshape(x, shape=sa[:-1])
    batch = np.broadcast_shapes(sa[:-2], sb[:-2])
    return (sh.broadcast_to(a, batch + sa[-2:]), sh.broadcast_to(b, batch + sb[-2:]),
            lambda x: x)


def _trans(trans):
    codes = {0: 0, "N": 0, "n": 0, 1: 1, "T": 1, "t": 1, 2: 2, "C": 2, "c": 2}
    if trans not in codes:
        raise InvalidArgumentError(f"invalid trans={trans!r}; expected 0, 1, 2, 'N', 'T' or 'C'")
    return codes[trans]


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    """``x`` with ``op(T) x = b``, T the lower or upper triangle of ``a``; ``trans`` 0: T,
    1: T^T, 2: T^H."""
    t = _trans(trans)
    a, b2, restore = _rhs(a, b)
    if t == 2:
        a = cx.conj(a)
    return restore(la.triangular_solve(a, b2, lower=bool(lower), transpose_a=t > 0,
                                       unit_diagonal=bool(unit_diagonal)))


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor: upper U with U^T U = a from a's upper triangle (``lower=True``:
    lower L from the lower triangle)."""
    return nla.cholesky(a, upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``(c, lower)`` for ``cho_solve``; ``c`` is ``cholesky(a, lower)``."""
    return cholesky(a, lower=lower), bool(lower)


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """``x`` with ``a x = b`` from ``cho_factor(a)``: two triangular solves."""
    c, lower = c_and_lower
    c, b2, restore = _rhs(c, b)
    y = la.triangular_solve(c, b2, lower=lower, transpose_a=not lower)
    return restore(la.triangular_solve(c, y, lower=lower, transpose_a=lower))


def lu_factor(a, overwrite_a=False, check_finite=True):
    """``(lu, piv)``: L (unit diagonal implied) below the diagonal and U on and above it, and
    LAPACK's row interchanges (row i was interchanged with row piv[i])."""
    a = nla._square(a, "lu_factor")
    lu_, piv, _ = dec.lu(a)
    return lu_, piv


def _perm(piv):
    if isinstance(piv, Tracer):
        try:
            piv = piv.concrete_value()
        except ConcretizationError:
            raise ConcretizationError("chainrule.scipy.linalg.lu_solve needs concrete pivots "
                                      "(it cannot be staged with traced pivots)") from None
    return dec.perm_from_piv(np.asarray(piv))


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """``x`` with ``a x = b`` (``trans`` 1: a^T x = b; 2: a^H x = b) from ``lu_factor(a)``."""
    lu_, piv = lu_and_piv
    t = _trans(trans)
    lu_, b2, restore = _rhs(lu_, b)
    p = dec.permutation_matrix(_perm(piv), get_aval(lu_).dtype)
    p = sh.broadcast_to(p, _shape(lu_))
    if t == 2:
        lu_ = cx.conj(lu_)
    if t == 0:   # A = P^T L U: x = U^-1 L^-1 (P b)
        y = la.triangular_solve(lu_, la.matmul(p, b2), lower=True, unit_diagonal=True)
        x = la.triangular_solve(lu_, y, lower=False)
    else:        # A^T = U^T L^T P: x = P^T L^-T U^-T b
        y = la.triangular_solve(lu_, b2, lower=False, transpose_a=True)
        y = la.triangular_solve(lu_, y, lower=True, transpose_a=True, unit_diagonal=True)
        x = la.matmul(la.mT(p), y)
    return restore(x)


def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """``(P, L, U)`` with ``a = P @ L @ U`` for square ``a``; ``(P @ L, U)`` with
    ``permute_l``; ``p_indices`` gives P as row indices (``a = L[p] @ U``)."""
    a = nla._square(a, "lu")
    lu_, _, perm = dec.lu(a)
    n = _shape(a)[-1]
    lower = ar.add(la.tril(lu_, -1), np.eye(n, dtype=get_aval(a).dtype))
    upper = la.triu(lu_)
    perm = np.asarray(perm.concrete_value() if isinstance(perm, Tracer) else perm)
    inv_perm = np.argsort(perm, axis=-1)
    pmat = la.mT(dec.permutation_matrix(perm, get_aval(a).dtype))
    if permute_l:
        return la.matmul(sh.broadcast_to(pmat, _shape(a)), lower), upper
    if p_indices:
        return inv_perm, lower, upper
    return pmat, lower, upper


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):
    """``x`` with ``a x = b`` (``transposed``: a^T x = b). ``assume_a`` "sym", "her" and
    "pos" read one triangle of ``a`` (``lower``), as SciPy does; "lower triangular" and
    "upper triangular" solve with that triangle."""
    if assume_a in ("lower triangular", "upper triangular"):
        return solve_triangular(a, b, trans=1 if transposed else 0,
                                lower=assume_a == "lower triangular")
    if assume_a in ("sym", "symmetric", "her", "hermitian", "pos", "positive definite"):
        if cx.is_complex(a):
            raise unsupported(f"chainrule.scipy.linalg.solve with assume_a={assume_a!r} for "
                              "complex matrices")
        a = la.symmetrize(nla._square(a, "solve"), lower=bool(lower))
    elif assume_a not in (None, "gen", "general"):
        raise unsupported(f"chainrule.scipy.linalg.solve with assume_a={assume_a!r}")
    a = nla._square(a, "solve")
    if transposed:
        a = la.mT(a)
    a, b2, restore = _rhs(a, b)
    return restore(la.solve(a, b2))


def inv(a, overwrite_a=False, check_finite=True):
    return nla.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    return nla.det(a)


def expm(A):
    """The matrix exponential of ``A (..., n, n)``; its derivative is the Frechet derivative,
    differentiable again to any order."""
    return la.expm(nla._square(A, "expm"))


def expm_frechet(A, E, method=None, compute_expm=True, check_finite=True):
    """``(expm(A), L(A, E))`` (``L`` alone without ``compute_expm``): the Frechet derivative
    of expm at ``A`` in the direction ``E``."""
    A, E = nla._same_kind(nla._square(A, "expm_frechet"), E)
    frechet = la.expm_frechet(A, E)
    return (la.expm(A), frechet) if compute_expm else frechet


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
         type=1, check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """The standard symmetric eigenproblem (``b=None``, no subsets): ``(w, v)`` or ``w``."""
    if b is not None or subset_by_index is not None or subset_by_value is not None:
        raise unsupported("chainrule.scipy.linalg.eigh with b= or a subset")
    uplo = "L" if lower else "U"
    if eigvals_only:
        return nla.eigvalsh(a, UPLO=uplo)
    return tuple(nla.eigh(a, UPLO=uplo))


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True,
        lapack_driver="gesdd"):
    r = nla.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(r) if compute_uv else r


# the Tensor API reaches these functions too (core.dispatch.foreign_aware)
dispatch.make_foreign_aware(globals(), __name__)
