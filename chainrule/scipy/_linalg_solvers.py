"""Matrix equations and banded systems for ``chainrule.scipy.linalg``: solve_sylvester,
solve_continuous_lyapunov, solve_discrete_lyapunov, solve_banded.

Each is written with NumPy functions on traced arrays (no rules of its own), so it is
differentiable in every argument, in every mode and to any order. The matrix equations are
solved as one linear system in the Kronecker form: ``A X + X B = Q`` is
``(A (x) I + I (x) B^T) vec(X) = vec(Q)`` (row-major vec), of size n m, so the cost is
O((n m)^3): meant for the small and medium matrices of control and statistics (n m up to a few
hundred), not for large ones.
"""
import numpy as np

__all__ = ["solve_sylvester", "solve_continuous_lyapunov", "solve_discrete_lyapunov",
           "solve_banded"]


def solve_sylvester(a, b, q):
    """``X`` (n, m) with ``a X + X b = q``; a (n, n), b (m, m), q (n, m)."""
    n, m = np.shape(q)
    big = np.kron(a, np.eye(m)) + np.kron(np.eye(n), np.transpose(b))
    return np.reshape(np.linalg.solve(big, np.reshape(q, (n * m,))), (n, m))


def solve_continuous_lyapunov(a, q):
    """``X`` (n, n) with ``a X + X a^H = q``."""
    return solve_sylvester(a, np.conj(np.transpose(a)) if np.iscomplexobj(a) else
                           np.transpose(a), q)


def solve_discrete_lyapunov(a, q, method=None):
    """``X`` (n, n) with ``a X a^H - X + q = 0``."""
    n = np.shape(q)[0]
    ah = np.conj(a) if np.iscomplexobj(a) else a
    big = np.eye(n * n) - np.kron(a, ah)
    return np.reshape(np.linalg.solve(big, np.reshape(q, (n * n,))), (n, n))


def solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    """``x`` with ``A x = b``, A (n, n) given in LAPACK's banded form ``ab`` ((l + u + 1, n):
    ``ab[u + i - j, j] == A[i, j]``), b (n,) or (n, k)."""
    lo, up = (int(v) for v in l_and_u)
    rows, n = np.shape(ab)
    if rows != lo + up + 1:
        raise ValueError(f"invalid values for the number of lower and upper diagonals: "
                         f"l + u + 1 ({lo + up + 1}) does not equal ab.shape[0] ({rows})")
    r, j = np.meshgrid(np.arange(rows), np.arange(n), indexing="ij")
    i = r - up + j
    keep = (i >= 0) & (i < n)
    dense = np.zeros((n, n), like=ab)
    dense[i[keep], j[keep]] = ab[r[keep], j[keep]]
    return np.linalg.solve(dense, b)
