"""Rule coverage: every primitive carries all its rules (impl, abstract_eval, jvp, a transpose if
it is linear, deriv_class); every primitive of the families of this suite appears in some
derivative table (GRAD_CASES, checked by check_grads in forward and reverse mode to second
order); staging typechecks (shape rules agree with the implementations)."""
import importlib
import pkgutil

import numpy as np
import pytest
import scipy.special as ss

import chainrule as cr
import chainrule.ops
import chainrule.scipy.special as css
from chainrule.core import Primitive, add_any_p
from chainrule.core.graph import Eqn, Graph
from chainrule.testing import missing_rules

from gradcases import load_tables, primitives_of, rand

# the families whose primitives must all be in a table of this suite (linalg/fft/complex/
# decompositions are tested by their own suites; a table of theirs named GRAD_CASES counts too)
FAMILIES = ("_define", "arithmetic", "elementwise", "reductions", "shape", "special", "control")


def _all_primitives():
    prims = {add_any_p.name: (add_any_p, "core")}
    for info in pkgutil.iter_modules(chainrule.ops.__path__):
        mod = importlib.import_module(f"chainrule.ops.{info.name}")
        for value in vars(mod).values():
            if isinstance(value, Primitive):
                prims.setdefault(value.name, (value, info.name))
    return prims


PRIMS = _all_primitives()


@pytest.mark.parametrize("name", sorted(PRIMS))
def test_primitive_has_all_rules(name):
    prim, _ = PRIMS[name]
    assert not missing_rules(prim), f"{name} has no {missing_rules(prim)} rule"


def _tables():
    return load_tables(exclude=[__file__])


def test_every_primitive_is_in_a_derivative_table():
    seen = set()
    for c in _tables():
        seen |= primitives_of(c)
    mine = {n for n, (_, family) in PRIMS.items() if family in FAMILIES + ("core",)}
    missing = sorted(mine - seen)
    assert not missing, f"primitives in no GRAD_CASES table: {missing}"


X = rand(3, 4)
STAGED = [
    lambda x: np.sin(x) * np.exp(-x) + np.sqrt(np.abs(x)),
    lambda x: np.sum(x ** 2, axis=0, keepdims=True) / np.max(x),
    lambda x: np.prod(x, axis=1) + np.cumprod(x, axis=0)[-1, :3],
    lambda x: np.concatenate([x, x[::-1]], axis=1).T @ x,
    lambda x: np.where(x > 0, np.log1p(x), x) + np.hypot(x, 1.0) + np.arctan2(x, 2.0),
    lambda x: np.pad(x, 1, mode="reflect")[1:3],
    lambda x: ss.gammaln(x ** 2 + 1) + ss.xlogy(x, x ** 2 + 1) + np.logaddexp(x, 0.0),
    lambda x: css.logsumexp(x, axis=1) + np.std(x, axis=1),
    lambda x: np.tile(x[0], 2) + np.repeat(x[:, 0], [2, 3, 3]),
    lambda x: np.diag(np.diagonal(x)) + np.triu(x[:, :3]),
    lambda x: np.fmax(x, x[::-1, ::-1]) - np.cumsum(x, axis=1),
    lambda x: cr.grad(lambda y: np.sum(np.sqrt(y ** 2 + 1) * np.prod(y, axis=0)))(x),
]


@pytest.mark.parametrize("k", range(len(STAGED)))
def test_staged_graph_typechecks(k):
    f = STAGED[k]
    graph = cr.make_graph(f)(X)
    assert isinstance(graph, Graph)
    for eqn in graph.eqns:
        assert isinstance(eqn, Eqn)
    out = f(X)
    assert graph.outvars[0].aval.shape == np.shape(out)
    assert graph.outvars[0].aval.dtype == np.asarray(out).dtype


def test_shape_rules_agree_with_implementations():
    # every table case, staged: the graph typechecks and its output avals are the real ones
    for c in _tables():
        try:
            graph = cr.make_graph(c.f)(*c.args)
        except cr.ConcretizationError:
            continue        # needs values (sort, boolean masks, interp): not stageable
        outs = cr.tree_flatten(c.f(*[np.array(a, copy=True) for a in c.args]))[0]
        for v, o in zip(graph.outvars, outs):
            assert v.aval.shape == np.shape(o), c.name


def test_jit_agrees_with_eager_on_the_tables():
    failures = []
    for c in _tables():
        fresh = lambda: [np.array(a, copy=True) for a in c.args]  # noqa: E731
        try:
            got = cr.tree_flatten(cr.jit(c.f)(*fresh()))[0]
        except cr.ConcretizationError:
            continue
        except Exception as e:       # noqa: BLE001  (collected and reported below)
            failures.append(f"{c.name}: {type(e).__name__}: {e}")
            continue
        for g, w in zip(got, cr.tree_flatten(c.f(*fresh()))[0]):
            if not np.allclose(g, w, rtol=1e-10, atol=1e-12):
                failures.append(f"{c.name}: values differ")
    assert not failures, "\n".join(failures)


# Taylor mode: a primitive without a Taylor rule of its own falls back on the derivation from
# its JVP rule (interpreters/taylor.py, taylor_from_jvp), polynomial in the order only when that
# JVP applies the primitive once; these are the primitives that still rely on it.
TAYLOR_FROM_JVP = {"det", "adjugate", "not_differentiated"}   # ops/determinants.py


def test_taylor_rules_and_the_primitives_relying_on_the_fallback():
    relying = {name for name, (prim, _) in PRIMS.items() if prim.taylor is None}
    assert relying == TAYLOR_FROM_JVP, f"relying on taylor_from_jvp: {sorted(relying)}"
