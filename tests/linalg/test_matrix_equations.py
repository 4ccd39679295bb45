"""sqrtm, solve_sylvester, solve_continuous_lyapunov, solve_discrete_lyapunov, solve_banded of
chainrule.scipy.linalg: values against SciPy, derivatives in every argument (GRAD_CASES:
forward and reverse to order 2 here, Taylor and vmap through the shared table sweeps), and the
defining equations differentiated."""
import numpy as np
import pytest
import scipy.linalg as sl

import chainrule as cr
from chainrule.scipy import linalg as csl
from chainrule.testing import check_grads

rng = np.random.default_rng(5)
A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
B = rng.standard_normal((2, 2)) + 2 * np.eye(2)
Q = rng.standard_normal((3, 2))
S = Q @ Q.T + np.eye(3)
STABLE = rng.standard_normal((3, 3)) - 4 * np.eye(3)
AB = np.array([[0.0, 1.0, 0.7, 2.0], [4.0, 4.5, 4.0, 5.0], [1.0, 0.3, 0.5, 0.0]])
RHS = rng.standard_normal((4, 2))

CASES = [   # name, function, arguments (the Taylor-rule sweep reads this table too)
    ("sylvester", csl.solve_sylvester, (A, B, Q)),
    ("continuous_lyapunov", csl.solve_continuous_lyapunov, (STABLE, S)),
    ("discrete_lyapunov", csl.solve_discrete_lyapunov, (A / 5, S)),
    ("banded", lambda ab, b: csl.solve_banded((1, 1), ab, b), (AB, RHS)),
    ("banded_vector", lambda ab, b: csl.solve_banded((1, 1), ab, b), (AB, RHS[:, 0])),
    ("sqrtm", csl.sqrtm, (S + 0.3 * A,)),
]
SCIPY = {"sylvester": sl.solve_sylvester, "continuous_lyapunov": sl.solve_continuous_lyapunov,
         "discrete_lyapunov": sl.solve_discrete_lyapunov,
         "banded": lambda ab, b: sl.solve_banded((1, 1), ab, b),
         "banded_vector": lambda ab, b: sl.solve_banded((1, 1), ab, b), "sqrtm": sl.sqrtm}


@pytest.mark.parametrize("name, f, args", CASES, ids=[c[0] for c in CASES])
def test_values_and_grads(name, f, args):
    np.testing.assert_allclose(f(*args), SCIPY[name](*args), rtol=1e-10, atol=1e-12)
    check_grads(f, args, order=2, modes=("fwd", "rev"))


def test_lyapunov_equation_holds_along_a_curve():
    # d/dt of A X + X A^T = Q along A + t E, from one Taylor pass, is E X + A X' + X' A^T + X E^T
    e = rng.standard_normal((3, 3))
    x = csl.solve_continuous_lyapunov(STABLE, S)
    c = cr.taylor(lambda a: csl.solve_continuous_lyapunov(a, S), STABLE, e, 2)
    np.testing.assert_allclose(STABLE @ c[1] + c[1] @ STABLE.T + e @ x + x @ e.T, 0, atol=1e-12)
    np.testing.assert_allclose(cr.vmap(lambda a: csl.solve_sylvester(a, B, Q))(np.stack([A, A])),
                               np.stack([sl.solve_sylvester(A, B, Q)] * 2), rtol=1e-10)
    np.testing.assert_allclose(cr.jit(cr.jacobian(csl.solve_sylvester))(A, B, Q),
                               cr.jacobian(csl.solve_sylvester)(A, B, Q), rtol=1e-12)


def test_sqrtm_of_a_real_matrix_with_a_complex_root_refuses():
    from chainrule import UnsupportedFunctionError
    with pytest.raises(UnsupportedFunctionError, match="complex"):
        cr.grad(lambda a: np.sum(csl.sqrtm(a)))(-np.eye(2))
    z = csl.sqrtm(-np.eye(2) + 0j)
    np.testing.assert_allclose(z @ z, -np.eye(2), atol=1e-12)
