"""np.linalg.eig and eigvals of real and complex matrices: complex results, eigenvalue
derivatives against JAX, eigenvector derivatives through gauge-invariant functions against
finite differences, vmap, jit and Taylor mode."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(1)
A = rng.standard_normal((3, 3))                     # a complex pair and a real eigenvalue
Z = A + 1j * rng.standard_normal((3, 3))
U = rng.standard_normal(3)


def test_values_are_numpys_as_complex():
    for m in (A, Z, np.diag([1.0, 2.0, 3.0])):
        w, v = cr.jvp(np.linalg.eig, (m,), (np.ones_like(m),))[0]
        w0, v0 = np.linalg.eig(m)
        assert w.dtype.kind == "c" and v.dtype.kind == "c"
        np.testing.assert_allclose(w, w0)
        np.testing.assert_allclose(v, v0)


@pytest.mark.parametrize("m", [A, Z], ids=["real", "complex"])
def test_eigenvalue_derivatives_match_jax(m):
    d = rng.standard_normal(m.shape) + (1j * rng.standard_normal(m.shape) if m is Z else 0)
    np.testing.assert_allclose(cr.jvp(np.linalg.eigvals, (m,), (d,))[1],
                               jax.jvp(jnp.linalg.eigvals, (m,), (d,))[1], rtol=1e-10)
    np.testing.assert_allclose(cr.jvp(lambda a: np.linalg.eig(a)[0], (m,), (d,))[1],
                               jax.jvp(jnp.linalg.eigvals, (m,), (d,))[1], rtol=1e-10)
    if m is A:
        f = lambda a: np.sum(np.abs(np.linalg.eigvals(a)) ** 2)  # noqa: E731
        fj = lambda a: jnp.sum(jnp.abs(jnp.linalg.eigvals(a)) ** 2)  # noqa: E731
        np.testing.assert_allclose(cr.grad(f)(m), jax.grad(fj)(m), rtol=1e-10)
        np.testing.assert_allclose(cr.jit(cr.grad(f))(m), jax.grad(fj)(m), rtol=1e-10)


def test_derivatives_against_finite_differences():
    check_grads(lambda a: np.sum(np.abs(np.linalg.eigvals(a)) ** 2), (A,), order=2)
    # eigenvectors: |v_j^H u|^2 does not depend on the phase of v_j
    check_grads(lambda a: np.sum(np.abs(np.conj(np.linalg.eig(a)[1]).T @ U) ** 2), (A,),
                order=2)
    check_grads(lambda x, y: np.real(np.sum(np.linalg.eigvals(x + 1j * y) ** 2)),
                (Z.real, Z.imag), order=1)


def test_vmap_and_taylor():
    stack = np.stack([A, 2 * A + np.eye(3)])
    np.testing.assert_allclose(cr.vmap(np.linalg.eigvals)(stack),
                               [np.linalg.eigvals(s) for s in stack])
    g = cr.grad(lambda a: np.sum(np.abs(np.linalg.eigvals(a)) ** 2))
    np.testing.assert_allclose(cr.vmap(g)(stack), [g(s) for s in stack], rtol=1e-12)
    # Taylor mode (eig has no Taylor rule of its own) against nested forward mode
    f = lambda t: np.real(np.sum(np.linalg.eigvals(A + t * Z) ** 2))  # noqa: E731
    want = cr.jvp(lambda t: cr.jvp(f, (t,), (1.0,))[1], (0.3,), (1.0,))[1]
    np.testing.assert_allclose(cr.derivatives(f, 0.3, 2)[2], want, rtol=1e-8)
