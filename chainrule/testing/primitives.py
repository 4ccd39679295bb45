"""Checks of a primitive's rules: the ones chainrule's test suite runs on its own primitives,
usable on a user's (``chainrule.primitive``).

    missing_rules(prim)              the rule slots a primitive lacks (transpose only if linear)
    check_primitive(prim, args)      shape rule vs implementation, staging and jit vs eager,
                                     derivatives (check_grads), batching vs a loop, Taylor mode
                                     vs nested JVPs
"""
import numpy as np

from ..api import derivatives, jvp, vmap
from ..core import tree_flatten
from ..core.avals import get_aval
from ..interpreters.staging import make_graph
from .check import ATOL, RTOL, _assert_close, check_grads

REQUIRED = ("impl", "abstract_eval", "jvp", "deriv_class")


def missing_rules(prim):
    """The names of the rule slots ``prim`` lacks among impl, abstract_eval, jvp, deriv_class
    and (for a primitive linear in some argument) transpose."""
    missing = [slot for slot in REQUIRED if getattr(prim, slot) is None]
    if prim.linear_in and prim.transpose is None:
        missing.append("transpose")
    return missing


def check_primitive(prim, args, params=None, order=2, modes=("fwd", "rev"), batch_size=3,
                    rtol=RTOL, atol=ATOL, rng=None):
    """Check every rule of ``prim`` at ``args`` (a tuple of float arrays) with ``params``
    (keyword parameters). Raises AssertionError naming the rule that disagrees:

    - the rules are there (``missing_rules``);
    - abstract_eval gives the shapes and dtypes the implementation returns;
    - the staged graph typechecks, and jit gives the eager values;
    - jvp (and reverse mode, derived from it, which exercises transpose rules) against central
      differences and each other up to ``order`` (``check_grads``);
    - batch: vmap over ``batch_size`` examples equals a loop of single calls;
    - Taylor mode: the second derivative along a direction equals nested JVPs.
    """
    from ..jit import jit
    params = params or {}
    rng = rng or np.random.default_rng(0)
    name = prim.name
    missing = missing_rules(prim)
    if missing:
        raise AssertionError(f"primitive '{name}' has no {', '.join(missing)} rule")

    def f(*xs):
        return prim.bind(*xs, **params)
    args = tuple(np.asarray(a, dtype=float) for a in args)
    out = f(*args)
    outs = list(out) if prim.multiple_results else [out]
    avals = prim.abstract_eval(*[get_aval(a) for a in args], **params)
    avals = list(avals) if prim.multiple_results else [avals]
    for i, (o, a) in enumerate(zip(outs, avals)):
        got = get_aval(o)
        if (got.shape, got.dtype) != (a.shape, a.dtype):
            raise AssertionError(f"'{name}': abstract_eval says {a} for output {i}, the "
                                 f"implementation returns {got}")
    make_graph(f)(*args).typecheck()
    _assert_close(jit(f)(*args), out, f"'{name}' under jit", rtol, atol)
    check_grads(f, args, order=order, modes=modes, rtol=rtol, atol=atol, rng=rng)
    stacked = [np.stack([a + 0.01 * k * rng.standard_normal(a.shape) for k in range(batch_size)])
               for a in args]
    looped = [f(*[s[k] for s in stacked]) for k in range(batch_size)]
    want = [np.stack([tree_flatten(r)[0][i] for r in looped])
            for i in range(len(tree_flatten(looped[0])[0]))]
    _assert_close(tree_flatten(vmap(f)(*stacked))[0], want, f"'{name}' under vmap", rtol, atol)
    if "fwd" in modes and len(args) == 1:
        v = rng.standard_normal(args[0].shape)
        second = jvp(lambda x: jvp(f, (x,), (v,))[1], args, (v,))[1]
        line = derivatives(lambda t: f(args[0] + t * v), 0.0, 2)[2]
        _assert_close(line, second, f"'{name}' in Taylor mode", rtol, atol)
