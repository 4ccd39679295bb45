"""``scipy.stats`` distributions for traced arrays: ``chainrule.scipy.stats.norm.logpdf(x)``.

SciPy's distribution methods convert their inputs with ``np.asarray``, which a traced array
refuses. These objects have the same names and signatures (``norm.logpdf(x, loc=0, scale=1)``,
``t.cdf(x, df, loc=0, scale=1)``, ``poisson.logpmf(k, mu)``, ...), are written with NumPy
functions and ``scipy.special`` ufuncs, and so are differentiable in every mode, in the values
and in the distribution parameters alike; they take plain arrays too. Arguments broadcast.

Methods: continuous ``logpdf, pdf, logcdf, cdf, logsf, sf`` (and ``ppf`` where the inverse is a
closed form: norm, expon, laplace, cauchy, logistic); discrete (poisson, binom) ``logpmf, pmf,
logcdf, cdf, logsf, sf`` (derivatives in the parameters; k is an integer count); and
``multivariate_normal.logpdf/pdf/entropy`` (``allow_singular`` too), ``dirichlet.logpdf/pdf``.
The cdf of t, chi2, gamma and beta is a regularized incomplete gamma or beta function: its
derivative in x and loc/scale is exact, its derivative in the shape parameters (df, a, b) has
no closed form and raises UnsupportedFunctionError. Other methods (``rvs``, ``mean``, ``var``,
``fit``, ...) are SciPy's own, on plain values.
"""
import numpy as np
import scipy.special as sp

from . import linalg as _linalg

__all__ = ["norm", "t", "chi2", "beta", "gamma", "expon", "laplace", "cauchy", "logistic",
           "poisson", "binom", "multivariate_normal", "dirichlet"]

_LOG_2PI = np.log(2 * np.pi)


class _SciPyRest:
    """What chainrule does not define (``rvs``, ``mean``, ``entropy``, ...) is SciPy's method
    of the distribution of the same name."""
    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        import scipy.stats
        return getattr(getattr(scipy.stats, type(self).__name__[:-len("_gen")]), attr)


def _standardized(method):
    """The method ``method(x, *shape, loc=0, scale=1)`` from its standardized ``_method(z)``."""
    def apply(self, *args, **kwargs):
        x, shape, loc, scale = self._split(args, kwargs, method)
        return getattr(self, "_" + method)((x - loc) / scale, *shape)
    apply.__name__ = method
    return apply


class _Continuous(_SciPyRest):
    """A location-scale family: subclasses give the standardized ``_logpdf(z, *shape)`` and
    ``_cdf(z, *shape)`` (optionally ``_logcdf``, ``_sf``, ``_logsf``, ``_ppf``)."""
    name = ""
    nshape = 0

    def _split(self, args, kwargs, what):
        """``(value, shape parameters, loc, scale)`` from SciPy's positional/keyword arguments."""
        names = self.shape_names + ("loc", "scale")
        vals = dict(zip(names, args[1:]))
        for k, v in kwargs.items():
            if k not in names or k in vals:
                raise TypeError(f"{self.name}.{what}() got an unexpected or repeated argument "
                                f"{k!r}")
            vals[k] = v
        missing = [n for n in self.shape_names if n not in vals]
        if missing or not args:
            raise TypeError(f"{self.name}.{what}() missing argument(s): "
                            f"{', '.join((['x'] if not args else []) + missing)}")
        shape = tuple(vals[n] for n in self.shape_names)
        return args[0], shape, vals.get("loc", 0.0), vals.get("scale", 1.0)

    def logpdf(self, *args, **kwargs):
        x, shape, loc, scale = self._split(args, kwargs, "logpdf")
        return self._logpdf((x - loc) / scale, *shape) - np.log(scale)

    def pdf(self, *args, **kwargs):
        return np.exp(self.logpdf(*args, **kwargs))

    cdf, logcdf = _standardized("cdf"), _standardized("logcdf")
    sf, logsf = _standardized("sf"), _standardized("logsf")

    def ppf(self, *args, **kwargs):
        q, shape, loc, scale = self._split(args, kwargs, "ppf")
        return loc + scale * self._ppf(q, *shape)

    # defaults, for families without a better form
    def _logcdf(self, z, *shape):
        return np.log(self._cdf(z, *shape))

    def _sf(self, z, *shape):
        return 1.0 - self._cdf(z, *shape)

    def _logsf(self, z, *shape):
        return np.log(self._sf(z, *shape))

    def _ppf(self, q, *shape):
        raise NotImplementedError(f"chainrule.scipy.stats.{self.name}.ppf is not implemented "
                                  "(its inverse has no closed form)")

    def __repr__(self):
        return f"<chainrule.scipy.stats.{self.name}>"


def _family(name, shape_names=(), **methods):
    cls = type(f"{name}_gen", (_Continuous,), dict(
        name=name, shape_names=tuple(shape_names),
        **{k: staticmethod(f) for k, f in methods.items()}))
    return cls()


def _positive(z, value):
    """``value`` where z >= 0, -inf below (the support of expon, chi2, gamma)."""
    return np.where(z >= 0, value, -np.inf)


def _gamma_logpdf(z, a):
    zs = np.where(z > 0, z, 1.0)
    return _positive(z, sp.xlogy(a - 1.0, zs) - zs - sp.gammaln(a))


def _t_cdf(z, df):
    tail = 0.5 * sp.betainc(0.5 * df, 0.5, df / (df + z ** 2))
    return np.where(z < 0, tail, 1.0 - tail)


norm = _family(
    "norm",
    _logpdf=lambda z: -0.5 * z ** 2 - 0.5 * _LOG_2PI,
    _cdf=sp.ndtr, _logcdf=sp.log_ndtr,
    _sf=lambda z: sp.ndtr(-z), _logsf=lambda z: sp.log_ndtr(-z), _ppf=sp.ndtri)
t = _family(
    "t", ("df",),
    _logpdf=lambda z, df: (sp.gammaln(0.5 * (df + 1.0)) - sp.gammaln(0.5 * df)
                           - 0.5 * np.log(df * np.pi) - 0.5 * (df + 1.0) * np.log1p(z ** 2 / df)),
    _cdf=_t_cdf, _sf=lambda z, df: _t_cdf(-z, df))
gamma = _family(
    "gamma", ("a",),
    _logpdf=_gamma_logpdf,
    _cdf=lambda z, a: sp.gammainc(a, np.maximum(z, 0.0)),
    _sf=lambda z, a: sp.gammaincc(a, np.maximum(z, 0.0)))
chi2 = _family(
    "chi2", ("df",),
    _logpdf=lambda z, df: _gamma_logpdf(0.5 * z, 0.5 * df) - np.log(2.0),
    _cdf=lambda z, df: sp.gammainc(0.5 * df, np.maximum(0.5 * z, 0.0)),
    _sf=lambda z, df: sp.gammaincc(0.5 * df, np.maximum(0.5 * z, 0.0)))
beta = _family(
    "beta", ("a", "b"),
    _logpdf=lambda z, a, b: np.where((z >= 0) & (z <= 1), sp.xlogy(a - 1.0, z)
                                     + sp.xlog1py(b - 1.0, -z) - sp.betaln(a, b), -np.inf),
    _cdf=lambda z, a, b: sp.betainc(a, b, np.clip(z, 0.0, 1.0)),
    _sf=lambda z, a, b: sp.betainc(b, a, np.clip(1.0 - z, 0.0, 1.0)))
expon = _family(
    "expon",
    _logpdf=lambda z: _positive(z, -z),
    _cdf=lambda z: -np.expm1(-np.maximum(z, 0.0)),
    _sf=lambda z: np.exp(-np.maximum(z, 0.0)), _logsf=lambda z: -np.maximum(z, 0.0),
    _ppf=lambda q: -np.log1p(-q))
laplace = _family(
    "laplace",
    _logpdf=lambda z: -np.abs(z) - np.log(2.0),
    _cdf=lambda z: np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0.0)),
                            1.0 - 0.5 * np.exp(-np.maximum(z, 0.0))),
    _sf=lambda z: np.where(z > 0, 0.5 * np.exp(-np.maximum(z, 0.0)),
                           1.0 - 0.5 * np.exp(np.minimum(z, 0.0))),
    _ppf=lambda q: -np.sign(q - 0.5) * np.log1p(-2.0 * np.abs(q - 0.5)))
cauchy = _family(
    "cauchy",
    _logpdf=lambda z: -np.log(np.pi) - np.log1p(z ** 2),
    _cdf=lambda z: 0.5 + np.arctan(z) / np.pi,
    _sf=lambda z: 0.5 - np.arctan(z) / np.pi,
    _ppf=lambda q: np.tan(np.pi * (q - 0.5)))
logistic = _family(
    "logistic",
    _logpdf=lambda z: sp.log_expit(z) + sp.log_expit(-z),
    _cdf=sp.expit, _logcdf=sp.log_expit,
    _sf=lambda z: sp.expit(-z), _logsf=lambda z: sp.log_expit(-z), _ppf=sp.logit)


class _Discrete(_SciPyRest):
    """A distribution of integer counts k; subclasses give ``logpmf`` and ``cdf`` and ``sf``."""
    def pmf(self, k, *args, **kwargs):
        return np.exp(self.logpmf(k, *args, **kwargs))

    def logcdf(self, k, *args, **kwargs):
        return np.log(self.cdf(k, *args, **kwargs))

    def logsf(self, k, *args, **kwargs):
        return np.log(self.sf(k, *args, **kwargs))


class poisson_gen(_Discrete):
    """Poisson(mu): ``logpmf(k, mu, loc=0)``; cdf and sf through the incomplete gamma function
    (their derivative in mu is exact)."""
    def logpmf(self, k, mu, loc=0):
        k = np.floor(k - loc)
        return np.where(k >= 0, sp.xlogy(k, mu) - mu - sp.gammaln(np.maximum(k, 0) + 1.0),
                        -np.inf)

    def cdf(self, k, mu, loc=0):
        k = np.floor(k - loc)
        return np.where(k >= 0, sp.gammaincc(np.maximum(k, 0) + 1.0, mu), 0.0)

    def sf(self, k, mu, loc=0):
        k = np.floor(k - loc)
        return np.where(k >= 0, sp.gammainc(np.maximum(k, 0) + 1.0, mu), 1.0)


class binom_gen(_Discrete):
    """Binomial(n, p): ``logpmf(k, n, p, loc=0)``; cdf and sf through the incomplete beta
    function (their derivative in p is exact; n is a count)."""
    def logpmf(self, k, n, p, loc=0):
        k = np.floor(k - loc)
        inside = (k >= 0) & (k <= n)
        k = np.clip(k, 0, n)
        return np.where(inside, sp.gammaln(n + 1.0) - sp.gammaln(k + 1.0)
                        - sp.gammaln(n - k + 1.0) + sp.xlogy(k, p) + sp.xlog1py(n - k, -p),
                        -np.inf)

    def cdf(self, k, n, p, loc=0):
        k = np.floor(k - loc)
        kk = np.clip(k, 0, np.maximum(n - 1, 0))
        inner = sp.betainc(np.maximum(n - kk, 1.0), kk + 1.0, 1.0 - p)
        return np.where(k < 0, 0.0, np.where(k >= n, 1.0, inner))

    def sf(self, k, n, p, loc=0):
        k = np.floor(k - loc)
        kk = np.clip(k, 0, np.maximum(n - 1, 0))
        inner = sp.betainc(kk + 1.0, np.maximum(n - kk, 1.0), p)
        return np.where(k < 0, 1.0, np.where(k >= n, 0.0, inner))


poisson, binom = poisson_gen(), binom_gen()


class multivariate_normal_gen(_SciPyRest):
    """``logpdf(x, mean=None, cov=1, allow_singular=False)``: x of shape (..., d) (or (d,) /
    scalar for d = 1), cov a (d, d) symmetric positive definite matrix (a scalar or a (d,)
    diagonal is expanded), through its Cholesky factor; differentiable in x, mean and cov.
    ``allow_singular=True``: positive semidefinite cov through its eigendecomposition, as
    SciPy (eigenvalues below 1e6 eps max|w| left out: pseudo-determinant and pseudo-inverse).
    ``entropy(mean=None, cov=1)``: 0.5 (d (1 + log 2 pi) + log det cov)."""
    @staticmethod
    def _cov(cov, d):
        return cov * np.eye(d) if np.ndim(cov) == 0 else (np.diag(cov) if np.ndim(cov) == 1
                                                          else cov)

    def logpdf(self, x, mean=None, cov=1, allow_singular=False):
        x = x if np.ndim(x) else np.reshape(x, (1,))
        d = np.shape(x)[-1]
        mean = np.zeros(d) if mean is None else mean
        cov = self._cov(cov, d)
        dev = np.reshape(x - mean, (-1, d))
        if allow_singular:
            w, v = np.linalg.eigh(cov)
            keep = w > 1e6 * np.finfo(np.float64).eps * np.max(np.abs(w))
            safe_w = np.where(keep, w, 1.0)
            logdet = np.sum(np.where(keep, np.log(safe_w), 0.0))
            maha = np.sum(np.where(keep, (dev @ v) ** 2 / safe_w, 0.0), axis=-1)
            rank = np.sum(keep)
        else:
            chol = np.linalg.cholesky(cov)
            white = _linalg.solve_triangular(chol, dev.T, lower=True)
            maha = np.sum(white ** 2, axis=0)
            logdet = 2.0 * np.sum(np.log(np.diagonal(chol)))
            rank = d
        out = -0.5 * (rank * _LOG_2PI + logdet + maha)
        return np.reshape(out, np.shape(x)[:-1])

    def pdf(self, x, mean=None, cov=1, allow_singular=False):
        return np.exp(self.logpdf(x, mean, cov, allow_singular))

    def entropy(self, mean=None, cov=1):
        d = 1 if np.ndim(cov) == 0 else np.shape(cov)[0]
        chol = np.linalg.cholesky(self._cov(cov, d))
        return 0.5 * d * (1.0 + _LOG_2PI) + np.sum(np.log(np.diagonal(chol)))


class dirichlet_gen(_SciPyRest):
    """``logpdf(x, alpha)``: x of shape (d,) or (d, N) (quantiles along the first axis, as in
    SciPy), alpha of shape (d,); differentiable in both."""
    def logpdf(self, x, alpha):
        a = np.reshape(alpha, (-1,) + (1,) * (np.ndim(x) - 1))
        norm_const = sp.gammaln(np.sum(alpha)) - np.sum(sp.gammaln(alpha))
        return np.sum(sp.xlogy(a - 1.0, x), axis=0) + norm_const

    def pdf(self, x, alpha):
        return np.exp(self.logpdf(x, alpha))


multivariate_normal, dirichlet = multivariate_normal_gen(), dirichlet_gen()
