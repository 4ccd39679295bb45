"""``scipy.special`` for traced arrays: ``chainrule.scipy.special.logsumexp(x)``.

The ufuncs of ``scipy.special`` (gammaln, digamma/psi, gamma, rgamma, gammasgn, erf, erfc,
erfinv, erfcinv, ndtr, ndtri, log_ndtr, expit, logit, log_expit, xlogy, xlog1py, beta, betaln,
betainc, gammainc, gammaincc, Bessel functions j0, j1, jn, jv, y0, y1, yn, yv, i0, i1, i0e,
i1e, iv, ive, kv, kve) dispatch through NumPy's ufunc protocol, so ``scipy.special.erf(x)``
works on traced arrays unchanged; they are re-exported here. Derivatives in a Bessel order or
in the parameters a, b of gammainc/gammaincc/betainc have no closed form: asking for them
raises UnsupportedFunctionError. ``logsumexp``, ``softmax``, ``log_softmax``, ``polygamma``
and ``multigammaln`` are plain Python functions in SciPy that convert their inputs with ``np.asarray``, which a traced array refuses
(``chainrule.ConcretizationError``): call the ones of this module instead. They take SciPy's
arguments and plain arrays too.
"""
import numpy as np
import scipy.special as _sps

from ..core import Tracer, dispatch, get_aval
from ..core.errors import InvalidArgumentError
from ..numpy._dispatch import scipy_exported, scipy_functions
from ..numpy._shape import normalize_axes
from ..ops import arithmetic as ar
from ..ops import elementwise as el
from ..ops import reductions as red
from ..ops import shape as sh
from ..ops import special as sp

globals().update(scipy_exported)

__all__ = sorted(scipy_exported) + list(scipy_functions)


def _keep(y, shape, axes, keepdims):
    if keepdims:
        return sh.reshape(y, shape=tuple(1 if i in axes else d for i, d in enumerate(shape)))
    return y


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a), axis))``, computed stably; entries of ``a`` that are -inf (or
    ``b == 0``) get weight 0 in the derivative. With ``return_sign=True`` returns
    ``(log|s|, sign(s))`` for ``s = sum(b * exp(a))``, which may be negative."""
    shape = get_aval(a).shape
    if b is not None:
        shape = np.broadcast_shapes(shape, get_aval(b).shape)
        a = sh.broadcast_to(a, shape)
    axes = normalize_axes(axis, len(shape))
    if b is None or not return_sign:
        x = a if b is None else ar.add(a, el.log(b))
        y = _keep(sp.logsumexp(x, axes=axes), shape, axes, keepdims)
        return (y, np.ones(get_aval(y).shape)) if return_sign else y
    m = sh.broadcast_to(sh.reshape(red.reduce_max(a, axes=axes), shape=tuple(
        1 if i in axes else d for i, d in enumerate(shape))), shape)
    m = ar.select(el.isfinite(m), m, 0.0)
    from ..ops import control
    m = control.stop_gradient(m)
    s = red.reduce_sum(ar.mul(b, el.exp(ar.sub(a, m))), axes=axes)
    m_red = red.reduce_max(m, axes=axes)
    y = ar.add(el.log(el.abs(s)), m_red)
    return _keep(y, shape, axes, keepdims), _keep(el.sign(s), shape, axes, keepdims)


def softmax(x, axis=None):
    """``exp(x - logsumexp(x, axis, keepdims=True))``."""
    return el.exp(log_softmax(x, axis))


def log_softmax(x, axis=None):
    """``x - logsumexp(x, axis, keepdims=True)``."""
    return ar.sub(x, logsumexp(x, axis=axis, keepdims=True))


def polygamma(n, x):
    """The n-th derivative of digamma; ``n`` is a plain integer (or array of them)."""
    if isinstance(n, Tracer):
        raise InvalidArgumentError("polygamma: the order n must be a plain integer")
    n = np.asarray(n)
    if n.ndim == 0:
        return sp.polygamma(x, n=int(n))
    if not isinstance(x, Tracer):
        return _sps.polygamma(n, x)
    shape = np.broadcast_shapes(n.shape, get_aval(x).shape)
    x = sh.broadcast_to(x, shape)
    n = np.broadcast_to(n, shape)
    out = sp.polygamma(x, n=int(n.flat[0]))
    for k in np.unique(n):
        out = ar.select(n == k, sp.polygamma(x, n=int(k)), out)
    return out


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d`` (a plain int), elementwise
    in ``a`` (every entry > (d - 1) / 2): ``d (d-1)/4 log(pi) + sum_j gammaln(a - j/2)``."""
    if isinstance(d, Tracer) or int(d) != d or d < 1:
        raise InvalidArgumentError("multigammaln: the dimension d must be a positive integer")
    out = d * (d - 1) / 4.0 * np.log(np.pi)
    for j in range(int(d)):
        out = ar.add(out, sp.gammaln(ar.sub(a, j / 2.0)))
    return out


# the Tensor API reaches these functions too (core.dispatch.foreign_aware)
dispatch.make_foreign_aware(globals(), __name__)
