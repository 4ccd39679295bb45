"""eig and sqrtm. The general (non-symmetric) eigendecomposition A V = V diag(w), real or
complex A; w and V are always complex (as in JAX), each eigenvector of unit 2-norm as LAPACK
returns it.

    eig     P = V^-1 A_dot V: w_dot = diag(P); V_dot = V (F o P), F_ij = 1 / (w_j - w_i) off
            the diagonal, then minus V diag(Re(V^H V_dot)), which keeps every column's norm to
            first order (the gauge: the phase of each eigenvector is LAPACK's, its derivative
            is not normalized). Eigenvectors need distinct eigenvalues.

Rule: ``eig_jvp(primals, tangents, *, compute_v)``; reverse mode is derived (linearize +
transpose through the complex linear primitives); batching moves the vmapped axis to the front.

    eig_taylor   the series of the curve nested forward mode follows (each order solved like
            the JVP, one solve with V_0 per order; see eig_taylor)
    sparsity     each result element reads every element of its own matrix (stacks stay
            block diagonal)

    sqrtm   S S = A: S S_dot + S_dot S = A_dot, and order k of the series
            S_0 S_k + S_k S_0 = A_k - sum_{0<i<k} S_i S_{k-i}: Sylvester equations with S_0,
            solved in Kronecker form (n^2 unknowns)
"""
import numpy as np

from ..core import Primitive, ShapedArray, bind, get_aval
from ..core.errors import UnsupportedFunctionError
from . import _series as ser
from ._sparsity import stacked_matrix_sparsity
from . import arithmetic as ar
from . import complex as cx
from . import shape as sh
from .decompositions import _inner_terms
from .linalg import (as_col, as_row, diagonal, matmul, mH, mT, off_diagonal_inverse, real_eye,
                     solve, stacked_batch)

eig_p = Primitive("eig", multiple_results=True)


def _eig_impl(a, *, compute_v):
    dtype = np.result_type(a.dtype, np.complex64)
    if compute_v:
        w, v = np.linalg.eig(a)
        return [w.astype(dtype, copy=False), v.astype(dtype, copy=False)]
    return [np.linalg.eigvals(a).astype(dtype, copy=False)]


def _eig_abstract(a, *, compute_v):
    dtype = cx.complex_dtype(a.dtype)
    w = ShapedArray(a.shape[:-1], dtype)
    return [w, ShapedArray(a.shape, dtype)] if compute_v else [w]


eig_p.impl = _eig_impl
eig_p.abstract_eval = _eig_abstract


def eig(a, *, compute_v=True):
    """Square ``(..., n, n)`` -> ``[w (..., n), V (..., n, n)]`` complex (``[w]`` without
    ``compute_v``), in LAPACK's order."""
    return bind(eig_p, a, compute_v=compute_v)


def eig_jvp(primals, tangents, *, compute_v):
    (a,), (a_dot,) = primals, tangents
    w, v = eig(a, compute_v=True)
    p = solve(v, matmul(cx.to_complex(a_dot), v))
    w_dot = diagonal(p)
    if not compute_v:
        return [w], [w_dot]
    f = off_diagonal_inverse(ar.sub(as_row(w), as_col(w)))
    v_dot = matmul(v, ar.mul(f, p))
    norm_dot = cx.real(diagonal(matmul(mH(v), v_dot)))
    return [w, v], [w_dot, ar.sub(v_dot, ar.mul(v, as_row(cx.to_complex(norm_dot))))]


eig_p.jvp = eig_jvp
eig_p.deriv_class = ("nonlinear",)
eig_p.batch = stacked_batch(eig_p)


def eig_taylor(primals, series, *, compute_v):
    # Order k of A V = V diag(w) with V_k = V_0 C_k, times V_0^-1 (as the JVP, P -> G_k):
    #   C_k diag(w_0) - diag(w_0) C_k + diag(w_k) = G_k = V_0^-1 R_k,
    #   R_k = sum_{i=1..k} A_i V_{k-i} - sum_{0<i<k} V_i diag(w_{k-i}):
    # w_k = diag(G_k), C_k = F o G_k off the diagonal. The diagonal d_k is the gauge of nested
    # forward mode, whose curve keeps |v_j| = 1 and diag(V^-1 V') real at every t:
    #   Re d_k = -Re diag(V_0^H V_0 C_k,off) - (1/2) Re diag(sum_{0<i<k} V_i^H V_{k-i})
    #   Im d_k = -(1/k) Im diag(sum_{0<i<k} (k - i) U_i V_{k-i}),  U = V^-1 as a series.
    (a,), (s,) = primals, series
    w0, v0 = eig(a, compute_v=True)
    big_a = [None if c is None else cx.to_complex(c) for c in ser.full(a, s)]
    f = off_diagonal_inverse(ar.sub(as_row(w0), as_col(w0)))
    n = get_aval(a).shape[-1]
    u0 = solve(v0, cx.to_complex(real_eye(n, get_aval(a).dtype)))
    order = len(s)
    ws, vs, us = [w0] + [None] * order, [v0] + [None] * order, [u0] + [None] * order
    for k in range(1, order + 1):
        r = None
        for i in range(1, k + 1):
            if big_a[i] is not None and vs[k - i] is not None:
                r = ser.add(r, matmul(big_a[i], vs[k - i]))
        r = ser.sub(r, _inner_terms(vs, ws, k, lambda v, w: ar.mul(v, as_row(w))))
        gram = _inner_terms(vs, vs, k, lambda x, y: matmul(mH(x), y))
        turn = _inner_terms(us, vs, k, lambda u, v: matmul(u, v), weight=lambda i: k - i)
        if r is None and gram is None and turn is None:
            continue
        v_k, d_re, d_im = None, None, None
        if r is not None:
            g = matmul(u0, r)
            ws[k] = diagonal(g)
            v_k = matmul(v0, ar.mul(f, g))
            d_re = ar.neg(cx.real(diagonal(matmul(mH(v0), v_k))))
        if gram is not None:
            d_re = ser.sub(d_re, ar.mul(cx.real(diagonal(gram)), 0.5))
        if turn is not None:
            d_im = ar.mul(cx.imag(diagonal(turn)), -1.0 / k)
        if d_re is not None or d_im is not None:
            zero = ar.mul(cx.real(w0), 0.0)
            d = cx.complex_(zero if d_re is None else d_re, zero if d_im is None else d_im)
            v_k = ser.add(v_k, ar.mul(v0, as_row(d)))
        vs[k] = v_k
        if k < order:       # U_k = -U_0 sum_{j=1..k} V_j U_{k-j}
            acc = None
            for j in range(1, k + 1):
                if vs[j] is not None and us[k - j] is not None:
                    acc = ser.add(acc, matmul(vs[j], us[k - j]))
            us[k] = None if acc is None else ar.neg(matmul(u0, acc))
    w_series = ser.finish(w0, ws[1:])
    if not compute_v:
        return [w0], [w_series]
    return [w0, v0], [w_series, ser.finish(v0, vs[1:])]


eig_p.taylor = eig_taylor
eig_p.sparsity = stacked_matrix_sparsity


# -- sqrtm: the principal square root, S S = A -----------------------------------------------
sqrtm_p = Primitive("sqrtm")


def _sqrtm_impl(a):
    import scipy.linalg
    n = a.shape[-1]
    flat = np.reshape(a, (-1, n, n))
    out = np.stack([scipy.linalg.sqrtm(m) for m in flat]) if len(flat) else flat
    if a.dtype.kind != "c" and out.dtype.kind == "c":
        if np.any(np.abs(out.imag) > 1e3 * np.finfo(a.dtype).eps * (1 + np.abs(out.real))):
            raise UnsupportedFunctionError(
                "sqrtm of a real matrix with negative eigenvalues is complex: pass "
                "a.astype(complex)")
        out = out.real
    return np.reshape(out.astype(a.dtype, copy=False), a.shape)


sqrtm_p.impl = _sqrtm_impl
sqrtm_p.abstract_eval = lambda a: ShapedArray(a.shape, a.dtype)


def sqrtm(a):
    """The principal square root of ``(..., n, n)`` (no eigenvalue on the closed negative real
    axis; a real matrix whose root is complex raises)."""
    return bind(sqrtm_p, a)


def sylvester_with(s, c):
    """``X`` with ``S X + X S = C`` for stacks ``(..., n, n)``, as one linear system of size
    n^2 (Kronecker form; fine for the small matrices sqrtm is used on)."""
    shape = get_aval(s).shape
    n, batch = shape[-1], shape[:-2]
    eye = real_eye(n, get_aval(s).dtype)
    s4 = sh.reshape(s, shape=batch + (n, 1, n, 1))
    st4 = sh.reshape(mT(s), shape=batch + (1, n, 1, n))
    big = ar.add(ar.mul(s4, np.reshape(eye, (1, n, 1, n))),
                 ar.mul(np.reshape(eye, (n, 1, n, 1)), st4))
    big = sh.reshape(big, shape=batch + (n * n, n * n))
    x = solve(big, sh.reshape(c, shape=batch + (n * n, 1)))
    return sh.reshape(x, shape=shape)


def sqrtm_jvp(primals, tangents):
    # S S_dot + S_dot S = A_dot
    (a,), (a_dot,) = primals, tangents
    s = sqrtm(a)
    return s, sylvester_with(s, a_dot)


def sqrtm_taylor(primals, series):
    # order k of S S = A: S_0 S_k + S_k S_0 = A_k - sum_{0<i<k} S_i S_{k-i}
    (a,), (sa,) = primals, series
    s0 = sqrtm(a)
    coeffs = ser.full(a, sa)
    ss = [s0] + [None] * (len(coeffs) - 1)
    for k in range(1, len(coeffs)):
        rhs = coeffs[k]
        for i in range(1, k):
            if ss[i] is not None and ss[k - i] is not None:
                rhs = ser.sub(rhs, matmul(ss[i], ss[k - i]))
        ss[k] = None if rhs is None else sylvester_with(s0, rhs)
    return s0, ser.finish(s0, ss[1:])


sqrtm_p.jvp = sqrtm_jvp
sqrtm_p.taylor = sqrtm_taylor
sqrtm_p.deriv_class = ("nonlinear",)
sqrtm_p.batch = stacked_batch(sqrtm_p)
sqrtm_p.sparsity = stacked_matrix_sparsity
