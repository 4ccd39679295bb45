"""User primitives (chainrule.primitive) with all their rules, checked by the same checks as
chainrule's own primitives (chainrule.testing.check_primitive, missing_rules)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_primitive, missing_rules


def _softplus_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return softplus(x), x_dot / (1 + np.exp(-x))


softplus = cr.primitive("softplus", lambda x: np.logaddexp(x, 0.0), jvp=_softplus_jvp,
                        batch=lambda vals, dims: (softplus(vals[0]), dims[0]))

# a linear primitive: the running sum, its transpose the reversed running sum
running_sum = cr.primitive("running_sum", lambda x: np.cumsum(x, axis=-1), linear_in=(0,))


@running_sum.def_jvp
def _running_sum_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return running_sum(x), running_sum(x_dot)


@running_sum.def_transpose
def _running_sum_transpose(ct, x):
    return (np.flip(running_sum(np.flip(ct, axis=-1)), axis=-1),)


X = np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.5]])


def test_user_primitives_pass_the_library_checks():
    assert missing_rules(softplus) == [] and missing_rules(running_sum) == []
    check_primitive(softplus, (X,))
    check_primitive(running_sum, (X,))


def test_user_primitive_values_against_closed_forms():
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(softplus(x)))(X), 1 / (1 + np.exp(-X)))
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(running_sum(x) ** 2))(X),
                               np.flip(np.cumsum(np.flip(2 * np.cumsum(X, -1), -1), -1), -1))
    assert cr.make_graph(softplus)(X).eqns[0].prim is softplus
    s = 1 / (1 + np.exp(-0.5))
    np.testing.assert_allclose(cr.derivatives(softplus, 0.5, 2)[2], s * (1 - s))


def test_the_checks_catch_wrong_rules():
    wrong_jvp = cr.primitive("wrong_jvp", np.sin,
                             jvp=lambda p, t: (np.sin(p[0]), 2 * np.cos(p[0]) * t[0]))
    with pytest.raises(AssertionError, match="jvp"):
        check_primitive(wrong_jvp, (X,))
    wrong_shape = cr.primitive("wrong_shape", np.sin, abstract_eval=lambda a: a.update(
        shape=a.shape[1:]), jvp=lambda p, t: (np.sin(p[0]), np.cos(p[0]) * t[0]))
    with pytest.raises(AssertionError, match="abstract_eval"):
        check_primitive(wrong_shape, (X,))
    wrong_batch = cr.primitive("wrong_batch", np.sin,
                               jvp=lambda p, t: (np.sin(p[0]), np.cos(p[0]) * t[0]),
                               batch=lambda vals, dims: (np.sin(vals[0][:1]) + 0 * vals[0],
                                                         dims[0]))
    with pytest.raises(AssertionError, match="vmap"):
        check_primitive(wrong_batch, (X,))
    no_transpose = cr.primitive("no_transpose", lambda x: 2 * x, linear_in=(0,),
                                jvp=lambda p, t: (2 * p[0], 2 * t[0]))
    assert missing_rules(no_transpose) == ["transpose"]
    with pytest.raises(AssertionError, match="transpose"):
        check_primitive(no_transpose, (X,))
