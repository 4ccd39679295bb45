"""Products and contractions: dot, vdot, inner, outer, matmul, einsum (repeated indices
included), tensordot, kron, with real and complex operands."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.testing import check_grads

rng = np.random.default_rng(1)
r = rng.standard_normal
M23, M34, M33, T234, T243 = r((2, 3)), r((3, 4)), r((3, 3)), r((2, 3, 4)), r((2, 4, 3))
V3, V4 = r(3), r(4)

CASES = [
    ("dot mv", np.dot, (M23, V3)),
    ("dot mm", np.dot, (M23, M34)),
    ("dot nd", np.dot, (T234, M34.T.copy())),
    ("dot scalar", np.dot, (np.float64(2.5), V3)),
    ("vdot", np.vdot, (M23, M23[::-1].copy())),
    ("inner", np.inner, (T234, M34)),
    ("outer", np.outer, (M23, V4)),
    ("matmul", np.matmul, (T234, T243)),
    ("matmul broadcast", np.matmul, (M23, T234)),
    ("matmul vec", lambda a, b: a @ b, (V3, T234[0].copy())),
    ("matmul vec right", lambda a, b: a @ b, (T234, V4)),
    ("einsum ij,jk", lambda a, b: np.einsum("ij,jk->ik", a, b), (M23, M34)),
    ("einsum trace", lambda a: np.einsum("ii", a), (M33,)),
    ("einsum diag", lambda a: np.einsum("ii->i", a), (M33,)),
    ("einsum ij,jj->i", lambda a, b: np.einsum("ij,jj->i", a, b), (M23, M33)),
    ("einsum iij", lambda a: np.einsum("iij->ji", a), (r((3, 3, 2)),)),
    ("einsum iii", lambda a: np.einsum("iii->i", a), (r((3, 3, 3)),)),
    ("einsum ijij", lambda a: np.einsum("ijij->", a), (r((2, 3, 2, 3)),)),
    ("einsum three", lambda a, b, c: np.einsum("ij,jk,k->i", a, b, c), (M23, M34, V4)),
    ("einsum ellipsis", lambda a, b: np.einsum("...ij,...jk->...ik", a, b), (T234, T243)),
    ("tensordot int", lambda a, b: np.tensordot(a, b, 1), (T234, M34.T.copy())),
    ("tensordot axes", lambda a, b: np.tensordot(a, b, axes=([1, 2], [2, 1])), (T234, T243)),
    ("kron", np.kron, (M23, M34)),
    ("kron mixed ndim", np.kron, (V3, T234)),
]


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_grads(name, f, args):
    check_grads(f, args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_values_match_numpy(name, f, args):
    traced = cr.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]
    np.testing.assert_allclose(traced, f(*args), rtol=1e-12, atol=1e-12)


def test_vdot_conjugates_its_first_argument():
    a, b = r(3) + 1j * r(3), r(3) + 1j * r(3)
    np.testing.assert_allclose(cnp.vdot(a, b), np.vdot(a, b))

    def f(ar, ai, br, bi):
        return np.real(np.vdot(ar + 1j * ai, br + 1j * bi) ** 2)
    check_grads(f, (a.real, a.imag, b.real, b.imag), order=2)


def test_complex_matmul_and_einsum():
    a, b = r((2, 3)) + 1j * r((2, 3)), r((3, 2)) + 1j * r((3, 2))

    def f(ar, ai, br):
        m = (ar + 1j * ai) @ br                       # complex @ real
        e = np.einsum("ij,jk->ik", ar + 1j * ai, br)  # through dot_general too
        return np.abs(m) ** 2 + np.imag(e)
    check_grads(f, (a.real, a.imag, b.real), order=2)
    g = cr.grad(lambda x: np.sum(np.abs(a @ x) ** 2))(b.real)
    assert g.dtype == np.float64


def test_kron_complex_values():
    a, b = r((2, 2)) + 1j * r((2, 2)), r(3)
    np.testing.assert_allclose(cnp.kron(a, b), np.kron(a, b))
