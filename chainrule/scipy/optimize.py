"""The test functions of ``scipy.optimize`` for traced arrays: ``rosen``, ``rosen_der``,
``rosen_hess``, ``rosen_hess_prod``.

SciPy's versions convert their input with ``np.asarray``, which a traced array refuses; these are
the same formulas written with NumPy functions, so they are differentiable (``rosen_der`` again,
to any order) and take plain arrays too. Each takes ``x`` of shape (n,) or (n, ...) (the sum
runs over the first axis, as in SciPy).
"""
import numpy as np

__all__ = ["rosen", "rosen_der", "rosen_hess", "rosen_hess_prod"]


def rosen(x):
    """``sum(100 (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)`` over axis 0: shape x.shape[1:]."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, axis=0)


def rosen_der(x):
    """The gradient of ``rosen`` (same shape as x), as a formula (differentiable again)."""
    zero = np.zeros_like(x[:1])
    lead = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])   # d/dx[i], i < n-1
    trail = 200.0 * (x[1:] - x[:-1] ** 2)                                  # d/dx[i], i > 0
    return np.concatenate([lead, zero]) + np.concatenate([zero, trail])


def _hess_bands(x):
    """The diagonal (n,) and the off-diagonal (n-1,) of rosen's tridiagonal Hessian."""
    zero = np.zeros_like(x[:1])
    diag = np.concatenate([1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0, zero]) \
        + np.concatenate([zero, 200.0 * np.ones_like(x[1:])])
    return diag, -400.0 * x[:-1]


def rosen_hess(x):
    """The Hessian of ``rosen`` at 1-D ``x``: shape (n, n), tridiagonal."""
    diag, off = _hess_bands(x)
    return np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)


def rosen_hess_prod(x, p):
    """``rosen_hess(x) @ p`` without forming the Hessian: shape (n,)."""
    diag, off = _hess_bands(x)
    zero = np.zeros_like(x[:1])
    return diag * p + np.concatenate([off * p[1:], zero]) + np.concatenate([zero, off * p[:-1]])
