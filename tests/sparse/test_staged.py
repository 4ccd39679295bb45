"""Prepared sparse Jacobians/Hessians with extra arguments, and their sweeps as one traceable
program (compressed + recover), composed with jit and grad."""
import numpy as np
import pytest

import chainrule as cr

X = np.linspace(0.1, 1.0, 40)
P = np.array([2.0, 3.0])


def f(x, p):
    return p[0] * x**2 + p[1] * np.roll(x, 1) * x


def energy(x, p):
    return p[0] * np.sum(x**4) + p[1] * np.sum(x[1:] * x[:-1])


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_jacobian_with_args_and_staged_sweeps(mode):
    prep = cr.prepare_sparse_jacobian(f, X, mode=mode, args=(P,))
    assert prep.ncolors <= 3
    for p in (P, 2 * P + 1):
        ref = cr.jacobian(lambda x: f(x, p))(X)
        np.testing.assert_allclose(prep(X, p).toarray(), ref, rtol=1e-14)
        B = cr.jit(prep.compressed)(X, p)
        np.testing.assert_allclose(prep.recover(B).toarray(), ref, rtol=1e-14)
    np.testing.assert_allclose(prep(X).toarray(), cr.jacobian(lambda x: f(x, P))(X), rtol=1e-14)


def test_hessian_with_args_and_staged_sweeps():
    prep = cr.prepare_sparse_hessian(energy, X, args=(P,))
    p = np.array([0.5, -1.0])
    ref = cr.hessian(lambda x: energy(x, p))(X)
    np.testing.assert_allclose(prep(X, p).toarray(), ref, rtol=1e-13)
    np.testing.assert_allclose(prep.recover(cr.jit(prep.compressed)(X, p)).toarray(), ref,
                               rtol=1e-13)


def test_compressed_is_differentiable_in_x_and_args():
    prep = cr.prepare_sparse_jacobian(f, X, args=(P,))

    def trace_of_jacobian(x, p):            # the diagonal: 2 p0 x + p1 roll(x, 1)
        B = prep.compressed(x, p)
        return np.sum(B * B)
    gx, gp = cr.grad(trace_of_jacobian, argnums=(0, 1))(X, P)
    h = 1e-6
    fd_p = [(trace_of_jacobian(X, P + h * e) - trace_of_jacobian(X, P - h * e)) / (2 * h)
            for e in np.eye(2)]
    np.testing.assert_allclose(gp, fd_p, rtol=1e-7)
    e = np.zeros_like(X)
    e[3] = 1.0
    fd_x = (trace_of_jacobian(X + h * e, P) - trace_of_jacobian(X - h * e, P)) / (2 * h)
    assert gx[3] == pytest.approx(fd_x, rel=1e-7)


def test_prepared_point_mismatch_still_refused():
    prep = cr.prepare_sparse_jacobian(f, X, args=(P,))
    with pytest.raises(cr.ShapeMismatchError):
        prep(X[:10], P)
