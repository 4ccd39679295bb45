"""Every floating ufunc, through NumPy's protocol, in forward and reverse mode to second order;
broadcasting, the ufunc methods (reduce, accumulate, outer, at), dtype= and out=."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import UnsupportedFunctionError

from gradcases import case, ids, pos, rand

SHAPES = [(), (3,), (2, 3)]

# ufunc -> (low, high) of the test domain
UNARY = {
    np.exp: (-2, 2), np.exp2: (-2, 2), np.expm1: (-2, 2), np.log: (0.3, 3), np.log2: (0.3, 3),
    np.log10: (0.3, 3), np.log1p: (-0.5, 2), np.sqrt: (0.3, 3), np.cbrt: (0.3, 3),
    np.square: (-2, 2), np.reciprocal: (0.5, 2), np.sin: (-3, 3), np.cos: (-3, 3),
    np.tan: (-1.2, 1.2), np.arcsin: (-0.8, 0.8), np.arccos: (-0.8, 0.8), np.arctan: (-3, 3),
    np.sinh: (-2, 2), np.cosh: (-2, 2), np.tanh: (-2, 2), np.arcsinh: (-3, 3),
    np.arccosh: (1.3, 3), np.arctanh: (-0.8, 0.8), np.absolute: (0.2, 2), np.fabs: (-2, -0.2),
    np.deg2rad: (-90, 90), np.rad2deg: (-2, 2), np.radians: (-90, 90), np.degrees: (-2, 2),
    np.negative: (-2, 2), np.positive: (-2, 2), np.conjugate: (-2, 2),
}
# piecewise constant: zero derivative wherever it exists
ZERO = [np.sign, np.floor, np.ceil, np.trunc, np.rint, np.spacing, np.round, np.fix]

BINARY = {
    np.add: ((-2, 2), (-2, 2)), np.subtract: ((-2, 2), (-2, 2)),
    np.multiply: ((-2, 2), (-2, 2)), np.true_divide: ((-2, 2), (0.5, 2)),
    np.power: ((0.5, 2), (-2, 2)), np.float_power: ((0.5, 2), (-2, 2)),
    np.maximum: ((-2, 2), (-2, 2)), np.minimum: ((-2, 2), (-2, 2)),
    np.fmax: ((-2, 2), (-2, 2)), np.fmin: ((-2, 2), (-2, 2)),
    np.arctan2: ((-2, 2), (0.3, 2)), np.hypot: ((0.3, 2), (-2, 2)),
    np.logaddexp: ((-2, 2), (-2, 2)), np.logaddexp2: ((-2, 2), (-2, 2)),
    np.copysign: ((0.3, 2), (-2, 2)), np.fmod: ((0.1, 0.9), (1.1, 2)),
    np.remainder: ((0.1, 0.9), (1.1, 2)),
}
BROADCAST = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)), ((2, 3), ())]


def _unary_cases():
    for uf, (lo, hi) in UNARY.items():
        for shape in SHAPES:
            yield case(f"{uf.__name__}{shape}", uf, rand(*shape, lo=lo, hi=hi))


def _binary_cases():
    for uf, ((lo0, hi0), (lo1, hi1)) in BINARY.items():
        for s0, s1 in BROADCAST:
            yield case(f"{uf.__name__}{s0}{s1}", uf, rand(*s0, lo=lo0, hi=hi0),
                       rand(*s1, lo=lo1, hi=hi1))
        yield case(f"{uf.__name__}_const_left", lambda y, uf=uf: uf(lo0 / 2 + hi0 / 2, y),
                   rand(3, lo=lo1, hi=hi1))
        yield case(f"{uf.__name__}_const_right", lambda x, uf=uf: uf(x, lo1 / 2 + hi1 / 2),
                   rand(3, lo=lo0, hi=hi0))


x23 = rand(2, 3)
GRAD_CASES = list(_unary_cases()) + list(_binary_cases()) + [
    case("power_int_exponent", lambda x: x ** 3 + x ** 2 - np.power(x, 1), rand(4)),
    case("power_negative_base_int", lambda x: x ** 2, rand(3, lo=-2, hi=-0.5)),
    case("heaviside", lambda x: np.heaviside(x, 0.5) * x, rand(3)),
    case("piecewise_constant", lambda x: x * (np.floor(x) + np.ceil(x) + np.rint(x)
                                              + np.round(x, 1) + 1e6 * np.spacing(x)),
         np.array([0.33, -1.27, 2.61])),
    case("comparisons", lambda x: np.where(np.logical_xor((x >= 0.1) & ~(x < -1.5), np.isinf(x))
                                           | (x == 0.25) & (x != 1.0), x, x ** 2), rand(6)),
    case("all_any", lambda x: np.where(np.all(x > -5, axis=0) | np.any(x > 10), x, 0.0), x23),
    case("argmax_argmin", lambda x: x * x[np.argmax(x)] + x[np.argmin(x, axis=0)], rand(4)),
    case("ldexp", lambda x: np.ldexp(x, np.array([1, -2, 3])), rand(3)),
    case("nextafter", lambda x: np.nextafter(x, 10.0) * x, rand(3)),
    case("modf", lambda x: np.modf(x)[0] * np.modf(x)[1] + np.modf(x)[0] ** 2,
         rand(4, lo=0.1, hi=3.9)),
    case("divmod", lambda x: np.divmod(x, 0.7)[1] ** 2, rand(3, lo=0.1, hi=0.6)),
    case("frexp", lambda x: np.frexp(x)[0] ** 2, pos(3)),
    case("abs_of_product", lambda x: np.abs(x * x[::-1]), rand(5)),
    case("clip", lambda x: np.clip(x, -1.0, 1.0) * x, rand(6, lo=-3, hi=3)),
    case("clip_traced_bounds", lambda x: np.clip(x[:3], x[3], x[4]),
         np.array([-2.0, 0.1, 2.0, -1.0, 1.0])),
    case("dtype_kwarg", lambda x: np.multiply(x, x, dtype=np.float64), rand(3)),
    case("vecdot", lambda x: np.vecdot(x, x[::-1]), x23),
    case("matvec", lambda x: np.matvec(x[:, :2], x[0, :2]), x23),
    case("vecmat", lambda x: np.vecmat(x[0, :2], x[:, :2]), x23),
    case("matmul_operator", lambda x: x @ x.T, x23),
    # methods
    case("add_reduce", lambda x: np.add.reduce(x, axis=1), x23),
    case("add_reduce_none", lambda x: np.add.reduce(x, axis=None), x23),
    case("multiply_reduce", lambda x: np.multiply.reduce(x, axis=0, keepdims=True), x23),
    case("maximum_reduce", lambda x: np.maximum.reduce(x, axis=-1), x23),
    case("minimum_reduce_initial", lambda x: np.minimum.reduce(x, axis=0, initial=0.5), x23),
    case("fmax_reduce", lambda x: np.fmax.reduce(x, axis=1), x23),
    case("logaddexp_reduce", lambda x: np.logaddexp.reduce(x, axis=1), x23),
    case("logaddexp2_reduce", lambda x: np.logaddexp2.reduce(x, axis=0), x23),
    case("hypot_reduce", lambda x: np.hypot.reduce(x, axis=1), x23),
    case("subtract_reduce", lambda x: np.subtract.reduce(x, axis=1), x23),
    case("power_reduce", lambda x: np.power.reduce(x, axis=0), pos(3, 2)),
    case("add_accumulate", lambda x: np.add.accumulate(x, axis=1), x23),
    case("multiply_accumulate", lambda x: np.multiply.accumulate(x, axis=0), x23),
    case("maximum_accumulate", lambda x: np.maximum.accumulate(x, axis=1), rand(2, 5)),
    case("logaddexp_accumulate", lambda x: np.logaddexp.accumulate(x), rand(5)),
    case("divide_accumulate", lambda x: np.divide.accumulate(x, axis=1), pos(2, 3)),
    case("multiply_outer", lambda x: np.multiply.outer(x[0], x[1]), x23),
    case("subtract_outer", lambda x: np.subtract.outer(x, x[0]), x23),
    case("arctan2_outer", lambda x: np.arctan2.outer(x[0], x[1] ** 2 + 0.5), x23),
    case("add_at", lambda x: _at(np.add, x, [0, 2, 0], x[:3] ** 2), rand(4)),
    case("subtract_at", lambda x: _at(np.subtract, x, [1, 1], x[:2]), rand(4)),
    case("multiply_at", lambda x: _at(np.multiply, x, [0, 3], x[1:3]), rand(4)),
    case("add_at_2d", lambda x: _at(np.add, x, (np.array([0, 1, 1]), np.array([2, 0, 2])),
                                    x[0]), x23),
    case("negative_at", lambda x: _at(np.negative, x, [1, 2]), rand(4)),
    case("out_traced", lambda x: _out(x), rand(3)),
]


def _at(uf, x, idx, *v):
    buf = np.copy(x)
    uf.at(buf, idx, *v)
    return buf * x


def _out(x):
    y = np.zeros_like(x)
    np.multiply(x, x, out=y)
    np.sin(y, out=y)
    return y


@pytest.mark.parametrize("c", GRAD_CASES, ids=ids(GRAD_CASES))
def test_grads(c):
    c.check()


@pytest.mark.parametrize("uf", ZERO, ids=lambda f: f.__name__)
def test_piecewise_constant_has_zero_derivative(uf):
    x = np.array([0.3, 1.7, -2.4])
    assert np.all(cr.jacobian(lambda x: uf(x) * 1.0)(x) == 0)
    assert np.all(cr.jacfwd(lambda x: uf(x) * 1.0)(x) == 0)
    np.testing.assert_allclose(cr.jvp(lambda x: uf(x), (x,), (x,))[0], uf(x))


def test_comparisons_and_logic_are_plain_booleans():
    def f(x):
        m = (x > 0) & np.isfinite(x) | np.isnan(x) ^ np.signbit(x)
        assert m.dtype == bool and not isinstance(m, cr.core.Tracer)
        return np.where(m, x, 0.0).sum()
    np.testing.assert_allclose(cr.grad(f)(np.array([1.0, -1.0, 2.0])), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(cr.grad(lambda x: np.where(x > 1.5, x, 0.0).sum())(
        np.array([1.0, -1.0, 2.0])), [0.0, 0.0, 1.0])


def test_ties_share_the_derivative():
    g = cr.grad(lambda x: np.maximum(x[0], x[1]))(np.array([1.0, 1.0]))
    np.testing.assert_allclose(g, [0.5, 0.5])
    g = cr.grad(lambda x: np.fmin(x[0], np.nan) + np.fmax(np.nan, x[1]))(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [1.0, 1.0])


def test_unsupported_ufunc_and_method_are_named():
    with pytest.raises(UnsupportedFunctionError, match="bitwise_and"):
        cr.grad(lambda x: np.bitwise_and(x, x).sum())(np.ones(2))
    with pytest.raises(UnsupportedFunctionError, match=r"numpy\.add\.reduceat"):
        cr.grad(lambda x: np.add.reduceat(x, [0, 1]).sum())(np.ones(2))
    with pytest.raises(UnsupportedFunctionError, match="where="):
        cr.grad(lambda x: np.sin(x, where=x > 0).sum())(np.ones(2))


def test_out_into_plain_array_refused():
    def f(x):
        buf = np.zeros(2)
        np.sin(x, out=buf)
        return buf.sum()
    with pytest.raises(cr.ConcretizationError, match="zeros_like"):
        cr.grad(f)(np.ones(2))


def test_namespace_matches_numpy():
    x = rand(2, 3)
    for name in ("exp", "arctan2", "logaddexp", "hypot", "fmax", "copysign", "float_power"):
        f = getattr(np, name)
        args = (x,) if f.nin == 1 else (x, x[::-1])
        np.testing.assert_allclose(getattr(cnp, name)(*args), f(*args))
