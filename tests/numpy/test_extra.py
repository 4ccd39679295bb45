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
    case("tuple_index", lambda x: x[(0, 1), (3, 2)], X),
    case("mean_of_list", lambda v: cnp.mean([v[0], v[3], 2.0]), V),
    case("std_of_tuple", lambda v: cnp.std((v[0], v[3], v[1])), V),
    case("var_of_list", lambda v: cnp.var([v[0], v[3]]), V),
    case("append_lists", lambda v: cnp.append([v[0], 1.0], [v[3]]), V),
    case("norm_of_list", lambda v: cnp.linalg.norm([v[0], v[3]]), V),
    case("vectorize_broadcast", lambda x, v: cnp.vectorize(lambda a, b: a * b)(x, v[:4]), X, V),
]

# these read values (an arrangement, a branch, a test on the imaginary part): every mode in
# eager code; under vmap and inside make_graph/jit they raise ConcretizationError, as sort does
VALUE_CASES = [
    case("partition", lambda v: np.partition(v, 2), V),
    case("partition_axis", lambda x: np.partition(x, (1, 2), axis=1), X),
    case("vectorize", lambda v: cnp.vectorize(lambda a: a ** 2 if a > 0 else np.sin(a))(v), V),
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
    with pytest.raises(ConcretizationError):
        cr.vmap(c.f)(np.stack([x, x]))


def test_values_match_numpy():
    with np.errstate(invalid="ignore"):
        cases = [
            (lambda x, v: cnp.r_[x[0], v, 0:2, 3.0], lambda x, v: np.r_[x[0], v, 0:2, 3.0]),
            (lambda x, v: cnp.c_[x.T, v[:4]], lambda x, v: np.c_[x.T, v[:4]]),
            (lambda x, v: np.nan_to_num(v * WITH_INF), lambda x, v: np.nan_to_num(v * WITH_INF)),
            (lambda x, v: np.partition(x, 1, axis=0), lambda x, v: np.partition(x, 1, axis=0)),
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
