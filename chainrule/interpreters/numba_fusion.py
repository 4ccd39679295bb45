"""Loop fusion for the Numba backend: elementwise chains become one explicit loop nest.

``numba_codegen.generate`` hands every equation on arrays to a ``Fusion`` first. Elementwise
equations (operators, ufuncs, ``select``, the zero-safe products, casts, ``broadcast_to``) join
the open *group*: one loop nest over its domain shape, in which each value is a scalar local
computed once per point and written to an array only where something outside the group reads
it. A group's domain widens to a larger broadcast shape while it holds no reduction (values of
a smaller shape are then recomputed at each point, at most ``MAX_REDUNDANCY`` times). Reductions
(``reduce_sum``, ``reduce_max``, ``reduce_min``) over any axes and ``scatter_add`` (basic indices
and 1-d index arrays) of a value of the domain's shape end a chain inside the nest: an
accumulator updated at each point. Views (basic and integer-array ``getitem``, ``reshape`` that
adds or drops unit dimensions, ``broadcast_to``, ``transpose``) of values computed before the
group cost nothing: they become index arithmetic where they are read (a copy loop where
something outside a group needs the array itself).

A group ends when an equation needs one of its values as a whole array (a view, a matrix
product, a loop) or one of its accumulators, or when shapes do not fit; an equation that reads
none of its values is emitted before it, so the group stays open across it; and the code
generator takes equations that would join the open group ahead of ones that would end it
(``joins``, within a short lookahead).

Sums in a loop nest add in index order (NumPy adds long rows pairwise) and scatters and
accumulations into one array interleave: results agree with NumPy to rounding.
"""
import numpy as np

from ..core import Lit, Var, Zero
from .codegen import _hashable
from .numba_loops import filled

MAX_REDUNDANCY = 8      # a value of a smaller shape is recomputed at most this often per element

ELEMENTWISE_PRIMS = {"add", "add_any", "sub", "mul", "div", "neg", "lt", "le", "gt", "ge", "eq",
                     "ne", "pow", "integer_pow", "select", "safe_mul", "safe_div",
                     "convert_element_type", "broadcast_to", "copy", "stop_gradient", "expit"}
_REDUCE_INIT = {"reduce_sum": "0", "reduce_max": "-np.inf", "reduce_min": "np.inf"}
_TWICE = {"safe_mul", "safe_div", "reduce_max", "reduce_min"}    # read their operand twice


def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def _fits(small, big):
    """True if ``small`` broadcasts to ``big`` (right-aligned, each dimension equal or 1)."""
    return len(small) <= len(big) and all(
        s == 1 or s == b for s, b in zip(small[::-1], big[::-1]))


def _bcast(idx, shape):
    """The index of an operand of ``shape`` read at the point ``idx`` of a larger shape."""
    off = len(idx) - len(shape)
    return ["0" if d == 1 else idx[off + k] for k, d in enumerate(shape)]


def _chains(state, key, idx):
    """True if a scatter at ``idx`` may add into the pending accumulator of ``state`` (its
    last index, whether it started from zeros, how many distinct indices it took) in the same
    nest and give each element NumPy's sum, in NumPy's order: basic indices only (each point
    of the nest touches each element at most once per scatter); the same index again, or a
    second index after one run from zeros (added last, ``a + b == b + a``)."""
    if any(isinstance(i, np.ndarray) for i in idx):
        return False
    last, zero, runs = state
    return (key == last and runs == 1) or (zero and runs == 1)


def _shifted_pair(acc, chain, n, root, pre, inner, post):
    """A 1-d accumulator from zeros that two slices one apart fill (``g[:-1] += u``,
    ``g[1:] += w``, the adjoint of a stencil): each element is written once, the update of the
    slice starting one later carried from the previous point in a local (``u + w`` is NumPy's
    ``(0 + u) + w``), instead of adding into memory that the previous point wrote."""
    starts = []
    for key, val, line, idx, out in chain:
        size = out.aval.shape[0] if out.aval.ndim == 1 else None
        if (size is None or len(idx) != 1 or not isinstance(idx[0], slice)
                or idx[0].indices(size)[2] != 1):
            return
        starts.append(idx[0].indices(size)[0])
    if abs(starts[0] - starts[1]) != 1:
        return
    low, high = (chain[0], chain[1]) if starts[0] < starts[1] else (chain[1], chain[0])
    s, carry = min(starts), f"_c_{acc}"
    pre[pre.index(root)] = (f"{acc} = np.empty({chain[0][4].aval.shape!r}); {acc}[:{s}] = 0.0; "
                            f"{acc}[{s + n + 1}:] = 0.0; {carry} = 0.0")
    inner.remove(low[2])
    inner.remove(high[2])
    inner += [f"{acc}[_j0 + {s}] = {low[1]} + {carry}", f"{carry} = {high[1]}"]
    post.append(f"{acc}[{s + n}] = {carry}")


def _zeros(x):
    """True for a constant of zeros (a symbolic Zero or an array of them)."""
    return type(x) is Lit and (type(x.val) is Zero or (
        np.asarray(x.val).dtype.kind in "fib" and not np.any(x.val)))


def _shift(i, start, step):
    if step < 0:
        return f"{start} - {i}" if step == -1 else f"{start} - {-step} * {i}"
    if step == 1:
        return i if start == 0 else f"{i} + {start}"
    return f"{start} + {step} * {i}" if start else f"{step} * {i}"


def map_index(idx, base_shape, out_idx, array_src):
    """The index of ``base`` that ``base[idx]`` reads at ``out_idx`` (sources of loop indices),
    or None where ``idx`` is not expressible here (boolean or multi-dimensional index arrays,
    advanced indices apart). ``array_src(arr)`` names an index array (a constant)."""
    idx = tuple(idx)
    if any(i is Ellipsis for i in idx):
        k = idx.index(Ellipsis)
        n = len(base_shape) - sum(1 for i in idx if i is not None and i is not Ellipsis)
        idx = idx[:k] + (slice(None),) * n + idx[k + 1:]
    arrays = [k for k, i in enumerate(idx) if isinstance(i, np.ndarray)]
    advanced = []
    if arrays:
        advanced = [k for k, i in enumerate(idx) if isinstance(i, (np.ndarray, int, np.integer))
                    and not isinstance(i, bool)]
        lens = {idx[k].shape for k in arrays}
        if (advanced != list(range(advanced[0], advanced[-1] + 1)) or len(lens) != 1
                or any(idx[k].ndim != 1 or idx[k].dtype.kind not in "iu" for k in arrays)):
            return None
    base, pos, dim = [], 0, 0
    for k, i in enumerate(idx):
        if i is None:
            pos += 1
            continue
        if isinstance(i, bool) or dim >= len(base_shape):
            return None
        n = base_shape[dim]
        if isinstance(i, slice):
            start, _, step = i.indices(n)
            base.append(_shift(out_idx[pos], start, step))
            pos += 1
        elif isinstance(i, (int, np.integer)):
            base.append(str(int(i) % n if n else int(i)))
        elif isinstance(i, np.ndarray):
            base.append(f"{array_src(i)}[{out_idx[pos]}]")
        else:
            return None
        if arrays and k == advanced[-1]:
            pos += 1
        dim += 1
    base += out_idx[pos:pos + len(base_shape) - dim]
    return base


def view_index(eqn, out_idx, array_src):
    """The index of a view equation's operand read at ``out_idx`` of its result, or None."""
    name, p = eqn.prim.name, eqn.params
    src_shape, out_shape = eqn.inputs[0].aval.shape, eqn.outvars[0].aval.shape
    if name == "broadcast_to":
        return _bcast(out_idx, src_shape)
    if name == "reshape":
        if [d for d in src_shape if d != 1] != [d for d in out_shape if d != 1]:
            return None
        kept = iter(i for i, d in zip(out_idx, out_shape) if d != 1)
        return ["0" if d == 1 else next(kept) for d in src_shape]
    if name == "transpose":
        base = [None] * len(src_shape)
        for k, axis in enumerate(p["perm"]):
            base[axis] = out_idx[k]
        return base
    if name == "getitem":
        return map_index(p["idx"], src_shape, out_idx, array_src)
    return None


_VIEWS = ("broadcast_to", "reshape", "transpose", "getitem")


class _Group:
    def __init__(self, shape):
        self.shape = shape
        self.members = []       # equations in program order
        self.values = set()     # their outputs computed per point (scalar locals)
        self.pending = set()    # accumulators: complete only after the nest
        self.frozen = False     # holds a reduction or scatter: the domain is fixed


class Fusion:
    """Groups the array equations of one generated function (see the module docstring).
    ``atom(x)`` gives the source of a value outside any group (materializing views),
    ``const(val)`` a constant's, ``name(v)`` a variable's name; lines go to ``body``."""

    def __init__(self, graph, atom, const, names, gen, body, scalar_expr, fresh, ufuncs):
        self.ufuncs = ufuncs
        self.atom, self.const, self.names, self.gen, self.body = atom, const, names, gen, body
        self.scalar_expr, self.fresh = scalar_expr, fresh
        self.group = None
        self.lazy = {}          # views not materialized: var -> equation
        self.materialized = set()
        self.chains = {}        # scatter accumulators: (last index, from zeros, index runs)
        self._hoist = []        # scalar expressions read in a nest, computed before it
        self.consumers = {}
        for e in graph.eqns:
            for x in e.inputs:
                if type(x) is Var:
                    self.consumers.setdefault(x, []).append(e)
        self.outputs = {v for v in graph.outvars if type(v) is Var}
        self.count = 0

    # -- deciding ---------------------------------------------------------------------------
    def _reads_group(self, eqn):
        g = self.group
        return g is not None and any(type(x) is Var and (x in g.values or x in g.pending)
                                     for x in eqn.inputs)

    def in_group(self, v):
        """True while ``v`` is a value or accumulator of the open group (not computed yet)."""
        g = self.group
        return g is not None and (v in g.values or v in g.pending)

    def before(self, eqn):
        """Called for an equation emitted outside groups: ends the group if it reads it."""
        if self._reads_group(eqn):
            self.close()

    def take(self, eqn):
        """True if ``eqn`` joined a group or became a view (nothing to emit now)."""
        name = eqn.prim.name
        if len(eqn.outvars) != 1 or eqn.outvars[0].aval.dtype.kind not in "fib":
            return False
        out = eqn.outvars[0]
        if name in _REDUCE_INIT:
            shape = eqn.inputs[0].aval.shape
            return shape != () and self._join(eqn, shape, fold=True)
        if out.aval.shape == ():
            return False
        if name in _VIEWS:
            if view_index(eqn, ["i"] * out.aval.ndim, lambda a: "c") is None:
                return False
            self.before(eqn)
            self.lazy[out] = eqn
            return True
        if name == "scatter_add":
            return self._scatter(eqn)
        if self._elementwise(eqn):
            return self._join(eqn, out.aval.shape)
        return False

    def elementwise(self, eqn):
        """True for an equation that a loop nest computes per point."""
        return self._elementwise(eqn)

    def _elementwise(self, eqn):
        impl = eqn.prim.impl
        return eqn.prim.name in ELEMENTWISE_PRIMS or (
            isinstance(impl, np.ufunc) and not eqn.params and impl.__name__ in self.ufuncs)

    def _join(self, eqn, shape, fold=False, accumulate=None):
        """Add ``eqn`` (its values of ``shape``) to the open group or a new one; ``fold``: it
        accumulates (a reduction or scatter); ``accumulate``: the pending array it adds to."""
        g = self.group
        if g is not None and (self._reads_pending(eqn, accumulate)
                              or not self._fits(g, shape, fold)):
            self.close()
            g = None
        if g is None:
            g = self.group = _Group(shape)
        g.members.append(eqn)
        if fold:
            g.frozen = True
            g.pending.add(eqn.outvars[0])
        else:
            g.values.add(eqn.outvars[0])
        return True

    def _reads_pending(self, eqn, allowed):
        return any(type(x) is Var and x in self.group.pending and x is not allowed
                   for x in eqn.inputs)

    def joins(self, eqn):
        """True if ``eqn`` (its inputs computed) would join the open group as it stands: an
        elementwise equation or reduction of a fitting shape, reading no accumulator. The code
        generator takes such equations ahead of others that would end the group."""
        g = self.group
        if g is None or len(eqn.outvars) != 1 or eqn.outvars[0].aval.dtype.kind not in "fib" \
                or self._reads_pending(eqn, None):
            return False
        shape = eqn.outvars[0].aval.shape
        if eqn.prim.name in _REDUCE_INIT:
            return eqn.inputs[0].aval.shape == g.shape
        return shape != () and self._elementwise(eqn) and _fits(shape, g.shape) \
            and _size(g.shape) <= MAX_REDUNDANCY * _size(shape)

    def _fits(self, g, shape, exact):
        """True if values of ``shape`` join ``g`` (``exact``: over its whole domain), widening
        the domain where that is allowed."""
        if exact:
            return shape == g.shape or (not g.frozen and self._widen(g, shape))
        if _fits(shape, g.shape) and _size(g.shape) <= MAX_REDUNDANCY * _size(shape):
            return True
        return not g.frozen and self._widen(g, shape)

    def _widen(self, g, shape):
        """Make ``shape`` the domain if every member still fits it."""
        if not _fits(g.shape, shape):
            return False
        for e in g.members:
            s = e.outvars[0].aval.shape
            if not _fits(s, shape) or _size(shape) > MAX_REDUNDANCY * _size(s):
                return False
        g.shape = shape
        return True

    def _scatter(self, eqn):
        a, u = eqn.inputs
        shape = u.aval.shape
        idx = eqn.params["idx"]
        if (shape == () or eqn.outvars[0].aval.dtype != np.float64
                or np.broadcast_to(np.empty(()), a.aval.shape)[idx].shape != shape
                or map_index(idx, a.aval.shape, ["i"] * len(shape), lambda v: "c") is None):
            return False
        g = self.group
        key = _hashable(idx)
        state = self.chains.get(a)
        chained = (g is not None and type(a) is Var and a in g.pending and self._only_use(a, eqn)
                   and state is not None and _chains(state, key, idx))
        if g is not None and not chained and type(a) is Var and (a in g.values or a in g.pending):
            self.close()
        self._join(eqn, shape, fold=True, accumulate=a if chained else None)
        if self.group is g and chained:
            self.chains[eqn.outvars[0]] = (key, state[1], state[2] + (key != state[0]))
        else:
            zero = _zeros(a) and not any(isinstance(i, np.ndarray) for i in idx)
            self.chains[eqn.outvars[0]] = (key, zero, 1)
        return True

    def _producer(self, v):
        for e in self.group.members:
            if e.outvars[0] is v:
                return e
        return None

    def _only_use(self, v, eqn):
        return v not in self.outputs and self.consumers.get(v) == [eqn]

    # -- reading ------------------------------------------------------------------------------
    def read(self, x, idx, local):
        """Source of ``x`` at ``idx`` (its own index) inside a nest; ``local``: the group's
        values -> their scalar sources."""
        if type(x) is Lit:
            if type(x.val) is Zero:
                return {"f": "0.0", "i": "0", "b": "False"}[x.aval.dtype.kind]
            src = self.const(x.val)
            return src if np.ndim(x.val) == 0 else f"{src}[{', '.join(idx)}]"
        if x in local:
            return local[x]
        if x in self.lazy and x not in self.materialized:
            eqn = self.lazy[x]
            return self.read(eqn.inputs[0], view_index(eqn, idx, self._array), local)
        src = self.atom(x)
        if x.aval.shape != ():
            return f"{src}[{', '.join(idx)}]"
        if not src.isidentifier():      # an expression of scalars: once, before the nest
            self._hoist.append(f"{self.name(x)} = {src}")
            return self.names[x]
        return src

    def _array(self, arr):
        return self.const(np.asarray(arr))

    def materialize(self, v):
        """A view needed as an array: a copy loop (the names come from ``name``)."""
        self.materialized.add(v)
        shape = v.aval.shape
        idx = [f"_j{k}" for k in range(len(shape))]
        eqn = self.lazy[v]
        src = self.read(eqn.inputs[0], view_index(eqn, idx, self._array), {})
        lhs = self.name(v)
        lines = [f"{lhs} = np.empty({shape!r}, np.{v.aval.dtype.name})"]
        lines += self._nest(shape, [f"{lhs}[{', '.join(idx)}] = {src}"] if shape else [])
        self.body.extend(self._take_hoisted() + lines)

    def contraction(self, eqn):
        """A ``dot_general`` that is no matrix product (batch letters, several contracted
        letters, diagonals) as a loop nest: output letters outside, contracted ones inside."""
        spec = eqn.params["spec"]
        ins, out_letters = spec.split("->")
        specs = ins.split(",")
        size = {}
        for letters, x in zip(specs, eqn.inputs):
            size.update(zip(letters, x.aval.shape))
        inner = [c for c in dict.fromkeys("".join(specs)) if c not in out_letters]
        var = {c: f"_j{k}" for k, c in enumerate(list(out_letters) + inner)}
        term = " * ".join(self.read(x, [var[c] for c in letters], {})
                          for letters, x in zip(specs, eqn.inputs))
        out = eqn.outvars[0]
        lhs = self.name(out)
        acc = f"_{lhs}"
        sum_loop = [f"{acc} = 0.0"] + self._nest([size[c] for c in inner], [f"{acc} += {term}"],
                                                 [var[c] for c in inner])
        hoisted = self._take_hoisted()
        if not out_letters:
            return hoisted + [f"# contraction {spec}"] + sum_loop + [f"{lhs} = {acc}"]
        store = f"{lhs}[{', '.join(var[c] for c in out_letters)}] = {acc}"
        return hoisted + ([f"# contraction {spec}", f"{lhs} = np.empty({out.aval.shape!r})"]
                + self._nest(out.aval.shape, sum_loop + [store]))

    # -- emitting -----------------------------------------------------------------------------
    def close(self):
        """Emit the open group's loop nest."""
        g, self.group = self.group, None
        if g is None:
            return
        idx = [f"_j{k}" for k in range(len(g.shape))]
        inside = {id(e) for e in g.members}
        pre, inner, local, runs = [], [], {}, {}
        for e in g.members:
            if e.prim.name == "scatter_add":
                lines = self._scatter_lines(e, g, idx, local, runs, inner)
            elif e.prim.name in _REDUCE_INIT:
                lines = self._reduce_lines(e, idx, local)
            else:
                lines = self._value_lines(e, idx, local, inside, g)
            pre += lines[0]
            inner += lines[1]
        post = []
        for acc, chain in runs.items():
            if type(acc) is tuple and acc[0] == "chain" and len(chain) == 2 \
                    and len(g.shape) == 1 and ("root", acc[1]) in runs:
                _shifted_pair(acc[1], chain, g.shape[0], runs[("root", acc[1])], pre, inner,
                              post)
        head = f"# loop nest over {g.shape!r}: " + ", ".join(e.prim.name for e in g.members)
        self.body.extend(self._take_hoisted() + [head] + pre + self._nest(g.shape, inner) + post)

    def _take_hoisted(self):
        """The lines computing the scalar expressions that ``read`` hoisted out of a nest (due
        before any nest or copy loop that reads them)."""
        lines, self._hoist = self._hoist, []
        return lines

    def _value_lines(self, e, idx, local, inside, g):
        """An elementwise value: written into its reader's expression where that is its only
        read, else a scalar local, stored into an array where read outside the nest (into an
        operand's array where that is a temporary read only here: ``_reusable``)."""
        out = e.outvars[0]
        shape = out.aval.shape
        midx = _bcast(idx, shape)
        args = [self.read(x, _bcast(midx, x.aval.shape), local) for x in e.inputs]
        expr = self.scalar_expr(e, args)
        readers = self.consumers.get(out, [])
        outside = out in self.outputs or any(id(c) not in inside for c in readers)
        if not outside and len(readers) == 1 and readers[0].prim.name not in _TWICE \
                and readers[0].prim.name != "integer_pow" and sum(x is out for x in readers[0].inputs) == 1:
            local[out] = f"({expr})"
            return [], []
        lhs = self.name(out)
        tmp = f"_{lhs}"
        local[out] = tmp
        if not outside:
            return [], [f"{tmp} = {expr}"]
        into = self._reusable(e, g, local)
        return ([f"{lhs} = {into}" if into else
                 f"{lhs} = np.empty({shape!r}, np.{out.aval.dtype.name})"],
                [f"{tmp} = {expr}", f"{lhs}[{', '.join(midx)}] = {tmp}"])

    def _reusable(self, e, g, local):
        """The name of an operand array of ``e`` that its result may overwrite, or None: a new
        array (``fresh``) of the result's shape and dtype, the nest's whole domain, that nothing
        but ``e`` reads (each point reads its element before ``e`` stores there)."""
        out = e.outvars[0].aval
        if out.shape != g.shape:
            return None
        for x in e.inputs:
            if (type(x) is Var and x.aval == out and x not in local and x not in g.pending
                    and x not in self.lazy and x in self.names and self._only_use(x, e)
                    and self.fresh(x)):
                return self.names[x]
        return None

    def _nest(self, shape, inner, names=None):
        names = names or [f"_j{k}" for k in range(len(shape))]
        lines = []
        for k, n in enumerate(shape):
            lines.append("    " * k + f"for {names[k]} in range({n}):")
        return lines + ["    " * len(shape) + line for line in inner]

    def _reduce_lines(self, e, idx, local):
        x, out = e.inputs[0], e.outvars[0]
        axes = {a % x.aval.ndim for a in e.params["axes"]}
        ridx = [i for k, i in enumerate(idx) if k not in axes]
        val = self.read(x, idx, local)
        acc = self.name(out)
        dt = out.aval.dtype
        init = _REDUCE_INIT[e.prim.name]
        if dt.kind != "f":
            init = {"0": "0", "-np.inf": str(np.iinfo(np.int64).min),
                    "np.inf": str(np.iinfo(np.int64).max)}[init]
        elif init == "0":
            init = "0.0"
        target = f"{acc}[{', '.join(ridx)}]" if ridx else acc
        if ridx:
            pre = [filled(acc, out.aval.shape, init, dt)]
        else:
            pre = [f"{acc} = {'np.' + dt.name}({init})" if dt.kind != "f" else f"{acc} = {init}"]
        if e.prim.name == "reduce_sum":
            return pre, [f"{target} += {val}"]
        cmp = ">" if e.prim.name == "reduce_max" else "<"
        v = f"_{acc}"
        return pre, [f"{v} = {val}", f"if {v} {cmp} {target} or {v} != {v}:",
                     f"    {target} = {v}"]

    def _scatter_lines(self, e, g, idx, local, runs, inner):
        """``acc[index] += update``. Scatters of one index from zeros into one accumulator add
        their updates first (NumPy's order), in one line that replaces the run's earlier one
        in ``inner`` (``runs``: accumulator -> (index, updates' sum, its line))."""
        a, u = e.inputs
        out = e.outvars[0]
        val = self.read(u, idx, local)
        tidx = ", ".join(map_index(e.params["idx"], a.aval.shape, idx, self._array))
        key, zero, _ = self.chains[out]
        pre = []
        if type(a) is Var and a in g.pending:
            lhs = self.name(a)         # accumulates into the same array
            self.alias(out, lhs)
            run = runs.get(lhs)
            if zero and run is not None and run[0] == key:
                inner.remove(run[2])
                val = f"({run[1]} + {val})"
        else:
            lhs = self.name(out)
            if _zeros(a):
                pre = [filled(lhs, out.aval.shape, "0.0")]
            else:
                src = self.atom(a)
                own = type(a) is Var and self._only_use(a, e) and self.fresh(a) \
                    and a not in self.lazy
                pre = [f"{lhs} = {src}" + ("" if own else ".copy()")]
        line = f"{lhs}[{tidx}] += {val}"
        runs[lhs] = (key, val, line)
        if zero:            # the chain from zeros, one entry per index: see _shifted_pair
            chain = runs.setdefault(("chain", lhs), [])
            if chain and chain[-1][0] == key:
                chain.pop()
            chain.append((key, val, line, e.params["idx"], out))
            if pre:
                runs[("root", lhs)] = pre[0]
        return pre, [line]

    def name(self, v):
        if v not in self.names:
            self.names[v] = next(self.gen)
        return self.names[v]

    def alias(self, v, src):
        self.names[v] = src
