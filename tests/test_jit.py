"""jit: staged, optimized, generated NumPy code; composition with derivatives; guards."""
import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(0)


def mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = np.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(np.sum(logp * y, axis=1))


def make_problem():
    params = [(RNG.standard_normal((5, 8)) * 0.3, np.zeros(8)),
              (RNG.standard_normal((8, 3)) * 0.3, np.zeros(3))]
    x = RNG.standard_normal((16, 5))
    y = np.eye(3)[RNG.integers(0, 3, 16)]
    return params, x, y


def test_jit_matches_eager():
    params, x, y = make_problem()
    assert np.isclose(cr.jit(mlp_loss)(params, x, y), mlp_loss(params, x, y))


@pytest.mark.parametrize("transform", [
    lambda f: cr.jit(cr.grad(f)),
    lambda f: cr.grad(cr.jit(f)),
    lambda f: cr.jit(cr.grad(cr.jit(f))),
])
def test_jit_composes_with_grad(transform):
    params, x, y = make_problem()
    want = cr.grad(mlp_loss)(params, x, y)
    got = transform(mlp_loss)(params, x, y)
    for (gw, gb), (ww, wb) in zip(got, want):
        assert np.allclose(gw, ww, rtol=1e-12, atol=1e-14) and np.allclose(gb, wb, atol=1e-14)


def test_jit_of_hessian_and_inside_nested_derivatives():
    f = lambda x: np.sum(np.sin(x) * x**2)  # noqa: E731
    x = RNG.standard_normal(4)
    assert np.allclose(cr.jit(cr.hessian(f))(x), cr.hessian(f)(x))
    # a jitted function closing over a tracer of an enclosing derivative: runs f there
    assert cr.grad(lambda a: cr.jit(lambda b: a * b)(2.0))(3.0) == 2.0
    g = cr.jit(lambda v: np.sum(v**3))
    assert np.allclose(cr.hessian(g)(x), np.diag(6 * x))


def test_second_call_runs_compiled_code_without_retracing():
    f = cr.jit(cr.grad(lambda x: np.sum(np.exp(x) * x)))
    x = RNG.standard_normal(3)
    f(x)
    f(x + 1.0)
    info = f.cache_info()
    assert info["traces"] == 1 and info["hits"] == 1
    f(np.ones(4))                                   # a new shape is a new signature
    assert f.cache_info()["traces"] == 2 and f.cache_info()["signatures"] == 2


def test_python_control_flow_never_replays_a_wrong_branch():
    def f(x):
        if x > 0:
            return x**2
        return -3.0 * x
    jf = cr.jit(cr.grad(f))
    assert jf(2.0) == 4.0
    assert jf(-2.0) == -3.0            # the guard fails, f is traced again for this branch
    assert jf(5.0) == 10.0 and jf(-1.0) == -3.0
    info = jf.cache_info()
    assert info["traces"] == 2 and info["variants"] == 2 and info["guard_failures"] >= 1


def test_guards_on_array_conditions_and_loops():
    def f(x):
        while np.sum(x**2) > 1.0:       # number of iterations depends on the value
            x = x / 2.0
        return np.sum(x)
    jf = cr.jit(f)
    for v in (np.array([3.0, 4.0]), np.array([0.1, 0.2]), np.array([30.0, 40.0])):
        assert np.isclose(jf(v), f(v))


def test_static_argnums():
    def power_sum(x, n):
        for _ in range(n):
            x = x * x
        return np.sum(x)
    jf = cr.jit(power_sum, static_argnums=1)
    x = np.array([1.1, 0.9])
    assert np.isclose(jf(x, 2), np.sum(x**4)) and np.isclose(jf(x, 3), np.sum(x**8))
    assert jf.cache_info()["signatures"] == 2
    with pytest.raises(cr.InvalidArgumentError):
        cr.jit(power_sum, static_argnums=5)(x, 2)


def test_cache_is_bounded():
    jf = cr.jit(lambda x: x * 2.0, max_signatures=3)
    for n in range(1, 7):
        jf(np.ones(n))
    assert jf.cache_info()["signatures"] == 3


def test_generated_code_is_readable_and_passes_constants_in():
    data = RNG.standard_normal(500)
    src = cr.jit(cr.grad(lambda w: np.sum((data * w - 1.0) ** 2))).source(0.5)
    assert "adjoint sweep" in src and "def _make(" in src
    assert "c0" in src and str(round(data[0], 6))[:6] not in src      # no data by repr
    assert "* 1.0" not in src and "+ 0" not in src                        # simplified


def test_in_place_accumulation_of_adjoints():
    src = cr.jit(cr.grad(lambda x: np.sum(np.sin(x) * np.exp(x)))).source(np.ones(3))
    assert "+=" in src


def test_common_subexpressions_are_shared():
    src = cr.jit(lambda x: np.sin(x) + np.sin(x)).source(np.ones(3))
    assert src.count("np.sin") == 1


def test_staged_graph_typechecks_and_prints():
    g = cr.make_graph(cr.grad(mlp_loss))(*make_problem())
    g.typecheck()
    assert "dot_general" in str(g)


def test_errors_inside_jit_stay_named():
    with pytest.raises(cr.ConcretizationError):
        cr.jit(lambda x: float(x) * 2.0)(1.0)


def test_show_code_prints(capsys):
    cr.show_code(cr.grad(lambda x: np.sum(np.tanh(x) * x)), np.ones(2))
    out = capsys.readouterr().out
    assert "np.tanh" in out and "adjoint sweep" in out


def test_scalar_programs_run_on_floats_and_keep_numpy_semantics():
    f = cr.jit(cr.grad(lambda x: np.sin(x) * np.exp(-x**2) + np.sqrt(x)))
    g = cr.grad(lambda x: np.sin(x) * np.exp(-x**2) + np.sqrt(x))
    for x in (0.3, 1.7, np.float64(2.5)):
        assert np.isclose(f(x), g(x), rtol=1e-14)
    fast = cr.jit(lambda x: np.log(x) + x ** 0.5)
    fast(2.0)
    variant = next(iter(fast.jitted._cache.values()))[0]
    assert "math.log" in variant.fn.fast_source          # the float version was generated
    with np.errstate(all="ignore"):
        # where math raises, the NumPy version answers as NumPy would
        for h, x in [(lambda x: np.log(x), -1.0), (lambda x: np.exp(x), 1000.0),
                     (lambda x: 1.0 / x, 0.0), (lambda x: x ** (1 / 3), -8.0),
                     (lambda x: x ** -1.0, 0.0)]:
            want, got = h(np.float64(x)), cr.jit(h)(x)
            assert (np.isnan(want) and np.isnan(got)) or want == got


def w7(x):
    return np.exp(np.sin(x)) / (1 + x**2)


@pytest.mark.parametrize("order", [1, 4, 8])
def test_scalar_taylor_derivatives_match_eager_and_keep_the_input_type(order):
    jd, d = cr.jit(cr.derivative(w7, order)), cr.derivative(w7, order)
    for x in (0.5, -1.3, 2.0):
        for arg in (np.float64(x), x):
            got, want = jd(arg), d(arg)
            # NumPy's exp and C's differ by an ulp at some points
            assert np.isclose(got, want, rtol=1e-13, atol=0)
            assert type(got) is type(want)
    assert jd.cache_info()["traces"] == 2          # np.float64 and float are two signatures
    assert jd.cache_info()["hits"] == 4


def test_scalar_powers_are_numpys():
    from chainrule.ops import arithmetic as ar
    points = [0.7, -2.0, 0.0, -0.0, np.inf, -np.inf, np.nan, 1e200, 1e-200, 3.3, -0.1]
    points += list(RNG.standard_normal(200) * 3)
    for e in (2, 2.0, 0.5, -1.0, -1):
        jf = cr.jit(lambda x: ar.pow(x * 1.0, e))
        with np.errstate(all="ignore"):
            for x in points:
                want, got = np.power(np.float64(x), e), jf(np.float64(x))
                assert type(got) is np.float64
                assert (np.isnan(want) and np.isnan(got)) or \
                    (want == got and np.signbit(want) == np.signbit(got)), (e, x)
    sq = cr.jit(lambda x: x**2)
    assert sq(np.float64(3.0)) == 9.0
    assert "math.pow" not in sq.jitted._fast[np.float64].fast_source      # x * x, as NumPy


def test_scalar_program_outputs():
    jf = cr.jit(lambda x, y: {"same": x, "sum": x + y, "pos": x > 0, "k": 2.5})
    x, y = np.float64(1.5), np.float64(-0.25)
    out = jf(x, y)
    out = jf(x, y)          # through the cache
    assert out["same"] is x                                      # an input, as it was passed
    assert type(out["sum"]) is np.float64 and out["sum"] == 1.25
    assert type(out["pos"]) is np.bool_ and out["pos"]
    assert out["k"] == 2.5
    out = jf(1.5, -0.25)                                         # Python floats in and out
    assert type(out["sum"]) is float and out["sum"] == 1.25
    a = np.array(1.5)
    assert jf(a, y)["same"] is a


def test_long_scalar_chains_compile():
    def f(x):
        for k in range(400):
            x = np.sin(x) * 0.5 + x * (1.0 + k * 1e-3)
        return x
    jf = cr.jit(f)
    for x in (0.1, 0.2):
        assert jf(np.float64(x)) == f(np.float64(x))
    assert jf.cache_info()["traces"] == 1


def test_fast_calls_tell_signatures_apart():
    jf = cr.jit(lambda x, s: np.sum(x * s))
    assert jf(np.ones(3), 2.0) == 6.0 and jf(np.ones(3), 2.0) == 6.0
    assert jf(np.ones(4), 2.0) == 8.0
    got = jf(np.ones(4, np.float32), np.float32(2.0))
    assert got == 8.0 and got.dtype == np.float32
    assert jf(np.ones(3), np.float64(3.0)) == 9.0
    assert jf(np.ones((3, 1)), 1.0) == 3.0
    info = jf.cache_info()
    assert info["traces"] == 5 and info["hits"] == 1
    f1 = cr.jit(lambda x: x * 2)
    assert f1(np.int64(3)) == 6 and f1(np.int64(3)).dtype == np.int64
    assert f1(np.float32(3)).dtype == np.float32 and f1(3) == 6
    assert f1(np.array([1.0, 2.0]))[1] == 4.0 and f1(np.array([1, 2]))[1] == 4


def test_guards_hold_on_the_fast_path():
    def f(x):
        return np.sin(x) if x > 0 else np.cos(x)
    jf = cr.jit(f)
    for x in (1.0, 2.0, -1.0, -2.0, 3.0, -3.0):
        assert jf(np.float64(x)) == f(np.float64(x))
    info = jf.cache_info()
    assert info["traces"] == 2 and info["variants"] == 2 and info["hits"] == 4


def test_argument_names_that_the_generated_code_uses():
    def f(np_, math, c0, float64, _fallback):
        return math * c0 + float64 * _fallback + np_
    jf = cr.jit(f)
    args = [np.float64(v) for v in (1.0, 2.0, 3.0, 4.0, 5.0)]
    assert jf(*args) == 1.0 + 2.0 * 3.0 + 4.0 * 5.0
    assert jf(*args[:4], 6.0) == 1.0 + 2.0 * 3.0 + 4.0 * 6.0


def test_jitted_is_a_function_with_its_cache():
    f = lambda x: x * 3.0  # noqa: E731
    jf = cr.jit(f)
    assert jf.__wrapped__ is f and callable(jf.source) and "jit" in jf.__name__

    class Scaled:
        k = 2.0
        call = cr.jit(lambda self, x: self.k * x, static_argnums=0)   # binds as functions do
    assert Scaled().call(3.0) == 6.0
    jf(1.0)
    jf.clear_cache()
    assert jf(2.0) == 6.0 and jf.cache_info()["traces"] == 2


def test_calls_without_arguments_or_with_keywords():
    c = cr.jit(lambda: np.float64(2.0) * 3.0)
    assert c() == 6.0 and c() == 6.0 and c.cache_info()["traces"] == 1
    f = cr.jit(lambda a, b=1.0: a * 10.0 + b)
    assert f(2.0) == 21.0 and f(a=2.0) == 21.0 and f(2.0, b=3.0) == 23.0 and f(2.0, 4.0) == 24.0
    assert f.cache_info()["traces"] == 4
