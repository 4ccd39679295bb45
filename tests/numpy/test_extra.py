"""NumPy functions added for parity (issue 16): GRAD_CASES (forward and reverse to order 2
here; Taylor, vmap and seed batches through the shared table sweeps) and values against NumPy."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ConcretizationError

from gradcases import case, ids, rand

X = rand(3, 4)
V = rand(5)
X3 = rand(2, 3, 4)
WITH_INF = np.array([1.5, np.nan, np.inf, -np.inf, -0.7])

GRAD_CASES = [
    case("r_", lambda x, v: cnp.r_[x[0], v, 0:2, 3.0], X, V),
    case("c_", lambda x, v: cnp.c_[x.T, v[:4], 2.0 * v[1:]], X, V),
    case("einsum_sublist", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), X, X.T),
    case("einsum_sublist_trace", lambda a: np.einsum(a, [0, 0]), X[:, :3]),
    # finite replacements: the default (the largest float) times v overflows at the central
    # differences' points where |v| > 1, so the check depended on the random draw
    case("nan_to_num", lambda v: np.nan_to_num(v + WITH_INF, posinf=9.0, neginf=-7.0) * v, V),
    case("rollaxis", lambda x: np.rollaxis(x, 2), X3),
    case("rollaxis_start", lambda x: np.rollaxis(x, 0, 3), X3),
    case("dsplit", lambda x: np.dsplit(x, 2)[1], X3),
    case("column_stack_1d", lambda v: np.column_stack([v]), V),
    case("column_stack_one_array", lambda v: np.column_stack(v), V),   # its rows: (1, 5)
    case("column_stack_2d_rows", lambda x: np.column_stack(x), X),
    case("tuple_index", lambda x: x[(0, 1), (3, 2)], X),
    case("mean_of_list", lambda v: cnp.mean([v[0], v[3], 2.0]), V),
    case("std_of_tuple", lambda v: cnp.std((v[0], v[3], v[1])), V),
    case("var_of_list", lambda v: cnp.var([v[0], v[3]]), V),
    case("append_lists", lambda v: cnp.append([v[0], 1.0], [v[3]]), V),
    case("norm_of_list", lambda v: cnp.linalg.norm([v[0], v[3]]), V),
    case("vectorize_broadcast", lambda x, v: cnp.vectorize(lambda a, b: a * b)(x, v[:4]), X, V),
    # these read values (an arrangement, a branch per element), at run time: every mode, jit
    # and vmap included
    case("partition", lambda v: np.partition(v, 2), V),
    case("partition_axis", lambda x: np.partition(x, (1, 2), axis=1), X),
    case("vectorize", lambda v: cnp.vectorize(lambda a: a ** 2 if a > 0 else np.sin(a))(v), V),
    case("vectorize_two_args",
         lambda x, v: cnp.vectorize(lambda a, b: a * b if a > b else np.exp(a - b))(x, v[:4]),
         X, V),
]

# the result's dtype depends on the values: every eager mode and jit (a guard); refused under
# vmap and make_graph
VALUE_CASES = [
    case("real_if_close", lambda v: np.real_if_close(v + 0j), V),
]


@pytest.mark.parametrize("c", GRAD_CASES + VALUE_CASES, ids=ids(GRAD_CASES + VALUE_CASES))
def test_grads(c):
    c.check()


@pytest.mark.parametrize("c", VALUE_CASES, ids=ids(VALUE_CASES))
def test_value_dependent_ones_in_taylor_mode_and_refused_under_vmap(c):
    (x,) = c.args
    d = np.random.default_rng(0).standard_normal(x.shape)
    want = cr.jvp(lambda t: cr.jvp(c.f, (x + t * d,), (d,))[1], (0.0,), (1.0,))[1]
    np.testing.assert_allclose(cr.taylor(c.f, x, d, 2)[2] * 2, want, rtol=1e-10, atol=1e-12)
    with pytest.raises(ConcretizationError, match=r"np\.real\(x\)"):
        cr.vmap(c.f)(np.stack([x, x]))
    with pytest.raises(ConcretizationError, match="real_if_close"):
        cr.make_graph(c.f)(x)


def _central(f, x, eps=1e-6):
    """The Jacobian of ``f`` at ``x`` by central differences, (out..., in...)."""
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        e = e.reshape(x.shape)
        cols.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.moveaxis(np.array(cols), 0, -1).reshape(np.shape(f(x)) + x.shape)


BRANCHY = cnp.vectorize(lambda a: a ** 3 if a > 0.5 else (np.cos(a) if a > -1 else 2 * a),
                        otypes=[float])
RUN_TIME = [("partition", lambda x: np.partition(x, 1, axis=-1) * np.arange(1.0, 5.0)),
            ("partition_kths", lambda x: np.partition(x, (0, 3)) ** 2),
            ("vectorize", lambda x: BRANCHY(x) * x),
            ("vectorize_pair", lambda x: np.stack(cnp.vectorize(
                lambda a: (np.sin(a), a ** 2) if a > 0 else (a, np.exp(a)), otypes="dd")(x))),
            ("vectorize_first_element", lambda x: np.stack(cnp.vectorize(   # as NumPy does
                lambda a: (np.sin(a), a ** 2) if a > 0 else (a, np.exp(a)))(x)))]


@pytest.mark.parametrize("name, f", RUN_TIME, ids=[n for n, _ in RUN_TIME])
def test_run_time_decisions_under_jit_and_vmap_equal_eager_and_central_differences(name, f):
    f_np = {"vectorize": lambda x: np.vectorize(BRANCHY.pyfunc)(x) * x}.get(name, f)
    with np.errstate(all="ignore"):
        for x in (X, -X, 0.3 * X + 0.4):
            want = f_np(x)
            np.testing.assert_allclose(f(x), want, rtol=1e-14)
            np.testing.assert_allclose(cr.jit(f)(x), want, rtol=1e-14)
            jac = cr.jacobian(f)(x)
            np.testing.assert_allclose(jac, _central(f_np, x), rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(cr.jit(cr.jacobian(f))(x), jac, rtol=1e-12, atol=1e-14)
            if name == "vectorize_first_element":   # vmap knows no first element: otypes
                with pytest.raises(cr.InvalidArgumentError, match="otypes"):
                    cr.vmap(f)(x)
                continue
            np.testing.assert_allclose(cr.vmap(f)(x), [f_np(r) for r in x], rtol=1e-14)
            np.testing.assert_allclose(cr.vmap(cr.jacobian(f))(x),
                                       [cr.jacobian(f)(r) for r in x], rtol=1e-12, atol=1e-14)
    # one compiled program serves inputs that take other branches or arrangements (without
    # otypes, the first element's branch is a guard: a variant per branch it takes)
    g = cr.jit(cr.grad(lambda x: np.sum(f(x))))
    for x in (X, -X, 0.3 * X + 0.4, X):
        np.testing.assert_allclose(g(x), cr.grad(lambda x: np.sum(f(x)))(x), rtol=1e-12)
    assert g.cache_info()["traces"] == (2 if name == "vectorize_first_element" else 1)


def test_vectorize_taylor_mode_to_third_order_and_sparsity():
    x0, d = V, np.linspace(-1, 1, 5)
    curve = lambda t: np.sum(BRANCHY(x0 + t * d) * (x0 + t * d))  # noqa: E731
    fs = [curve]
    for _ in range(3):
        fs.append((lambda g: lambda s: cr.jvp(g, (s,), (1.0,))[1])(fs[-1]))
    np.testing.assert_allclose(cr.derivatives(curve, 0.1, 3)[1:], [f(0.1) for f in fs[1:]],
                               rtol=1e-10)
    two = cnp.vectorize(lambda a, b: a * b if a > 0 else a + b)
    pattern = cr.jacobian_sparsity(lambda x: two(x[:3], x[3:6]), np.arange(1.0, 7.0)).toarray()
    np.testing.assert_array_equal(pattern, np.hstack([np.eye(3), np.eye(3)]).astype(bool))
    h = cr.hessian_sparsity(lambda x: np.sum(two(x[:3], x[3:6])), np.arange(1.0, 7.0)).toarray()
    assert h[0, 3] and h[1, 4] and not h[0, 4] and not h[0, 1]


def test_vectorize_otypes_tuples_closures_and_complex():
    w = np.array([0.5, -1.0, 2.0])
    # a traced value it closes over: called element by element as the program is traced
    got = cr.grad(lambda s: np.sum(cnp.vectorize(lambda a: a * s if a > 0 else a)(w)))(1.5)
    assert got == 2.5
    # complex arguments: the same element-by-element path
    z = cr.jvp(lambda x: cnp.vectorize(lambda a: a * a)(x + 1j * x), (w,), (np.ones(3),))[1]
    np.testing.assert_allclose(z, 2 * w * (1 + 1j) ** 2)
    # otypes for a function that branches and returns two results
    pair = cnp.vectorize(lambda a: (a, a * a) if a > 0 else (-a, a), otypes=[float, float])
    u, v = cr.jit(lambda x: pair(x))(w)
    np.testing.assert_allclose(u, np.abs(w))
    np.testing.assert_allclose(v, np.where(w > 0, w * w, w))
    # the first element decides the results (as NumPy): a later one that disagrees raises
    with pytest.raises(cr.InvalidArgumentError, match="otypes"):
        cr.jit(cnp.vectorize(lambda a: (a, a) if a > 0 else a))(w)
    # integer results of float arguments are float64 (a Python 0 truncates nothing)
    relu = cnp.vectorize(lambda a: 0 if a < 0 else a)
    np.testing.assert_allclose(cr.jvp(relu, (-w,), (np.ones(3),)), [np.maximum(-w, 0), -w > 0])
    with pytest.raises(cr.InvalidArgumentError, match="otypes"):   # vmap: no first element
        cr.vmap(cnp.vectorize(lambda a: (a, a) if a > 0 else (a, -a)))(np.stack([w, w]))


def test_real_if_close_under_jit_is_a_guard():
    f = cr.jit(lambda v: np.real_if_close(v + 1j * np.sum(v > 2.5)) * 2)
    for x in (V, V + 1, V + 5, V):
        np.testing.assert_allclose(f(x), np.real_if_close(x + 1j * np.sum(x > 2.5)) * 2)
        assert f(x).dtype == np.real_if_close(x + 1j * np.sum(x > 2.5)).dtype
    assert f.cache_info()["traces"] == 2       # real, then complex: one trace each


def test_values_match_numpy():
    with np.errstate(invalid="ignore"):
        cases = [
            (lambda x, v: cnp.r_[x[0], v, 0:2, 3.0], lambda x, v: np.r_[x[0], v, 0:2, 3.0]),
            (lambda x, v: cnp.c_[x.T, v[:4]], lambda x, v: np.c_[x.T, v[:4]]),
            (lambda x, v: np.nan_to_num(v * WITH_INF), lambda x, v: np.nan_to_num(v * WITH_INF)),
            (lambda x, v: np.partition(x, 1, axis=0), lambda x, v: np.partition(x, 1, axis=0)),
            (lambda x, v: np.column_stack(v), lambda x, v: np.column_stack(v)),
            (lambda x, v: np.column_stack(x), lambda x, v: np.column_stack(x)),
            (lambda x, v: cnp.linalg.eigvals(x[:, :3]), lambda x, v: np.linalg.eigvals(x[:, :3])),
            (lambda x, v: cnp.vectorize(lambda a, b: a - b)(x, v[:4]),
             lambda x, v: np.vectorize(lambda a, b: a - b)(x, v[:4])),
        ]
        for ours, theirs in cases:
            # through a transformation (traced) and on plain arrays
            got = cr.jvp(ours, (X, V), (np.zeros_like(X), np.zeros_like(V)))[0]
            np.testing.assert_allclose(got, theirs(X, V))
            np.testing.assert_allclose(ours(X, V), theirs(X, V))
    np.testing.assert_array_equal(cr.jvp(lambda z: np.iscomplex(z), (X + 0j,), (X + 0j,))[0],
                                  np.zeros(X.shape, bool))
    np.testing.assert_allclose(np.einsum(X, [0, 1], X, [2, 1], [0, 2]), X @ X.T, rtol=1e-14)


def test_protocol_gaps_name_the_replacement():
    for f in (lambda v: np.r_[v, 1.0], lambda v: np.vectorize(lambda a: a * 2)(v)):
        with pytest.raises(ConcretizationError, match=r"chainrule\.numpy\.r_"):
            cr.grad(lambda v: np.sum(f(v)))(V)
