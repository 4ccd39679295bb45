"""Shared machinery of the derivative tables.

A table is a module-level list ``GRAD_CASES`` of ``case(name, f, *args)``; each test module runs
its table through ``check_grads`` (order 2, forward and reverse mode). ``primitives_of(case)``
lists the primitives a case reaches, primal and derivative rules included, by running it under a
small recording interpreter; ``test_rule_coverage`` uses it to check that every primitive of the
families appears in some table.
"""
import dataclasses
import importlib.util
import pathlib

import numpy as np

from chainrule import jvp, vjp
from chainrule.core import Interpreter, Tracer, bind, get_aval, new_interpreter, tree_map
from chainrule.testing import check_grads


@dataclasses.dataclass
class Case:
    name: str
    f: object
    args: tuple
    order: int = 2
    modes: tuple = ("fwd", "rev")
    rtol: float = 1e-5
    atol: float = 1e-6
    eps: float = 1e-6

    def check(self):
        check_grads(self.f, self.args, order=self.order, modes=self.modes, rtol=self.rtol,
                    atol=self.atol, eps=self.eps)

    def __repr__(self):
        return self.name


def case(name, f, *args, **kw):
    return Case(name, f, tuple(args), **kw)


def ids(cases):
    return [c.name for c in cases]


_rng = np.random.default_rng(1234)


def rand(*shape, lo=-2.0, hi=2.0):
    """Uniform random floats in (lo, hi): distinct values, no ties."""
    return _rng.uniform(lo, hi, size=shape)


def pos(*shape, lo=0.3, hi=2.0):
    return rand(*shape, lo=lo, hi=hi)


# -- a recording interpreter ------------------------------------------------------------------
class _RecTracer(Tracer):
    __slots__ = ("val",)

    def __init__(self, interp, val):
        self._interp = interp
        self.val = val

    @property
    def aval(self):
        return get_aval(self.val)

    def concrete_value(self):
        return self.val

    def _become(self, new):
        self.val = new.val


class _Recorder(Interpreter):
    __slots__ = ("seen",)

    def __init__(self, level):
        super().__init__(level)
        self.seen = set()

    def lift(self, x):
        return _RecTracer(self, x)

    def process_primitive(self, prim, args, params):
        self.seen.add(prim.name)
        vals = [a.val if self.owns(a) else a for a in args]
        out = bind(prim, *vals, **params)
        if prim.multiple_results:
            return [_RecTracer(self, o) for o in out]
        return _RecTracer(self, out)


def _unwrap(x):
    return x.val if isinstance(x, _RecTracer) else x


def primitives_of(c):
    """Names of the primitives that evaluating ``c`` and its first and second derivatives
    (forward and reverse mode) apply."""
    rng = np.random.default_rng(0)
    with new_interpreter(_Recorder) as rec:
        def wrap(x):
            return tree_map(lambda a: _RecTracer(rec, a), x)
        args = wrap(c.args)
        out = c.f(*args)
        v = wrap(tuple(rng.standard_normal(np.shape(a)) for a in c.args))
        jvp(c.f, args, v)
        u = wrap(tree_map(lambda o: rng.standard_normal(np.shape(_unwrap(o))), out))
        vjp(c.f, *args)[1](u)
        if c.order > 1:
            jvp(lambda *xs: jvp(c.f, xs, v)[1], args, v)
            jvp(lambda *xs: vjp(c.f, *xs)[1](u), args, v)
    return rec.seen


TESTS = pathlib.Path(__file__).resolve().parents[1]


def load_tables(exclude=()):
    """Every ``GRAD_CASES`` table of the test suite (modules are loaded by path)."""
    cases = []
    for path in sorted(TESTS.rglob("test_*.py")):
        if path.resolve() in {pathlib.Path(e).resolve() for e in exclude} or \
                "\nGRAD_CASES = " not in path.read_text():
            continue
        spec = importlib.util.spec_from_file_location(
            f"_tables_{path.parent.name}_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        cases.extend(mod.GRAD_CASES)
    return cases
