"""The graph IR: what staging records and what jit, linearize and transpose work on.

A Graph is a straight-line program over arrays (autodidax's jaxpr, in small):

    { lambda a:f64[3] .
      let b:f64[3] = sin a
          c:f64[] = reduce_sum[axes=(0,)] b
      in ( c ) }

``Var`` is a typed variable; ``Lit`` wraps a constant that a graph closes over (a NumPy array, a
Python scalar, a symbolic Zero, or a tracer of an enclosing transformation, which is a constant
from this graph's point of view); ``Eqn`` applies one primitive. ``typecheck`` re-derives every
aval with the primitives' shape rules; ``eval_graph`` runs a graph through ``bind``, so running a
graph under another transformation transforms it.
"""
import contextlib
import contextvars
import itertools

from .avals import get_aval
from .errors import GraphTypeError
from .primitive import bind
from .zeros import Zero, by_constant_mark, instantiate


class Var:
    __slots__ = ("aval", "count")
    _counter = itertools.count()

    def __init__(self, aval):
        self.aval = aval
        self.count = next(Var._counter)

    def __repr__(self):
        return f"Var({self.aval})"


class Lit:
    __slots__ = ("val", "aval")

    def __init__(self, val, aval=None):
        self.val = val
        self.aval = get_aval(val) if aval is None else aval

    def __repr__(self):
        return f"Lit({self.aval})"


class Eqn:
    """One primitive application. ``phase`` labels the part of a derivative program it belongs
    to (None for the forward computation, "adjoint sweep" for a backward pass), so printers
    and generated code can show a person the two sweeps. ``by_constant`` is True for an
    equation of a linear graph that multiplies by a constant of the differentiated program
    (a coefficient that may hold exact zeros independent of the inputs, such as a 0/1 mask):
    see ``zeros.call_rule`` and the zero-safe products in interpreters/transpose.py."""
    __slots__ = ("prim", "inputs", "params", "outvars", "phase", "by_constant")

    def __init__(self, prim, inputs, params, outvars):
        self.prim = prim
        self.inputs = inputs
        self.params = params
        self.outvars = outvars
        self.phase = _phase.get()
        self.by_constant = by_constant_mark.get()


_phase = contextvars.ContextVar("chainrule_graph_phase", default=None)


@contextlib.contextmanager
def graph_phase(name):
    """Label the equations staged inside this block (e.g. "adjoint sweep"); inside another
    labelled block the label is appended to that block's ("Jacobian sweep ...; adjoint
    sweep")."""
    outer = _phase.get()
    token = _phase.set(name if outer is None or outer == name else f"{outer}; {name}")
    try:
        yield
    finally:
        _phase.reset(token)


class Graph:
    __slots__ = ("invars", "eqns", "outvars", "_dead_after", "cache")

    def __init__(self, invars, eqns, outvars):
        self.invars = list(invars)
        self.eqns = list(eqns)
        self.outvars = list(outvars)
        self._dead_after = None
        self.cache = {}     # forms derived from this graph (compiled code, JVP graph, ...)

    def dead_after(self):
        """For each equation, the variables not needed after it (computed once): evaluating a
        graph drops them then, so peak memory is what is live, not everything computed."""
        if self._dead_after is None:
            last = {}
            for i, eqn in enumerate(self.eqns):
                for x in eqn.inputs:
                    if type(x) is Var:
                        last[x] = i
            for v in self.invars:
                last.setdefault(v, -1)
            for v in self.outvars:
                last.pop(v, None)
            dead = [[] for _ in self.eqns]
            for v, i in last.items():
                if i >= 0:
                    dead[i].append(v)
            self._dead_after = dead
        return self._dead_after

    def typecheck(self):
        typecheck(self)
        return self

    def __str__(self):
        return pp_graph(self)

    __repr__ = __str__


def typecheck(graph):
    """Check that every variable is defined once before use and that every equation's output
    avals are what its primitive's shape rule says. Raises GraphTypeError."""
    defined = set()
    for v in graph.invars:
        if v in defined:
            raise GraphTypeError(f"input variable bound twice: {v}")
        defined.add(v)
    for eqn in graph.eqns:
        in_avals = []
        for x in eqn.inputs:
            if isinstance(x, Var):
                if x not in defined:
                    raise GraphTypeError(f"{eqn.prim.name}: variable used before definition")
            in_avals.append(x.aval)
        rule = eqn.prim.rule("abstract_eval")
        outs = rule(*in_avals, **eqn.params)
        outs = list(outs) if eqn.prim.multiple_results else [outs]
        if len(outs) != len(eqn.outvars):
            raise GraphTypeError(f"{eqn.prim.name}: {len(outs)} results, "
                                 f"{len(eqn.outvars)} variables")
        for a, v in zip(outs, eqn.outvars):
            if a.strip_weak() != v.aval.strip_weak():
                raise GraphTypeError(f"{eqn.prim.name}: shape rule says {a}, graph says {v.aval}")
            if v in defined:
                raise GraphTypeError(f"{eqn.prim.name}: variable bound twice")
            defined.add(v)
    for v in graph.outvars:
        if isinstance(v, Var) and v not in defined:
            raise GraphTypeError("output variable is never defined")


def eval_graph(graph, args, linear=False):
    """Evaluate ``graph`` on ``args`` through ``bind`` (so under any enclosing transformation).

    ``linear=True`` is for graphs that are linear in their inputs (linearize's output): symbolic
    Zero inputs propagate as Zero, skipping every equation whose variable inputs are all zero."""
    env = dict(zip(graph.invars, args))
    for eqn, dead in zip(graph.eqns, graph.dead_after()):
        vals = [env[x] if type(x) is Var else x.val for x in eqn.inputs]
        for v in dead:
            del env[v]
        if linear:
            var_vals = [v for x, v in zip(eqn.inputs, vals) if type(x) is Var]
            if all(type(v) is Zero for v in var_vals):
                for o in eqn.outvars:
                    env[o] = Zero(o.aval)
                continue
            vals = [instantiate(v) for v in vals]
        if eqn.by_constant:         # a re-staged equation keeps its mark
            token = by_constant_mark.set(True)
            try:
                out = bind(eqn.prim, *vals, **eqn.params)
            finally:
                by_constant_mark.reset(token)
        else:
            out = bind(eqn.prim, *vals, **eqn.params)
        if eqn.prim.multiple_results:
            env.update(zip(eqn.outvars, out))
        else:
            env[eqn.outvars[0]] = out
    return [env[v] if type(v) is Var else v.val for v in graph.outvars]


# -- printing -----------------------------------------------------------------------------------

def _names():
    for n in itertools.count():
        s = ""
        n += 1
        while n:
            n, r = divmod(n - 1, 26)
            s = chr(97 + r) + s
        yield s


def _pp_lit(lit):
    v = lit.val
    if type(v) is Zero:
        return f"0:{v.aval}"
    if lit.aval.shape == () and not hasattr(v, "_interp"):
        try:
            return repr(v.item() if hasattr(v, "item") else v)
        except Exception:
            pass
    return f"<{lit.aval}>"


def _pp_params(params):
    if not params:
        return ""
    inner = " ".join(f"{k}={v!r}" for k, v in params.items())
    return f"[{inner}]"


def pp_graph(graph):
    gen = _names()
    names = {}

    def name(v):
        if type(v) is Var:
            if v not in names:
                names[v] = next(gen)
            return names[v]
        return _pp_lit(v)

    def decl(v):
        return f"{name(v)}:{v.aval}"

    ins = " ".join(decl(v) for v in graph.invars)
    lines = []
    for eqn in graph.eqns:
        lhs = " ".join(decl(v) for v in eqn.outvars)
        rhs = " ".join(name(x) for x in eqn.inputs)
        lines.append(f"{lhs} = {eqn.prim.name}{_pp_params(eqn.params)} {rhs}")
    outs = " ".join(name(v) for v in graph.outvars)
    body = ("\n      ".join(lines)) if lines else ""
    return f"{{ lambda {ins} .\n  let {body}\n  in ( {outs} ) }}"


def split_list(seq, *sizes):
    """``seq`` cut into consecutive lists of ``sizes``, then the rest: the layout of a loop's
    inputs (consts, carries, xs) and of a transformed body's."""
    out, i = [], 0
    for n in sizes:
        out.append(list(seq[i:i + n]))
        i += n
    out.append(list(seq[i:]))
    return out


def with_inputs(eqn, inputs):
    """``eqn`` reading ``inputs`` instead (its outputs, parameters and phase kept)."""
    new = type(eqn)(eqn.prim, inputs, eqn.params, eqn.outvars)
    new.phase = eqn.phase
    return new


def substitute(graph, values):
    """``graph`` with the input variables in ``values`` replaced by those values (literals)."""
    lits = {v: Lit(val, v.aval) for v, val in values.items()}
    eqns = [with_inputs(e, [lits.get(x, x) if type(x) is Var else x for x in e.inputs])
            for e in graph.eqns]
    outs = [lits.get(v, v) if type(v) is Var else v for v in graph.outvars]
    return Graph([v for v in graph.invars if v not in lits], eqns, outs)


def with_unused_inputs(graph, avals, at):
    """``graph`` with unused input variables of ``avals`` inserted at position ``at``."""
    extra = [Var(a) for a in avals]
    return Graph(graph.invars[:at] + extra + graph.invars[at:], graph.eqns, graph.outvars)
