"""np.linalg.eig and eigvals of real and complex matrices, and eigh and svd of complex ones:
complex results, eigenvalue derivatives against JAX, eigenvector derivatives through
phase-invariant functions against JAX and finite differences, vmap, jit and Taylor mode."""
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


def _nested_forward(curve, t, order):
    """``[f'(t), ..., f^(order)(t)]`` by nested forward mode."""
    fs = [curve]
    for _ in range(order):
        fs.append((lambda g: lambda s: cr.jvp(g, (s,), (1.0,))[1])(fs[-1]))
    return [f(t) for f in fs[1:]]


W = np.arange(9.0).reshape(3, 3)


@pytest.mark.parametrize("base, d", [(A, U[:, None] * U), (A, Z), (Z, A + 2j * A.T)],
                         ids=["real", "real_to_complex", "complex"])
def test_taylor_mode_equals_nested_forward_mode_to_third_order(base, d):
    # eigenvalues, and the eigenvectors themselves (not only phase-free functions of them):
    # the Taylor rule follows the gauge of nested forward mode at every order
    curves = [lambda t: np.real(np.sum(np.linalg.eigvals(base + t * d + t ** 2 * A.T) ** 3)),
              lambda t: np.sum(np.imag(np.linalg.eig(base + t * d)[1]) * W)
              + np.sum(np.real(np.linalg.eig(base + t * d)[1]) ** 2 * W.T)]
    for curve in curves:
        want = _nested_forward(curve, 0.1, 3)
        np.testing.assert_allclose(cr.derivatives(curve, 0.1, 3)[1:], want, rtol=1e-9,
                                   atol=1e-10)
        np.testing.assert_allclose(cr.jit(lambda t: cr.derivatives(curve, t, 3))(0.1)[1:],
                                   want, rtol=1e-9, atol=1e-10)


def test_eigenvalue_series_matches_jax_nested_forward_mode():
    def jax_derivs(f, t, order):
        fs = [f]
        for _ in range(order):
            fs.append((lambda g: lambda s: jax.jvp(g, (s,), (1.0,))[1])(fs[-1]))
        return [f(t) for f in fs[1:]]
    def eigvals_j(m):    # JAX's higher derivatives of eigenvalues go through its eigenvectors
        return jax.lax.linalg.eig(m, compute_left_eigenvectors=False,
                                  enable_eigvec_derivs=True)[0]
    for m, d in [(A, Z), (Z, A)]:
        curve = lambda t: np.sum(np.abs(np.linalg.eigvals(m + t * d)) ** 2)  # noqa: E731
        curve_j = lambda t: jnp.sum(jnp.abs(eigvals_j(m + t * d)) ** 2)  # noqa: E731
        np.testing.assert_allclose(cr.derivatives(curve, 0.2, 3)[1:], jax_derivs(curve_j, 0.2, 3),
                                   rtol=1e-9)


def test_eig_sparsity_is_block_diagonal_over_a_stack():
    stack = np.stack([A, 2 * A + np.eye(3)])
    def f(s):
        return np.sum(np.abs(np.linalg.eig(s)[1]) ** 2, axis=-1) + np.real(np.linalg.eigvals(s))
    pattern = cr.jacobian_sparsity(f, stack).toarray()
    block = np.kron(np.eye(2, dtype=bool), np.ones((3, 9), bool))
    np.testing.assert_array_equal(pattern, block)
    np.testing.assert_array_equal(cr.jacobian(f)(stack).reshape(6, 18) != 0, block)
    h = cr.hessian_sparsity(lambda s: np.sum(np.real(np.linalg.eigvals(s)) ** 3), stack)
    np.testing.assert_array_equal(h.toarray(),
                                  np.kron(np.eye(2, dtype=bool), np.ones((9, 9), bool)))
    np.testing.assert_allclose(
        cr.sparse_jacobian(f, stack).toarray(), cr.jacobian(f)(stack).reshape(6, 18), rtol=1e-12)


def test_complex_hermitian_eigh_matches_jax():
    m = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    h = m + m.conj().T
    d = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    d = d + d.conj().T
    w, w_dot = cr.jvp(np.linalg.eigvalsh, (h,), (d,))
    np.testing.assert_allclose(w, np.linalg.eigvalsh(h))
    np.testing.assert_allclose(w_dot, jax.jvp(jnp.linalg.eigvalsh, (h,), (d,))[1], rtol=1e-10)
    (_, v), (_, v_dot) = cr.jvp(np.linalg.eigh, (h,), (d,))
    (_, vj), (_, vj_dot) = jax.jvp(jnp.linalg.eigh, (h,), (d,))

    def projector_dot(v, vd):     # d/dt of v_j v_j^H: independent of the eigenvectors' phase
        return [vd[:, [j]] @ v[:, [j]].conj().T + v[:, [j]] @ vd[:, [j]].conj().T
                for j in range(3)]
    np.testing.assert_allclose(projector_dot(v, v_dot),
                               projector_dot(np.asarray(vj), np.asarray(vj_dot)), atol=1e-10)
    # reverse mode and second order, in the real and imaginary parts of the lower triangle
    f = lambda x, y: np.sum(np.linalg.eigvalsh(x + 1j * (y - y.T)) ** 3)  # noqa: E731
    check_grads(f, (h.real, np.tril(h.imag, -1)), order=2)
    g = lambda x, y: np.sum(np.abs(np.linalg.eigh(x + 1j * (y - y.T))[1][:, 0] @ U) ** 2)  # noqa
    check_grads(g, (h.real, np.tril(h.imag, -1)), order=2)
    # Taylor mode (derived from the JVP rule) against nested forward mode, to third order
    curve = lambda t: np.sum(np.linalg.eigvalsh(h + t * d) ** 3) + g(  # noqa: E731
        (h + t * d).real, np.tril((h + t * d).imag, -1))
    d1 = lambda t: cr.jvp(curve, (t,), (1.0,))[1]          # noqa: E731
    d2 = lambda t: cr.jvp(d1, (t,), (1.0,))[1]             # noqa: E731
    d3 = lambda t: cr.jvp(d2, (t,), (1.0,))[1]             # noqa: E731
    np.testing.assert_allclose(cr.derivatives(curve, 0.1, 3)[1:], [d1(0.1), d2(0.1), d3(0.1)],
                               rtol=1e-9)


def test_complex_svd_matches_jax():
    a = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    d = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    svals = lambda m: np.linalg.svd(m, compute_uv=False)  # noqa: E731
    np.testing.assert_allclose(cr.jvp(svals, (a,), (d,))[1],
                               jax.jvp(lambda m: jnp.linalg.svd(m, compute_uv=False), (a,),
                                       (d,))[1], rtol=1e-10)
    (u, _, vh), (u_dot, _, vh_dot) = cr.jvp(lambda m: np.linalg.svd(m, full_matrices=False),
                                            (a,), (d,))
    (uj, _, vhj), (uj_dot, _, vhj_dot) = jax.jvp(
        lambda m: jnp.linalg.svd(m, full_matrices=False), (a,), (d,))

    def rank_one_dot(u, vh, u_dot, vh_dot):   # d/dt of u_j vh_j: independent of the phases
        u, vh, u_dot, vh_dot = map(np.asarray, (u, vh, u_dot, vh_dot))
        return [u_dot[:, [j]] @ vh[[j], :] + u[:, [j]] @ vh_dot[[j], :] for j in range(3)]
    np.testing.assert_allclose(rank_one_dot(u, vh, u_dot, vh_dot),
                               rank_one_dot(uj, vhj, uj_dot, vhj_dot), atol=1e-10)
    check_grads(lambda x, y: np.sum(svals(x + 1j * y) ** 3), (a.real, a.imag), order=2)

    def first_rank_one(x, y):
        u, _, vh = np.linalg.svd(x + 1j * y, full_matrices=False)
        return np.real(np.sum(u[:, :1] @ vh[:1, :] * np.arange(12.0).reshape(4, 3)))
    check_grads(first_rank_one, (a.real, a.imag), order=2)


def test_complex_svd_taylor_mode_equals_nested_forward_mode():
    a = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    d = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    curve = lambda t: np.sum(np.linalg.svd(a + t * d, compute_uv=False) ** 3)  # noqa: E731
    d1 = lambda t: cr.jvp(curve, (t,), (1.0,))[1]          # noqa: E731
    d2 = lambda t: cr.jvp(d1, (t,), (1.0,))[1]             # noqa: E731
    d3 = lambda t: cr.jvp(d2, (t,), (1.0,))[1]             # noqa: E731
    np.testing.assert_allclose(cr.derivatives(curve, 0.2, 3)[1:], [d1(0.2), d2(0.2), d3(0.2)],
                               rtol=1e-9)


@pytest.mark.parametrize("order", ["nuc", 2, -2])
def test_complex_matrix_norms_through_the_singular_values_match_jax(order):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    f = lambda x, y: np.linalg.norm(x + 1j * y, order)  # noqa: E731
    fj = lambda x, y: jnp.linalg.norm(x + 1j * y, order)  # noqa: E731
    np.testing.assert_allclose(f(a, b), np.linalg.norm(a + 1j * b, order), rtol=1e-14)
    for got, want in zip(cr.grad(f, (0, 1))(a, b), jax.grad(fj, (0, 1))(a, b)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    check_grads(f, (a, b), order=2)
    stack = rng.standard_normal((2, 3, 4))
    check_grads(lambda x, y: np.linalg.norm(x + 1j * y, order, axis=(0, 2)), (stack, 0.5 * stack),
                order=1)
