"""scipy.special: its ufuncs through NumPy's protocol, and chainrule.scipy.special for the plain
functions SciPy does not dispatch (logsumexp, softmax, log_softmax, polygamma)."""
import numpy as np
import pytest
import scipy.special as ss

import chainrule as cr
from chainrule import ConcretizationError
from chainrule.scipy import special as css

from gradcases import case, ids, rand

UNARY = {
    ss.gammaln: (0.5, 4), ss.digamma: (0.5, 4), ss.psi: (0.5, 4), ss.gamma: (0.5, 3),
    ss.erf: (-2, 2), ss.erfc: (-2, 2), ss.erfinv: (-0.8, 0.8), ss.erfcinv: (0.2, 1.8),
    ss.ndtr: (-2, 2), ss.ndtri: (0.1, 0.9), ss.log_ndtr: (-3, 3), ss.expit: (-3, 3),
    ss.logit: (0.1, 0.9), ss.log_expit: (-3, 3),
}
UNARY.update({ss.j0: (-3, 3), ss.j1: (-3, 3), ss.y0: (0.5, 3), ss.y1: (0.5, 3), ss.i0: (-2, 2),
              ss.i1: (-2, 2), ss.i0e: (0.2, 2), ss.i1e: (-2, -0.2), ss.rgamma: (0.5, 3),
              ss.gammasgn: (0.5, 3)})
BINARY = {ss.xlogy: ((-2, 2), (0.3, 3)), ss.xlog1py: ((-2, 2), (-0.5, 2)),
          ss.beta: ((0.5, 3), (0.5, 3)), ss.betaln: ((0.5, 3), (0.5, 3))}
# functions of x with a constant order or parameter (derivatives in those have no closed form)
IN_X = {"jv": (lambda x: ss.jv(1.5, x), (0.3, 3)), "jn": (lambda x: ss.jn(2, x), (-3, 3)),
        "yv": (lambda x: ss.yv(0.5, x), (0.5, 3)), "yn": (lambda x: ss.yn(2, x), (0.5, 3)),
        "iv": (lambda x: ss.iv(2.5, x), (0.2, 2)), "ive": (lambda x: ss.ive(1.0, x), (-2, -0.2)),
        "kv": (lambda x: ss.kv(0.7, x), (0.5, 3)), "kve": (lambda x: ss.kve(1.3, x), (0.5, 3)),
        "gammainc": (lambda x: ss.gammainc(np.array([1.5, 2.5, 4.0]), x), (0.3, 3)),
        "gammaincc": (lambda x: ss.gammaincc(2.5, x), (0.3, 3)),
        "betainc": (lambda x: ss.betainc(2.5, np.array([1.5, 3.0, 4.0]), x), (0.1, 0.9)),
        "multigammaln": (lambda x: css.multigammaln(x, 3), (1.5, 4))}

X = rand(2, 3)
GRAD_CASES = [
    case(f"{uf.__name__}{shape}", uf, rand(*shape, lo=lo, hi=hi))
    for uf, (lo, hi) in UNARY.items() for shape in [(), (3,), (2, 2)]
] + [
    case(f"{uf.__name__}{s0}{s1}", uf, rand(*s0, lo=a[0], hi=a[1]), rand(*s1, lo=b[0], hi=b[1]))
    for uf, (a, b) in BINARY.items() for s0, s1 in [((3,), (3,)), ((2, 1), (3,)), ((), (2,))]
] + [
    case(f"{name}_in_x", f, rand(3, lo=lo, hi=hi)) for name, (f, (lo, hi)) in IN_X.items()
] + [
    case("polygamma1", lambda x: css.polygamma(1, x), rand(3, lo=0.5, hi=3)),
    case("polygamma_array_n", lambda x: css.polygamma(np.array([0, 1, 2]), x),
         rand(3, lo=0.5, hi=3)),
    case("logsumexp", css.logsumexp, X),
    case("logsumexp_axis", lambda x: css.logsumexp(x, axis=0), X),
    case("logsumexp_axis_keepdims", lambda x: css.logsumexp(x, axis=(-1,), keepdims=True), X),
    case("logsumexp_b", lambda x: css.logsumexp(x, axis=1, b=np.exp(x[::-1])), X),
    case("logsumexp_b_sign", lambda x: css.logsumexp(x, b=x[::-1], return_sign=True)[0], X),
    case("logsumexp_minus_inf", lambda x: css.logsumexp(np.where(x > 0, x, -np.inf), axis=1),
         np.array([[0.5, -1.0, 1.5], [2.0, 0.3, -0.2]])),
    case("softmax", lambda x: css.softmax(x, axis=1), X),
    case("softmax_all", css.softmax, X),
    case("log_softmax", lambda x: css.log_softmax(x, axis=0), X),
]


@pytest.mark.parametrize("c", GRAD_CASES, ids=ids(GRAD_CASES))
def test_grads(c):
    c.check()


def test_values_match_scipy():
    x = rand(2, 3)
    np.testing.assert_allclose(css.logsumexp(x, axis=1), ss.logsumexp(x, axis=1))
    np.testing.assert_allclose(css.logsumexp(x, b=x[::-1], return_sign=True),
                               ss.logsumexp(x, b=x[::-1], return_sign=True))
    np.testing.assert_allclose(css.softmax(x, axis=0), ss.softmax(x, axis=0))
    np.testing.assert_allclose(css.log_softmax(x), ss.log_softmax(x))
    np.testing.assert_allclose(css.polygamma([0, 2], 1.5), ss.polygamma([0, 2], 1.5))
    np.testing.assert_allclose(cr.grad(lambda x: ss.gammaln(x))(2.5), ss.digamma(2.5))
    np.testing.assert_allclose(cr.grad(lambda x: css.polygamma(2, x))(2.5), ss.polygamma(3, 2.5))


def test_scipy_plain_functions_refuse_with_a_named_error():
    # scipy.special.logsumexp converts its input with np.asarray: a traced array refuses, with
    # chainrule's named error; chainrule.scipy.special.logsumexp is the function to call
    with pytest.raises(ConcretizationError):
        cr.grad(lambda x: ss.logsumexp(x))(np.ones(3))
    np.testing.assert_allclose(cr.grad(lambda x: css.logsumexp(x))(np.zeros(3)), np.ones(3) / 3)


def test_namespace():
    for name in ("gammaln", "digamma", "psi", "erf", "erfc", "expit", "logit", "xlogy",
                 "xlog1py", "logsumexp", "softmax", "log_softmax", "polygamma", "multigammaln",
                 "jn", "yn", "jv", "kve", "betainc", "gammaincc"):
        assert callable(getattr(css, name)), name
    assert cr.scipy.special is css


@pytest.mark.parametrize("f", [lambda v: ss.jv(v, 1.5), lambda v: ss.kve(v, 1.5),
                               lambda a: ss.gammainc(a, 1.5), lambda b: ss.betainc(2.0, b, 0.3)])
def test_no_closed_form_derivatives_raise_a_named_error(f):
    from chainrule import UnsupportedFunctionError
    with pytest.raises(UnsupportedFunctionError, match="no closed form"):
        cr.grad(f)(1.2)
    with pytest.raises(UnsupportedFunctionError, match="no closed form"):
        cr.derivatives(f, 1.2, 2)


def test_bessel_values_and_recurrences():
    x = np.array([0.4, 1.3, 2.7])
    # closed forms: J0' = -J1, I0' = I1, K0' = -K1, Y0' = -Y1, gammainc' in x is the density
    np.testing.assert_allclose(cr.vmap(cr.grad(ss.j0))(x), -ss.j1(x), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(ss.i0))(x), ss.i1(x), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda t: ss.kv(0.0, t)))(x), -ss.kv(1.0, x),
                               rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(ss.y0))(x), -ss.y1(x), rtol=1e-12)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda t: ss.gammainc(3.0, t)))(x),
                               x ** 2 * np.exp(-x) / 2, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(lambda t: ss.jv(2.0, t))(x), ss.jv(2.0, x))
    # Bessel's equation: x^2 J'' + x J' + (x^2 - v^2) J = 0, from one Taylor pass
    v = 1.5
    d = np.array([cr.derivatives(lambda t: ss.jv(v, t), xi, 2) for xi in x])
    np.testing.assert_allclose(x ** 2 * d[:, 2] + x * d[:, 1] + (x ** 2 - v ** 2) * d[:, 0], 0,
                               atol=1e-12)
