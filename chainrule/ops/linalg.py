"""Linear algebra: contractions (dot_general), diagonals, linear solves, factorizations
(cholesky, qr, lu, eigh, svd), determinants (slogdet), pinv and the matrix exponential.

Matrices are stacks ``(..., m, n)``; every rule is written for stacks. ``dot_general``'s ``spec``
is explicit: ``"ij,jk->ik"``, letters only, no ellipsis and no letter repeated within one
operand (the NumPy layer expands matmul, dot, tensordot, einsum, ... into this form; einsum takes
repeated letters with ``diagonal`` first). A letter in both operands and the output is a batch
axis; in both operands but not the output, a contracted axis; in one operand only and not the
output, summed first. The implementation reshapes to one batched matrix product (BLAS).

Linear primitives (with transposes): dot_general, diagonal / diag_embed (each other's transpose),
solve and triangular_solve in their right-hand side, expm_frechet in its direction. Nonlinear
ones have only a JVP rule, written with those, so reverse mode and every higher order follow:

    solve           x_dot = solve(A, b_dot - A_dot x)
    cholesky        L_dot = L Phi(L^-1 S L^-T), S = A_dot symmetrized from its lower triangle
                    (the only part LAPACK reads), Phi = strict lower part + half the diagonal
    qr (m >= n)     C = Q^T A_dot R^-1, Omega = skew part from tril(C, -1):
                    R_dot = (C - Omega) R, Q_dot = A_dot R^-1 - Q (C - Omega)
    lu              X = L^-1 P^T A_dot U^-1: L_dot = L tril(X, -1), U_dot = triu(X) U
    eigh            P = V^T S V: w_dot = diag(P), V_dot = V (F o P), F_ij = 1 / (w_j - w_i)
                    (eigenvalues must be distinct for eigenvectors; eigenvalues alone are fine
                    to first order wherever eigh is differentiable)
    svd             P = U^T A_dot V: s_dot = diag(P), U_dot and V_dot with F_ij = 1/(s_j^2 - s_i^2)
                    plus the terms outside the column spaces (distinct, nonzero singular values)
    slogdet         logabsdet_dot = Re tr(A^-1 A_dot); sign_dot = i sign Im tr(A^-1 A_dot)
    pinv            X_dot = -X A_dot X + X X^H A_dot^H (I - A X) + (I - X A) A_dot^H X^H X
                    (constant rank)
    expm            the Frechet derivative expm_frechet(A, A_dot) = [expm([[A, E], [0, A]])]_12;
                    its own JVP in A is the same trick one size up, so every order exists

Rules: ``*_jvp(primals, tangents, **params)``, ``*_transpose(ct, *args, **params)``.
"""
import numpy as np
import scipy.linalg

from ..core import Primitive, ShapedArray, Zero, bind, get_aval, is_undefined
from . import arithmetic as ar
from . import complex as cx
from . import reductions as red
from . import shape as sh


def parse_spec(spec):
    ins, out = spec.split("->")
    a, b = ins.split(",")
    return a, b, out


def _dot_general_impl(a, b, *, spec):
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
    prod = lambda cs: int(np.prod([size[c] for c in cs], dtype=np.int64))  # noqa: E731
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


def _eye(n, dtype):
    return np.eye(n, dtype=cx.real_dtype(dtype))


def _off_diagonal_inverse(d):
    """``F[..., i, j] = 1 / d[..., i, j]`` off the diagonal and 0 on it (d's diagonal is 0)."""
    n = get_aval(d).shape[-1]
    eye = _eye(n, get_aval(d).dtype)
    return ar.div(1.0 - eye, ar.add(d, eye))


def _row(v):
    """``(..., n) -> (..., 1, n)``: v_j along rows."""
    return sh.reshape(v, shape=get_aval(v).shape[:-1] + (1, get_aval(v).shape[-1]))


def _col(v):
    """``(..., n) -> (..., n, 1)``: v_i along columns."""
    return sh.reshape(v, shape=get_aval(v).shape + (1,))


def _add_tangent(t, u):
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
diag_embed_p.jvp = lambda primals, tangents: (diag_embed(primals[0]), diag_embed(tangents[0]))
diag_embed_p.transpose = lambda ct, d: (diagonal(ct),)
diag_embed_p.deriv_class = ("linear",)


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
        ax = ar.neg(matmul(a_dot, x)) if rhs is None else ar.sub(rhs, matmul(a_dot, x))
        rhs = ax
    return x, solve(a, rhs)


def solve_transpose(ct, a, b):
    return None, cx.real_cotangent(solve(mT(a), ct), b.aval)


solve_p.jvp, solve_p.transpose = solve_jvp, solve_transpose
solve_p.deriv_class = ("nonlinear", "linear", "cross")


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


def _right_solve_upper(x, r):
    """``x R^-1`` for upper-triangular R."""
    return mT(triangular_solve(r, mT(x), lower=False, transpose_a=True))


# -- cholesky: the lower factor L of A = L L^T, from A's lower triangle -----------------------------
cholesky_p = Primitive("cholesky")
cholesky_p.impl = lambda a: np.linalg.cholesky(a)
cholesky_p.abstract_eval = lambda a: ShapedArray(a.shape, a.dtype)


def cholesky(a):
    """``(..., n, n) -> (..., n, n)``: lower-triangular L with L L^T = A (A's lower triangle)."""
    return bind(cholesky_p, a)


def cholesky_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    l_ = cholesky(a)
    s = symmetrize(a_dot, lower=True)
    x = triangular_solve(l_, mT(triangular_solve(l_, s, lower=True)), lower=True)
    n = get_aval(a).shape[-1]
    phi = np.tri(n, k=-1) + 0.5 * np.eye(n)
    return l_, matmul(l_, ar.mul(x, phi.astype(get_aval(a).dtype)))


cholesky_p.jvp = cholesky_jvp
cholesky_p.deriv_class = ("nonlinear",)

# -- qr: reduced A = Q R for m >= n ------------------------------------------------------------------
qr_p = Primitive("qr", multiple_results=True)
qr_p.impl = lambda a: list(np.linalg.qr(a, mode="reduced"))
qr_p.abstract_eval = lambda a: [ShapedArray(a.shape, a.dtype),
                                ShapedArray(a.shape[:-2] + (a.shape[-1],) * 2, a.dtype)]


def qr(a):
    """``(..., m, n)``, m >= n -> ``[Q (..., m, n), R (..., n, n)]``."""
    return bind(qr_p, a)


def qr_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    q, r = qr(a)
    a_dot_rinv = _right_solve_upper(a_dot, r)
    c = matmul(mT(q), a_dot_rinv)
    low = tril(c, -1)
    c_minus_omega = ar.sub(c, ar.sub(low, mT(low)))
    q_dot = ar.sub(a_dot_rinv, matmul(q, c_minus_omega))
    r_dot = matmul(c_minus_omega, r)
    return [q, r], [q_dot, r_dot]


qr_p.jvp = qr_jvp
qr_p.deriv_class = ("nonlinear",)


# -- lu: A[perm] = L U (L unit lower, U upper, stored in one matrix as LAPACK does) ---------------
def _perm_from_piv(piv):
    """LAPACK's sequential row interchanges ``piv`` -> the permutation ``perm`` with
    ``A[perm] = L U``."""
    n = piv.shape[-1]
    flat_piv = np.reshape(piv, (-1, n))
    perm = np.tile(np.arange(n), (flat_piv.shape[0], 1))
    rows = np.arange(flat_piv.shape[0])
    for i in range(n):
        j = flat_piv[:, i]
        perm_i = perm[rows, i].copy()
        perm[rows, i] = perm[rows, j]
        perm[rows, j] = perm_i
    return np.reshape(perm, np.shape(piv))


def _lu_impl(a):
    lu_, piv = scipy.linalg.lu_factor(a, check_finite=False)
    return [lu_, piv, _perm_from_piv(piv)]


lu_p = Primitive("lu", multiple_results=True)
lu_p.impl = _lu_impl
lu_p.abstract_eval = lambda a: [ShapedArray(a.shape, a.dtype),
                                ShapedArray(a.shape[:-1], np.int32),
                                ShapedArray(a.shape[:-1], np.int64)]


def lu(a):
    """``(..., n, n) -> [lu (..., n, n), piv (..., n) int32, perm (..., n) int64]``: ``lu``
    holds L below the diagonal (unit diagonal implied) and U on and above it; ``piv`` are
    LAPACK's row interchanges, ``perm`` the resulting permutation (``A[perm] = L U``)."""
    return bind(lu_p, a)


def permutation_matrix(perm, dtype):
    """``P[..., i, j] = (perm[..., i] == j)``, so ``P @ x`` is ``x[perm]``."""
    n = get_aval(perm).shape[-1]
    onehot = ar.eq(_col(perm), np.arange(n))
    return sh.convert_element_type(onehot, dtype=cx.real_dtype(dtype))


def lu_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    lu_, piv, perm = lu(a)
    dtype = get_aval(a).dtype
    n = get_aval(a).shape[-1]
    l_ = ar.add(tril(lu_, -1), _eye(n, dtype))
    u = triu(lu_)
    pa_dot = matmul(sh.broadcast_to(permutation_matrix(perm, dtype), get_aval(a).shape), a_dot)
    x = _right_solve_upper(triangular_solve(l_, pa_dot, lower=True, unit_diagonal=True), u)
    lu_dot = ar.add(matmul(l_, tril(x, -1)), matmul(triu(x), u))
    return [lu_, piv, perm], [lu_dot, Zero(get_aval(piv)), Zero(get_aval(perm))]


lu_p.jvp = lu_jvp
lu_p.deriv_class = ("nonlinear",)

# -- eigh: symmetric eigendecomposition from one triangle -----------------------------------------
eigh_p = Primitive("eigh", multiple_results=True)


def _eigh_impl(a, *, lower, compute_v):
    uplo = "L" if lower else "U"
    if compute_v:
        return list(np.linalg.eigh(a, UPLO=uplo))
    return [np.linalg.eigvalsh(a, UPLO=uplo)]


def _eigh_abstract(a, *, lower, compute_v):
    w = ShapedArray(a.shape[:-1], cx.real_dtype(a.dtype))
    return [w, ShapedArray(a.shape, a.dtype)] if compute_v else [w]


eigh_p.impl = _eigh_impl
eigh_p.abstract_eval = _eigh_abstract


def eigh(a, *, lower=True, compute_v=True):
    """Real symmetric ``(..., n, n)`` -> ``[w (..., n) ascending, V (..., n, n)]`` (``[w]``
    without ``compute_v``), read from the lower (or upper) triangle."""
    return bind(eigh_p, a, lower=lower, compute_v=compute_v)


def eigh_jvp(primals, tangents, *, lower, compute_v):
    (a,), (a_dot,) = primals, tangents
    w, v = eigh(a, lower=lower, compute_v=True)
    p = matmul(mT(v), matmul(symmetrize(a_dot, lower), v))
    w_dot = diagonal(p)
    if not compute_v:
        return [w], [w_dot]
    f = _off_diagonal_inverse(ar.sub(_row(w), _col(w)))
    return [w, v], [w_dot, matmul(v, ar.mul(f, p))]


eigh_p.jvp = eigh_jvp
eigh_p.deriv_class = ("nonlinear",)

# -- svd: reduced A = U diag(s) Vh -------------------------------------------------------------------
svd_p = Primitive("svd", multiple_results=True)


def _svd_impl(a, *, compute_uv):
    if compute_uv:
        return list(np.linalg.svd(a, full_matrices=False))
    return [np.linalg.svd(a, compute_uv=False)]


def _svd_abstract(a, *, compute_uv):
    m, n = a.shape[-2:]
    k = min(m, n)
    s = ShapedArray(a.shape[:-2] + (k,), cx.real_dtype(a.dtype))
    if not compute_uv:
        return [s]
    return [ShapedArray(a.shape[:-2] + (m, k), a.dtype), s,
            ShapedArray(a.shape[:-2] + (k, n), a.dtype)]


svd_p.impl = _svd_impl
svd_p.abstract_eval = _svd_abstract


def svd(a, *, compute_uv=True):
    """Real ``(..., m, n)`` -> ``[U (..., m, k), s (..., k) descending, Vh (..., k, n)]``,
    k = min(m, n) (``[s]`` without ``compute_uv``)."""
    return bind(svd_p, a, compute_uv=compute_uv)


def svd_jvp(primals, tangents, *, compute_uv):
    (a,), (a_dot,) = primals, tangents
    u, s, vh = svd(a, compute_uv=True)
    v = mT(vh)
    a_dot_v = matmul(a_dot, v)
    p = matmul(mT(u), a_dot_v)
    s_dot = diagonal(p)
    if not compute_uv:
        return [s], [s_dot]
    s_row, s_col = _row(s), _col(s)
    f = _off_diagonal_inverse(ar.sub(ar.mul(s_row, s_row), ar.mul(s_col, s_col)))
    p_t = mT(p)
    u_dot = ar.add(matmul(u, ar.mul(f, ar.add(ar.mul(p, s_row), ar.mul(s_col, p_t)))),
                   ar.div(ar.sub(a_dot_v, matmul(u, p)), s_row))
    v_dot = ar.add(matmul(v, ar.mul(f, ar.add(ar.mul(s_col, p), ar.mul(p_t, s_row)))),
                   ar.div(ar.sub(matmul(mT(a_dot), u), matmul(v, p_t)), s_row))
    return [u, s, vh], [u_dot, s_dot, mT(v_dot)]


svd_p.jvp = svd_jvp
svd_p.deriv_class = ("nonlinear",)

# -- slogdet: [sign, log|det|] ------------------------------------------------------------------------
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
    t = trace(solve(a, a_dot))
    if not cx.is_complex(a):
        return [sign, logabsdet], [Zero(get_aval(sign)), t]
    return [sign, logabsdet], [ar.mul(sign, cx.complex_(0.0, cx.imag(t))), cx.real(t)]


slogdet_p.jvp = slogdet_jvp
slogdet_p.deriv_class = ("nonlinear",)

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

# -- expm and its Frechet derivative -----------------------------------------------------------------
expm_p = Primitive("expm")
expm_p.impl = lambda a: scipy.linalg.expm(a)
expm_p.abstract_eval = lambda a: ShapedArray(a.shape, a.dtype)


def expm(a):
    """``(..., n, n) -> (..., n, n)``: the matrix exponential."""
    return bind(expm_p, a)


expm_p.jvp = lambda primals, tangents: (expm(primals[0]), expm_frechet(primals[0], tangents[0]))
expm_p.deriv_class = ("nonlinear",)


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
        t = _add_tangent(t, sh.getitem(big, idx=(slice(None),) * (nd - 2)
                                       + (slice(0, n), slice(n, None))))
    return out, t


def expm_frechet_transpose(ct, a, e):
    return None, cx.real_cotangent(expm_frechet(mT(a), ct), e.aval)


expm_frechet_p.jvp, expm_frechet_p.transpose = expm_frechet_jvp, expm_frechet_transpose
expm_frechet_p.deriv_class = ("nonlinear", "linear", "cross")
