"""Complex numbers. The convention (JAX's): transposes under the real pairing Re(sum(a * b));
holomorphic functions get f'(z) (no conjugation); a real-valued loss of complex z gets
dL/dx - i dL/dy; gradients with respect to real inputs are real."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.testing import check_grads

rng = np.random.default_rng(4)
RE, IM = rng.standard_normal(4), rng.standard_normal(4)
Z = RE + 1j * IM

CASES = [
    ("real imag", lambda x, y: (np.real(x + 1j * y) * 2.0, np.imag(x * (1 + 2j) + y).real)),
    ("conj", lambda x, y: np.imag(np.conj(x + 1j * y) * (x - 2j * y))),
    ("abs", lambda x, y: np.abs(x + 1j * y)),
    ("abs squared", lambda x, y: np.abs((x + 1j * y) ** 2) ** 2),
    ("exp log sin", lambda x, y: np.real(np.exp(x + 1j * y) + np.log(x + 3 + 1j * y)
                                         + np.sin(1j * x * y))),
    ("division power", lambda x, y: np.imag((x + 1j * y) / (2.0 - 1j * x) + (x + 1j) ** 3)),
    ("sum mean", lambda x, y: np.real(np.sum((x + 1j * y) ** 2) + np.mean(1j * x * y))),
    ("where", lambda x, y: np.real(np.where(x > 0, x + 1j * y, y))),
    ("attributes", lambda x, y: ((x + 1j * y).real * (x * 1j + y).imag, (x + 1j * y).conj().imag)),
    ("complex times real", lambda x, y: np.abs(x * np.exp(1j * y))),
    ("angle", lambda x, y: (np.angle(x + 1j * y), np.angle(x * y + 0.1, deg=True))),
]


@pytest.mark.parametrize("name,f", CASES, ids=[c[0] for c in CASES])
def test_grads(name, f):
    check_grads(f, (RE, IM), order=2, modes=("fwd", "rev"))


def test_holomorphic_grad_is_the_complex_derivative():
    z = 0.3 + 0.7j
    assert np.isclose(cr.grad(lambda z: z ** 3, holomorphic=True)(z), 3 * z ** 2)
    assert np.isclose(cr.grad(np.exp, holomorphic=True)(z), np.exp(z))
    with pytest.raises(cr.ComplexOutputError):     # as JAX: complex outputs need holomorphic=True
        cr.grad(np.exp)(z)
    assert np.isclose(cr.jvp(np.sin, (z,), (1.0 + 0j,))[1], np.cos(z))


def test_real_loss_of_complex_input_gives_conjugate_of_ascent_direction():
    g = cr.grad(lambda z: np.sum(np.abs(z) ** 2))(Z)
    np.testing.assert_allclose(g, 2 * np.conj(Z))


def test_gradients_wrt_real_inputs_are_real():
    for f in (lambda x: np.sum(np.abs(x * (1 + 2j)) ** 2),
              lambda x: np.real(np.sum(x * np.exp(1j * x))),
              lambda x: np.sum(np.abs(np.fft.fft(x * 1j + 1.0))),
              lambda x: np.sum(np.abs(np.concatenate([x, 1j * x, x[:1] * (1 - 2j)])) ** 2),
              lambda x: np.sum(np.imag(np.stack([x ** 2, np.exp(1j * x)]) * (2 + 1j)))):
        g = cr.grad(f)(RE)
        assert g.dtype == np.float64, f
        check_grads(f, (RE,), order=2)


def test_nested_gradient_through_complex_stays_real():
    # the inner gradient must be real for the outer abs to see the right numbers
    def inner(x):
        return cr.grad(lambda x: np.sum(np.abs(x * (1 + 1j)) ** 2))(x)
    g = cr.grad(lambda x: np.sum(np.abs(inner(x))))(RE)
    np.testing.assert_allclose(g, 4 * np.sign(RE))


def test_abs_at_zero_has_zero_derivative():
    g = cr.grad(lambda x, y: np.abs(x + 1j * y), argnums=(0, 1))(0.0, 0.0)
    assert g == (0.0, 0.0)


def test_values_on_plain_arrays():
    np.testing.assert_allclose(cnp.real(Z), Z.real)
    np.testing.assert_allclose(cnp.imag(RE), 0.0)
    np.testing.assert_allclose(cnp.conj(Z), np.conj(Z))
    np.testing.assert_allclose(cnp.abs(Z), np.abs(Z))
    np.testing.assert_allclose(cnp.angle(Z, deg=True), np.angle(Z, deg=True))
    np.testing.assert_allclose(cnp.angle(RE), np.angle(RE))
