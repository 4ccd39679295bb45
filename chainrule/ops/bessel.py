"""Bessel functions and the incomplete gamma and beta functions of ``scipy.special``:
jv, yv, iv, kv, ive, kve (order v first, as in SciPy), j0, j1, y0, y1, i0, i1, i0e, i1e;
gammainc, gammaincc, betainc, beta, betaln, rgamma, gammasgn.

All come from the derivative tables of ``_define`` (``def_unary``/``def_nary``), so JVP, Taylor,
batching and sparsity rules are derived. Derivatives in the argument x are closed forms (the
recurrences ``C_v' = (C_{v-1} - C_{v+1}) / 2`` and kin); derivatives in the order v of a Bessel
function or in the parameters a, b of gammainc/gammaincc/betainc have no closed form and raise
UnsupportedFunctionError when asked for (a constant order or parameter is fine).
"""
from scipy import special as sp

from ..core.errors import UnsupportedFunctionError
from . import arithmetic as ar
from . import elementwise as el
from ._define import def_nary, def_unary, def_zero
from .special import _plain, digamma, gammaln

mul, div, add, sub, neg, exp = ar.mul, ar.div, ar.add, ar.sub, ar.neg, el.exp


def _no_closed_form(fname, what):
    def deriv(*args):
        raise UnsupportedFunctionError(
            f"scipy.special.{fname}: the derivative in {what} has no closed form and is not "
            f"implemented; pass {what} as a constant (derivatives in x are supported)")
    deriv.__name__ = f"{fname}_no_closed_form"
    return deriv


def _half(f, g):
    return mul(sub(f, g), 0.5)


# -- Bessel functions of real order v: f(v, x) ------------------------------------------------
jv_p, jv = def_nary("jv", _plain(sp.jv), (
    _no_closed_form("jv", "the order v"),
    lambda v, x, y: _half(jv(sub(v, 1.0), x), jv(add(v, 1.0), x))))
yv_p, yv = def_nary("yv", _plain(sp.yv), (
    _no_closed_form("yv", "the order v"),
    lambda v, x, y: _half(yv(sub(v, 1.0), x), yv(add(v, 1.0), x))))
iv_p, iv = def_nary("iv", _plain(sp.iv), (
    _no_closed_form("iv", "the order v"),
    lambda v, x, y: mul(add(iv(sub(v, 1.0), x), iv(add(v, 1.0), x)), 0.5)))
kv_p, kv = def_nary("kv", _plain(sp.kv), (
    _no_closed_form("kv", "the order v"),
    lambda v, x, y: mul(add(kv(sub(v, 1.0), x), kv(add(v, 1.0), x)), -0.5)))
# exponentially scaled: ive = iv exp(-|x|), kve = kv exp(x)
ive_p, ive = def_nary("ive", _plain(sp.ive), (
    _no_closed_form("ive", "the order v"),
    lambda v, x, y: sub(mul(add(ive(sub(v, 1.0), x), ive(add(v, 1.0), x)), 0.5),
                        mul(el.sign(x), y))))
kve_p, kve = def_nary("kve", _plain(sp.kve), (
    _no_closed_form("kve", "the order v"),
    lambda v, x, y: add(mul(add(kve(sub(v, 1.0), x), kve(add(v, 1.0), x)), -0.5), y)))

# -- integer orders 0 and 1 -----------------------------------------------------------------------
j1_p, j1 = def_unary("j1", _plain(sp.j1), deriv=lambda x, y: _half(j0(x), jv(2.0, x)))
j0_p, j0 = def_unary("j0", _plain(sp.j0), deriv=lambda x, y: neg(j1(x)))
y1_p, y1 = def_unary("y1", _plain(sp.y1), deriv=lambda x, y: _half(y0(x), yv(2.0, x)))
y0_p, y0 = def_unary("y0", _plain(sp.y0), deriv=lambda x, y: neg(y1(x)))
i1_p, i1 = def_unary("i1", _plain(sp.i1),
                     deriv=lambda x, y: mul(add(i0(x), iv(2.0, x)), 0.5))
i0_p, i0 = def_unary("i0", _plain(sp.i0), deriv=lambda x, y: i1(x))
i1e_p, i1e = def_unary("i1e", _plain(sp.i1e), deriv=lambda x, y: sub(
    mul(add(i0e(x), ive(2.0, x)), 0.5), mul(el.sign(x), y)))
i0e_p, i0e = def_unary("i0e", _plain(sp.i0e),
                       deriv=lambda x, y: sub(i1e(x), mul(el.sign(x), y)))


# -- incomplete gamma and beta functions (regularized) ----------------------------------------------
def _gamma_density(a, x):
    """``x^(a-1) exp(-x) / Gamma(a)``, the derivative of gammainc(a, x) in x."""
    return exp(sub(sub(ar.mul(sub(a, 1.0), el.log(x)), x), gammaln(a)))


gammainc_p, gammainc = def_nary("gammainc", _plain(sp.gammainc), (
    _no_closed_form("gammainc", "the parameter a"),
    lambda a, x, y: _gamma_density(a, x)), singular=True)
gammaincc_p, gammaincc = def_nary("gammaincc", _plain(sp.gammaincc), (
    _no_closed_form("gammaincc", "the parameter a"),
    lambda a, x, y: neg(_gamma_density(a, x))), singular=True)


def betaln_of(a, b):
    return sub(add(gammaln(a), gammaln(b)), gammaln(add(a, b)))


betainc_p, betainc = def_nary("betainc", _plain(sp.betainc), (
    _no_closed_form("betainc", "the parameter a"),
    _no_closed_form("betainc", "the parameter b"),
    lambda a, b, x, y: exp(sub(add(mul(sub(a, 1.0), el.log(x)), mul(sub(b, 1.0), el.log1p(neg(x)))),
                               betaln_of(a, b)))), singular=True)

betaln_p, betaln = def_nary("betaln", _plain(sp.betaln), (
    lambda a, b, y: sub(digamma(a), digamma(add(a, b))),
    lambda a, b, y: sub(digamma(b), digamma(add(a, b)))))
beta_p, beta = def_nary("beta", _plain(sp.beta), (
    lambda a, b, y: mul(y, sub(digamma(a), digamma(add(a, b)))),
    lambda a, b, y: mul(y, sub(digamma(b), digamma(add(a, b))))))
rgamma_p, rgamma = def_unary("rgamma", _plain(sp.rgamma),
                             deriv=lambda x, y: neg(mul(y, digamma(x))))
gammasgn_p, gammasgn = def_zero("gammasgn", _plain(sp.gammasgn))
