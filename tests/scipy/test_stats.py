"""chainrule.scipy.stats: values against scipy.stats, derivatives in values and parameters
(the GRAD_CASES table: forward and reverse to order 2 here; Taylor mode, vmap and seed batches
through the shared table sweeps), closed forms, and the named errors."""
import numpy as np
import pytest
import scipy.stats as st

import chainrule as cr
from chainrule import ConcretizationError, UnsupportedFunctionError
from chainrule.scipy import stats as cs
from chainrule.testing import check_grads

from gradcases import case, ids

X = np.array([-1.3, 0.2, 0.7, 2.5])
XP = np.array([0.3, 0.9, 1.7, 2.6])          # inside every support used below
U = np.array([0.15, 0.4, 0.8])               # inside (0, 1)
K = np.array([0.0, 2.0, 5.0, 9.0])
CONTINUOUS = {   # name: (values, shape parameters, loc, scale, methods differentiable in shape)
    "norm": (X, (), 0.3, 1.7, ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    "t": (X, (3.5,), 0.3, 1.7, ("logpdf", "pdf")),
    "chi2": (XP, (2.5,), -0.2, 1.2, ("logpdf", "pdf")),
    "gamma": (XP, (1.7,), -0.2, 1.2, ("logpdf", "pdf")),
    "beta": (U, (2.0, 3.0), 0.0, 1.0, ("logpdf", "pdf")),
    "expon": (XP, (), -0.2, 1.2, ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    "laplace": (X, (), 0.1, 1.2, ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    "cauchy": (X, (), 0.1, 1.2, ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
    "logistic": (X, (), 0.1, 1.2, ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")),
}
METHODS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
PPF = ("norm", "expon", "laplace", "cauchy", "logistic")


def _in_all(name, method):
    """d/d(x, loc, scale, every shape parameter)."""
    dist = getattr(cs, name)
    return lambda x, loc, scale, *sh: getattr(dist, method)(x, *sh, loc=loc, scale=scale)


def _in_x_loc_scale(name, method):
    dist = getattr(cs, name)
    _, shape, _, _, _ = CONTINUOUS[name]
    return lambda x, loc, scale: getattr(dist, method)(x, *shape, loc=loc, scale=scale)


GRAD_CASES = [
    case(f"{name}.{m}", _in_all(name, m), x, np.float64(loc), np.float64(scale),
         *map(np.float64, shape))
    for name, (x, shape, loc, scale, smooth) in CONTINUOUS.items() for m in smooth
] + [
    case(f"{name}.{m}_x_loc_scale", _in_x_loc_scale(name, m), x, np.float64(loc),
         np.float64(scale))
    for name, (x, shape, loc, scale, smooth) in CONTINUOUS.items() for m in METHODS
    if m not in smooth
] + [
    case(f"{name}.ppf", lambda q, loc, scale, name=name: getattr(cs, name).ppf(q, loc, scale),
         U, np.float64(0.2), np.float64(1.3)) for name in PPF
] + [
    case(f"poisson.{m}", lambda mu, m=m: getattr(cs.poisson, m)(K, mu), np.array([0.7, 3.3]).
         reshape(2, 1)) for m in ("logpmf", "pmf", "cdf", "sf", "logcdf", "logsf")
] + [
    case(f"binom.{m}", lambda p, m=m: getattr(cs.binom, m)(K, 10, p), np.array([[0.3], [0.6]]))
    for m in ("logpmf", "pmf", "cdf", "sf", "logcdf", "logsf")
] + [
    case("multivariate_normal.logpdf",
         lambda x, mean, a: cs.multivariate_normal.logpdf(x, mean, a @ a.T + np.eye(3)),
         np.array([[0.3, -0.2, 1.0], [1.1, 0.4, -0.7]]), np.array([0.1, 0.2, -0.3]),
         np.array([[1.0, 0.2, 0.0], [0.3, 0.8, 0.1], [-0.2, 0.4, 1.2]])),
    case("dirichlet.logpdf", lambda x, alpha: cs.dirichlet.logpdf(x / np.sum(x, 0), alpha),
         np.array([[0.2, 0.1], [0.3, 0.6], [0.5, 0.3]]), np.array([1.5, 2.0, 3.0])),
]


@pytest.mark.parametrize("c", GRAD_CASES, ids=ids(GRAD_CASES))
def test_grads(c):
    c.check()


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_values_match_scipy(name):
    x, shape, loc, scale, _ = CONTINUOUS[name]
    for m in METHODS:
        np.testing.assert_allclose(getattr(getattr(cs, name), m)(x, *shape, loc=loc, scale=scale),
                                   getattr(getattr(st, name), m)(x, *shape, loc=loc, scale=scale),
                                   rtol=1e-10, err_msg=f"{name}.{m}")
    if name in PPF:
        np.testing.assert_allclose(getattr(cs, name).ppf(U, loc, scale),
                                   getattr(st, name).ppf(U, loc, scale), rtol=1e-10)


def test_discrete_and_multivariate_values_match_scipy():
    k = np.array([-1.0, 0.0, 2.0, 5.0, 10.0, 12.0])
    with np.errstate(divide="ignore"):
        for m in ("logpmf", "pmf", "cdf", "sf", "logcdf", "logsf"):
            np.testing.assert_allclose(getattr(cs.poisson, m)(k, 3.3),
                                       getattr(st.poisson, m)(k, 3.3), rtol=1e-10)
            np.testing.assert_allclose(getattr(cs.binom, m)(k, 10, 0.3),
                                       getattr(st.binom, m)(k, 10, 0.3), rtol=1e-10)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    cov, x, mean = a @ a.T + np.eye(3), rng.standard_normal((4, 3)), rng.standard_normal(3)
    np.testing.assert_allclose(cs.multivariate_normal.logpdf(x, mean, cov),
                               st.multivariate_normal.logpdf(x, mean, cov), rtol=1e-12)
    np.testing.assert_allclose(cs.multivariate_normal.pdf(x[0], mean, cov),
                               st.multivariate_normal.pdf(x[0], mean, cov), rtol=1e-12)
    xs, alpha = np.array([[0.2, 0.1], [0.3, 0.6], [0.5, 0.3]]), np.array([1.5, 2.0, 3.0])
    np.testing.assert_allclose(cs.dirichlet.logpdf(xs, alpha), st.dirichlet.logpdf(xs, alpha))


def test_closed_forms():
    # d/dmu of the normal log-likelihood; d/dx cdf = pdf; d/dq ppf = 1 / pdf(ppf(q))
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(cr.grad(lambda m: np.sum(cs.norm.logpdf(x, m, 2.0)))(0.3),
                               np.sum(x - 0.3) / 4.0)
    for name, shape in (("t", (3.5,)), ("gamma", (1.7,)), ("beta", (2.0, 3.0)),
                        ("chi2", (2.5,))):
        xs = U if name == "beta" else XP
        dist = getattr(cs, name)
        np.testing.assert_allclose(cr.vmap(cr.grad(lambda v: dist.cdf(v, *shape)))(xs),
                                   dist.pdf(xs, *shape), rtol=1e-10, err_msg=name)
    np.testing.assert_allclose(cr.vmap(cr.grad(cs.logistic.ppf))(U),
                               1 / cs.logistic.pdf(cs.logistic.ppf(U)), rtol=1e-10)
    # Poisson cdf in mu: -pmf(k, mu) (the mass moving past k)
    np.testing.assert_allclose(cr.grad(lambda mu: cs.poisson.cdf(4.0, mu))(2.2),
                               -st.poisson.pmf(4, 2.2), rtol=1e-10)


def test_named_errors():
    with pytest.raises(UnsupportedFunctionError, match="no closed form"):
        cr.grad(lambda df: cs.t.cdf(0.5, df))(3.0)
    with pytest.raises(NotImplementedError, match="ppf"):
        cs.t.ppf(0.3, 3.0)
    with pytest.raises(TypeError, match="missing"):
        cs.t.logpdf(0.3)
    # plain scipy.stats converts its inputs: the error points here
    with pytest.raises(ConcretizationError, match=r"use chainrule\.scipy\.stats"):
        cr.grad(lambda x: st.norm.logpdf(x))(1.0)


def test_multivariate_normal_singular_and_entropy_match_scipy():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4))
    cov, x, m = a @ a.T + np.eye(4), rng.standard_normal((3, 4)), rng.standard_normal(4)
    mvn, smvn = cs.multivariate_normal, st.multivariate_normal
    np.testing.assert_allclose(mvn.logpdf(x, m, cov, allow_singular=True), smvn.logpdf(x, m, cov),
                               rtol=1e-12)
    sing = np.diag([1.0, 2.0, 0.0, 0.0])
    xs, ms = x * [1, 1, 0, 0], m * [1, 1, 0, 0]
    np.testing.assert_allclose(mvn.pdf(xs, ms, sing, allow_singular=True),
                               smvn.pdf(xs, ms, sing, allow_singular=True), rtol=1e-12)
    np.testing.assert_allclose(mvn.entropy(m, cov), smvn.entropy(m, cov), rtol=1e-12)
    np.testing.assert_allclose(mvn.entropy(cov=2.0), smvn.entropy(cov=2.0), rtol=1e-12)
    check_grads(lambda x, m, c: mvn.logpdf(x, m, c + c.T, allow_singular=True), (x, m, cov / 2),
                order=2)
    check_grads(lambda x, m: mvn.pdf(x, m, sing, allow_singular=True), (xs, ms), order=2)
    check_grads(lambda c: mvn.entropy(None, c + c.T), (cov / 2,), order=2)
    # what chainrule does not define is SciPy's (on plain values)
    assert cs.dirichlet.rvs(np.ones(3), size=2).shape == (2, 3)
    assert cs.norm.mean(loc=2.0) == 2.0


def test_jit_and_jacobians_of_a_likelihood():
    data = np.array([0.3, 1.2, -0.4, 2.2])

    def nll(p):
        return -np.sum(cs.t.logpdf(data, p[0], loc=p[1], scale=np.exp(p[2])))
    p = np.array([4.0, 0.5, 0.1])
    np.testing.assert_allclose(cr.jit(cr.grad(nll))(p), cr.grad(nll)(p), rtol=1e-12)
    np.testing.assert_allclose(cr.hessian(nll)(p), cr.jacrev(cr.grad(nll))(p), rtol=1e-10)
