"""Matrix decompositions: cholesky, qr, lu, eigh, svd. Nonlinear primitives with JVP rules
written with the linear primitives of linalg.py (dot_general, triangular_solve, diagonal), so
reverse mode and every higher order follow. Stacks ``(..., m, n)`` throughout; real matrices.

    cholesky        L_dot = L Phi(L^-1 S L^-T), S = A_dot symmetrized from its lower triangle
                    (the only part LAPACK reads), Phi = strict lower part + half the diagonal
    qr (m >= n)     C = Q^T A_dot R^-1, Omega = skew part from tril(C, -1):
                    R_dot = (C - Omega) R, Q_dot = A_dot R^-1 - Q (C - Omega)
    lu              X = L^-1 P^T A_dot U^-1: L_dot = L tril(X, -1), U_dot = triu(X) U
    eigh            P = V^T S V: w_dot = diag(P), V_dot = V (F o P), F_ij = 1 / (w_j - w_i)
                    (eigenvectors need distinct eigenvalues; F is only used for them)
    svd             P = U^T A_dot V: s_dot = diag(P); U_dot, V_dot with F_ij = 1/(s_j^2 - s_i^2)
                    plus the parts outside the column spaces (distinct, nonzero singular values)

Rules: ``*_jvp(primals, tangents, **params)``; batching moves the vmapped axis to the front
(``linalg.stacked_batch``).
"""
import numpy as np
import scipy.linalg

from ..core import Primitive, ShapedArray, Zero, bind, dispatch, get_aval
from . import arithmetic as ar
from . import complex as cx
from . import shape as sh
from . import _series as ser
from .linalg import (as_col, as_row, diagonal, matmul, mH, mT, off_diagonal_inverse, real_eye,
                     right_solve_upper, stacked_batch, symmetrize, tril, triangular_solve, triu)


# -- cholesky: the lower factor L of A = L L^T, from A's lower triangle ----------------------------
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


def _inner_terms(xs, ys, k, f, weight=None):
    """``sum_{i=1..k-1} f(xs_i, ys_{k-i})`` (None if no term), each term times ``weight(i)``
    if given: the products of a Taylor coefficient's equation that involve only lower orders."""
    acc = None
    for i in range(1, k):
        if xs[i] is not None and ys[k - i] is not None:
            term = f(xs[i], ys[k - i])
            acc = ser.add(acc, term if weight is None else ar.mul(term, float(weight(i))))
    return acc


def cholesky_taylor(primals, series):
    # order k of L L^T = A: L_0 L_k^T + L_k L_0^T = M_k, M_k = A_k - sum_{0<i<k} L_i L_{k-i}^T,
    # solved like the JVP with M_k for A_dot
    (a,), (s,) = primals, series
    l0 = cholesky(a)
    big_a = ser.full(a, s)
    n = get_aval(a).shape[-1]
    phi = (np.tri(n, k=-1) + 0.5 * np.eye(n)).astype(get_aval(a).dtype)
    ls = [l0] + [None] * len(s)
    for k in range(1, len(ls)):
        m = None if big_a[k] is None else symmetrize(big_a[k], lower=True)
        m = ser.sub(m, _inner_terms(ls, ls, k, lambda u, v: matmul(u, mT(v))))
        if m is not None:
            x = triangular_solve(l0, mT(triangular_solve(l0, m, lower=True)), lower=True)
            ls[k] = matmul(l0, ar.mul(x, phi))
    return l0, ser.finish(l0, ls[1:])


cholesky_p.taylor = cholesky_taylor
cholesky_p.batch = stacked_batch(cholesky_p)

# -- qr: reduced A = Q R for m >= n ----------------------------------------------------------------
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
    a_dot_rinv = right_solve_upper(a_dot, r)
    c = matmul(mT(q), a_dot_rinv)
    low = tril(c, -1)
    c_minus_omega = ar.sub(c, ar.sub(low, mT(low)))
    q_dot = ar.sub(a_dot_rinv, matmul(q, c_minus_omega))
    r_dot = matmul(c_minus_omega, r)
    return [q, r], [q_dot, r_dot]


qr_p.jvp = qr_jvp
qr_p.deriv_class = ("nonlinear",)


def qr_taylor(primals, series):
    # order k: Q_0 R_k + Q_k R_0 = M_k and Q_0^T Q_k + Q_k^T Q_0 = N_k (from Q^T Q = I); with
    # C = Q_0^T M_k R_0^-1, B = Q_0^T Q_k = Omega + N_k / 2 (Omega skew) and C - B upper
    # triangular: R_k = (C - B) R_0, Q_k = M_k R_0^-1 - Q_0 (C - B)
    (a,), (s,) = primals, series
    q0, r0 = qr(a)
    big_a = ser.full(a, s)
    qs, rs = [q0] + [None] * len(s), [r0] + [None] * len(s)
    for k in range(1, len(qs)):
        m = ser.sub(big_a[k], _inner_terms(qs, rs, k, matmul))
        nk = _inner_terms(qs, qs, k, lambda u, v: ar.neg(matmul(mT(u), v)))
        if m is None and nk is None:
            continue
        m_rinv = None if m is None else right_solve_upper(m, r0)
        c = None if m is None else matmul(mT(q0), m_rinv)
        half_n = ser.scale(nk, 0.5)
        low = tril(ser.sub(c, half_n), -1)
        b = ser.add(ar.sub(low, mT(low)), half_n)
        c_minus_b = ser.sub(c, b)
        rs[k] = matmul(c_minus_b, r0)
        qs[k] = ser.sub(m_rinv, matmul(q0, c_minus_b))
    return [q0, r0], [ser.finish(q0, qs[1:]), ser.finish(r0, rs[1:])]


qr_p.taylor = qr_taylor
qr_p.batch = stacked_batch(qr_p)


# -- lu: A[perm] = L U (L unit lower, U upper, stored in one matrix as LAPACK does) ---------------
def perm_from_piv(piv):
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
    return [lu_, piv, perm_from_piv(piv)]


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
    onehot = ar.eq(as_col(perm), np.arange(n))
    return sh.convert_element_type(onehot, dtype=cx.real_dtype(dtype))


def lu_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    lu_, piv, perm = lu(a)
    dtype = get_aval(a).dtype
    n = get_aval(a).shape[-1]
    l_ = ar.add(tril(lu_, -1), real_eye(n, dtype))
    u = triu(lu_)
    pa_dot = matmul(sh.broadcast_to(permutation_matrix(perm, dtype), get_aval(a).shape), a_dot)
    x = right_solve_upper(triangular_solve(l_, pa_dot, lower=True, unit_diagonal=True), u)
    lu_dot = ar.add(matmul(l_, tril(x, -1)), matmul(triu(x), u))
    return [lu_, piv, perm], [lu_dot, Zero(get_aval(piv)), Zero(get_aval(perm))]


lu_p.jvp = lu_jvp
lu_p.deriv_class = ("nonlinear",)


def lu_taylor(primals, series):
    # order k of L U = P A: L_0 U_k + L_k U_0 = P A_k - sum_{0<i<k} L_i U_{k-i}, solved like the JVP
    (a,), (s,) = primals, series
    lu_, piv, perm = lu(a)
    dtype = get_aval(a).dtype
    n = get_aval(a).shape[-1]
    l0 = ar.add(tril(lu_, -1), real_eye(n, dtype))
    u0 = triu(lu_)
    p = sh.broadcast_to(permutation_matrix(perm, dtype), get_aval(a).shape)
    big_a = ser.full(a, s)
    ls, us, out = [l0] + [None] * len(s), [u0] + [None] * len(s), []
    for k in range(1, len(ls)):
        m = None if big_a[k] is None else matmul(p, big_a[k])
        m = ser.sub(m, _inner_terms(ls, us, k, matmul))
        if m is None:
            out.append(None)
            continue
        x = right_solve_upper(triangular_solve(l0, m, lower=True, unit_diagonal=True), u0)
        ls[k], us[k] = matmul(l0, tril(x, -1)), matmul(triu(x), u0)
        out.append(ar.add(ls[k], us[k]))
    return [lu_, piv, perm], [ser.finish(lu_, out), None, None]


lu_p.taylor = lu_taylor
lu_p.batch = stacked_batch(lu_p)

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


def _hermitize(x, lower):
    """The Hermitian matrix that ``x``'s lower (or upper) triangle stands for (LAPACK reads
    the real part of the diagonal only)."""
    part = tril(x, -1) if lower else triu(x, 1)
    return ar.add(ar.add(part, cx.conj(mT(part))), cx.to_complex(_real_diag(x)))


def _real_diag(x):
    n = get_aval(x).shape[-1]
    return ar.mul(cx.real(x), real_eye(n, get_aval(x).dtype))


def eigh_jvp(primals, tangents, *, lower, compute_v):
    (a,), (a_dot,) = primals, tangents
    w, v = eigh(a, lower=lower, compute_v=True)
    if cx.is_complex(a):        # Hermitian: P = V^H S V; gauge diag(V^H V_dot) = 0, as JAX
        p = matmul(cx.conj(mT(v)), matmul(_hermitize(cx.to_complex(a_dot), lower), v))
        w_dot = cx.real(diagonal(p))
        if not compute_v:
            return [w], [w_dot]
        f = off_diagonal_inverse(ar.sub(as_row(w), as_col(w)))
        return [w, v], [w_dot, matmul(v, ar.mul(cx.to_complex(f), p))]
    p = matmul(mT(v), matmul(symmetrize(a_dot, lower), v))
    w_dot = diagonal(p)
    if not compute_v:
        return [w], [w_dot]
    f = off_diagonal_inverse(ar.sub(as_row(w), as_col(w)))
    return [w, v], [w_dot, matmul(v, ar.mul(f, p))]


eigh_p.jvp = eigh_jvp
eigh_p.deriv_class = ("nonlinear",)


def eigh_taylor(primals, series, *, lower, compute_v):
    # V_k = V_0 C_k; order k of A V = V diag(w), times V_0^T:
    # C_k diag(w_0) - diag(w_0) C_k + diag(w_k) = G_k, G_k = V_0^T (sum_{i>0} A_i V_{k-i}
    # - sum_{0<i<k} V_i diag(w_{k-i})): w_k = diag(G_k), C_k = F o G_k off the diagonal, and
    # the diagonal of C_k from V^T V = I: C_k,jj = -(1/2) (sum_{0<i<k} C_i^T C_{k-i})_jj
    (a,), (s,) = primals, series
    if cx.is_complex(a):      # the series derived from the JVP rule (same gauge as the JVP)
        return dispatch.hooks["taylor_from_jvp"](eigh_p)(primals, series, lower=lower,
                                                         compute_v=compute_v)
    w0, v0 = eigh(a, lower=lower, compute_v=True)
    big_a = [a] + [None if c is None else symmetrize(c, lower) for c in ser.full(a, s)[1:]]
    f = off_diagonal_inverse(ar.sub(as_row(w0), as_col(w0)))
    n = get_aval(a).shape[-1]
    eye = real_eye(n, get_aval(a).dtype)
    ws, vs, cs = [w0] + [None] * len(s), [v0] + [None] * len(s), [None] * (len(s) + 1)
    for k in range(1, len(ws)):
        g = None
        for i in range(1, k + 1):
            if big_a[i] is not None and vs[k - i] is not None:
                g = ser.add(g, matmul(big_a[i], vs[k - i]))
        g = ser.sub(g, _inner_terms(vs, ws, k, lambda v, w: ar.mul(v, as_row(w))))
        if g is None:
            continue
        g = matmul(mT(v0), g)
        ws[k] = diagonal(g)
        c = ar.mul(f, g)
        gram = _inner_terms(cs, cs, k, lambda u, v: matmul(mT(u), v))
        if gram is not None:
            c = ar.sub(c, ar.mul(gram, 0.5 * eye))
        cs[k], vs[k] = c, matmul(v0, c)
    w_series = ser.finish(w0, ws[1:])
    if not compute_v:
        return [w0], [w_series]
    return [w0, v0], [w_series, ser.finish(v0, vs[1:])]


eigh_p.taylor = eigh_taylor
eigh_p.batch = stacked_batch(eigh_p)

# -- svd: reduced A = U diag(s) Vh -----------------------------------------------------------------
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
    if cx.is_complex(a):
        return complex_svd_jvp(a, cx.to_complex(a_dot), compute_uv)
    u, s, vh = svd(a, compute_uv=True)
    v = mT(vh)
    a_dot_v = matmul(a_dot, v)
    p = matmul(mT(u), a_dot_v)
    s_dot = diagonal(p)
    if not compute_uv:
        return [s], [s_dot]
    s_row, s_col = as_row(s), as_col(s)
    f = off_diagonal_inverse(ar.sub(ar.mul(s_row, s_row), ar.mul(s_col, s_col)))
    p_t = mT(p)
    u_dot = ar.add(matmul(u, ar.mul(f, ar.add(ar.mul(p, s_row), ar.mul(s_col, p_t)))),
                   ar.div(ar.sub(a_dot_v, matmul(u, p)), s_row))
    v_dot = ar.add(matmul(v, ar.mul(f, ar.add(ar.mul(s_col, p), ar.mul(p_t, s_row)))),
                   ar.div(ar.sub(matmul(mT(a_dot), u), matmul(v, p_t)), s_row))
    return [u, s, vh], [u_dot, s_dot, mT(v_dot)]


def complex_svd_jvp(a, a_dot, compute_uv):
    # as the real rule with conjugate transposes; the imaginary part of diag(U^H A_dot V) is a
    # rotation of the phases of U's and V's columns together: given to U (gauge: V^H V_dot has
    # a zero diagonal, as JAX)
    u, s, vh = svd(a, compute_uv=True)
    v = mH(vh)
    a_dot_v = matmul(a_dot, v)
    p = matmul(mH(u), a_dot_v)
    s_dot = cx.real(diagonal(p))
    if not compute_uv:
        return [s], [s_dot]
    s_row, s_col = cx.to_complex(as_row(s)), cx.to_complex(as_col(s))
    f = cx.to_complex(off_diagonal_inverse(ar.sub(ar.mul(as_row(s), as_row(s)),
                                                  ar.mul(as_col(s), as_col(s)))))
    p_h = mH(p)
    phase = cx.complex_(0.0, ar.div(cx.imag(diagonal(p)), s))
    u_dot = ar.add(matmul(u, ar.mul(f, ar.add(ar.mul(p, s_row), ar.mul(s_col, p_h)))),
                   ar.div(ar.sub(a_dot_v, matmul(u, p)), s_row))
    u_dot = ar.add(u_dot, ar.mul(u, as_row(phase)))
    v_dot = ar.add(matmul(v, ar.mul(f, ar.add(ar.mul(s_col, p), ar.mul(p_h, s_row)))),
                   ar.div(ar.sub(matmul(mH(a_dot), u), matmul(v, p_h)), s_row))
    return [u, s, vh], [u_dot, s_dot, mH(v_dot)]


svd_p.jvp = svd_jvp
svd_p.deriv_class = ("nonlinear",)


def svd_taylor(primals, series, *, compute_uv):
    # order k of A = U S V^T with U_k = U_0 C + ..., V_k = V_0 D + ...: the terms holding one
    # unknown are U_k S_0 V_0^T + U_0 S_k V_0^T + U_0 S_0 V_k^T = M_k (M_k: A_k less the known
    # products). With P = U_0^T M_k V_0 and N_U, N_V from U^T U = V^T V = I (C + C^T = N_U):
    # s_k = diag(P) - s_0 (diag N_U + diag N_V) / 2; off the diagonal, a 2 x 2 system per pair
    # (as the JVP, with Q = P^T - S_0 N_U - N_V S_0 for P^T); the parts outside the column
    # spaces are (M_k V_0 - U_0 P) / s and (M_k^T U_0 - V_0 P^T) / s. Distinct nonzero s.
    (a,), (s,) = primals, series
    if cx.is_complex(a):      # the series derived from the JVP rule (same gauge as the JVP)
        return dispatch.hooks["taylor_from_jvp"](svd_p)(primals, series, compute_uv=compute_uv)
    u0, s0, vh0 = svd(a, compute_uv=True)
    v0 = mT(vh0)
    big_a = ser.full(a, s)
    s_row, s_col = as_row(s0), as_col(s0)
    f = off_diagonal_inverse(ar.sub(ar.mul(s_row, s_row), ar.mul(s_col, s_col)))
    eye = real_eye(get_aval(s0).shape[-1], get_aval(a).dtype)
    us, ss, vs = [u0] + [None] * len(s), [s0] + [None] * len(s), [v0] + [None] * len(s)
    known_us = [u0 if i == 0 else None for i in range(len(us))]   # sum_{i+j=m} U_i S_j, known
    for k in range(1, len(us)):
        partial = _inner_terms(us, ss, k, lambda u, d: ar.mul(u, as_row(d)))
        m = ser.sub(big_a[k], ser.add(None if partial is None else matmul(partial, mT(v0)),
                                      _inner_terms(known_us, vs, k, lambda x, v: matmul(x, mT(v)))))
        n_u = _inner_terms(us, us, k, lambda x, y: ar.neg(matmul(mT(x), y)))
        n_v = _inner_terms(vs, vs, k, lambda x, y: ar.neg(matmul(mT(x), y)))
        if m is None and n_u is None and n_v is None:
            continue
        m = ar.mul(big_a[0], 0.0) if m is None else m
        p = matmul(mT(u0), matmul(m, v0))
        q = mT(p)
        s_k = diagonal(p)
        half_diag = None
        for n_ in (n_u, n_v):
            if n_ is not None:
                half_diag = ser.add(half_diag, ar.mul(diagonal(n_), 0.5))
        if n_u is not None:
            q = ar.sub(q, ar.mul(s_col, n_u))
        if n_v is not None:
            q = ar.sub(q, ar.mul(n_v, s_row))
        if half_diag is not None:
            s_k = ar.sub(s_k, ar.mul(s0, half_diag))
        c = ar.mul(f, ar.add(ar.mul(p, s_row), ar.mul(s_col, q)))
        d = mT(ar.mul(f, ar.neg(ar.add(ar.mul(s_row, q), ar.mul(s_col, p)))))
        if n_u is not None:
            c = ar.add(c, ar.mul(n_u, 0.5 * eye))
        if n_v is not None:
            d = ar.add(d, ar.mul(n_v, 0.5 * eye))
        us[k] = ar.add(matmul(u0, c), ar.div(ar.sub(matmul(m, v0), matmul(u0, p)), s_row))
        vs[k] = ar.add(matmul(v0, d), ar.div(ar.sub(matmul(mT(m), u0), matmul(v0, mT(p))), s_row))
        ss[k] = s_k
        known_us[k] = ser.add(ar.mul(us[k], s_row), ser.add(ar.mul(u0, as_row(s_k)), partial))
    s_series = ser.finish(s0, ss[1:])
    if not compute_uv:
        return [s0], [s_series]
    return [u0, s0, vh0], [ser.finish(u0, us[1:]), s_series,
                           ser.finish(vh0, [None if v is None else mT(v) for v in vs[1:]])]


svd_p.taylor = svd_taylor
svd_p.batch = stacked_batch(svd_p)
