"""The general (non-symmetric) eigendecomposition A V = V diag(w), real or complex A; w and V
are always complex (as in JAX), each eigenvector of unit 2-norm as LAPACK returns it.

    eig     P = V^-1 A_dot V: w_dot = diag(P); V_dot = V (F o P), F_ij = 1 / (w_j - w_i) off
            the diagonal, then minus V diag(Re(V^H V_dot)), which keeps every column's norm to
            first order (the gauge: the phase of each eigenvector is LAPACK's, its derivative
            is not normalized). Eigenvectors need distinct eigenvalues.

Rule: ``eig_jvp(primals, tangents, *, compute_v)``; reverse mode is derived (linearize +
transpose through the complex linear primitives); batching moves the vmapped axis to the front.
Taylor mode uses the generic rule derived from the JVP (nested forward mode).
"""
import numpy as np

from ..core import Primitive, ShapedArray, bind
from . import arithmetic as ar
from . import complex as cx
from .linalg import (as_col, as_row, diagonal, matmul, mH, off_diagonal_inverse, solve,
                     stacked_batch)

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
