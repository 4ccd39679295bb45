"""Sparsity patterns through scan: the body's pattern composed over the steps (a fixed point
when there are no xs). Every pattern must contain the nonzeros of the dense derivative, and on
these programs equals it; sparse Jacobians computed from it equal the dense ones."""
import numpy as np
import pytest

import chainrule as cr

rng = np.random.default_rng(3)


def diffusion(u):           # a stencil applied 3 times: the band widens by one per step
    def step(c, x):
        c2 = c + 0.1 * (np.roll(c, 1) - 2 * c + np.roll(c, -1)) * x + 0.01 * c ** 2
        return c2, c2[0] * x
    c, ys = cr.scan(step, u, np.linspace(1, 2, 3))
    return np.concatenate([c, ys])


def elementwise(u):         # 40 elementwise steps: the pattern stays diagonal (a fixed point)
    c, _ = cr.scan(lambda c, x: (np.tanh(c) * 0.5 + 0.1 * c, None), u, None, length=40)
    return c


def with_xs(u):             # xs read at every step, scanned in reverse
    c, ys = cr.scan(lambda c, x: (c * x[:3] + x[3:], np.sum(c * x[:3])), u[:3],
                    u[3:].reshape(4, 6), reverse=True)
    return np.concatenate([c, ys])


CASES = [(diffusion, 8), (elementwise, 6), (with_xs, 27)]


@pytest.mark.parametrize("f,n", CASES)
def test_scan_patterns_are_exact(f, n):
    x = rng.uniform(0.2, 0.8, n)
    P = cr.jacobian_sparsity(f, x).toarray()
    J = cr.jacobian(f)(x)
    np.testing.assert_array_equal(P, J != 0)
    H = cr.hessian_sparsity(lambda v: np.sum(f(v) ** 2), x).toarray()
    Hd = cr.hessian(lambda v: np.sum(f(v) ** 2))(x)
    assert np.all(H | (Hd == 0))                 # contains every nonzero
    np.testing.assert_allclose(cr.sparse_jacobian(f, x).toarray(), J, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(cr.sparse_hessian(lambda v: np.sum(f(v) ** 2), x).toarray(), Hd,
                               rtol=1e-12, atol=1e-14)


def test_elementwise_loop_stays_diagonal():
    x = rng.uniform(0.2, 0.8, 50)
    P = cr.jacobian_sparsity(elementwise, x)
    assert P.nnz == 50 and np.array_equal(P.toarray(), np.eye(50, dtype=bool))
    _, info = cr.jacobian_sparsity(elementwise, x, return_info=True)
    assert "scan" not in info["fallbacks"]
