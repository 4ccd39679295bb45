"""Loops and branches as primitives that hold a graph: scan, while_loop, cond, checkpoint.

Each holds its body as a closed Graph in its parameters (``body``; ``cond`` holds ``branches``)
and every rule transforms that graph, never unrolls it (ARCHITECTURE.md, item 12). Rule
signatures are the usual ones (primitive.py); the graph transformations come from
``interpreters/graphs.py`` through ``dispatch.hooks["graphs"]``.

scan's inputs are ``consts + carry + xs`` (``n_consts``, ``n_carry``; ``xs`` stacked on axis
0), its outputs ``carry + ys``; the body maps ``consts + carry + x slices`` to ``carry + y
slices``. ``linear`` (a bool per input, or None) marks the inputs a scan staged by partial
evaluation is linear in; ``checkpoints`` is None (store every step's residuals) or the number
of carries the backward pass may hold at once (binomial checkpointing, ``revolve``).
"""
import numpy as np

from ..core import (Graph, PrimalTracer, Primitive, ShapedArray, Tracer, Zero,
                    check_ambiguous_body, dispatch, eval_graph, forward_only, instantiate,
                    incoming_loose, is_undefined, strict_products, tangent_aval,
                    with_unused_inputs)
from ..core import split_list as _split
from ..core.avals import get_aval
from ..core.errors import ConcretizationError, InvalidArgumentError
from . import revolve


def _g():
    return dispatch.hooks["graphs"]


def _cached(graph, key, make):
    val = graph.cache.get(key)
    if val is None:
        val = graph.cache[key] = make()
    return val


def _permute(graph, invars, outvars):
    return Graph(invars, graph.eqns, outvars)


# -- scan ----------------------------------------------------------------------------------------
scan_p = Primitive("scan", multiple_results=True)


def scan_impl(*args, body, n_consts, n_carry, length, reverse, linear=None, checkpoints=None):
    consts, carry, xs = _split(args, n_consts, n_carry)
    fn = _g().compiled(body)
    ys = [np.empty((length,) + v.aval.shape, v.aval.dtype) for v in body.outvars[n_carry:]]
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        out = fn(*consts, *carry, *[x[i] for x in xs])
        carry = out[:n_carry]
        for y, o in zip(ys, out[n_carry:]):
            y[i] = o
    return list(carry) + ys


def scan_abstract(*avals, body, n_consts, n_carry, length, **_):
    outs = [v.aval.strip_weak() for v in body.outvars]
    return outs[:n_carry] + [ShapedArray((length,) + a.shape, a.dtype) for a in outs[n_carry:]]


def _carry_fixed_point(step, flags_c):
    """Iterate ``step(carry_flags) -> carry_out_flags`` until the flags are stable (a carry is
    nonzero / batched / unknown if its input or its output is)."""
    while True:
        out = step(flags_c)
        if all(c or not o for c, o in zip(flags_c, out)):
            return flags_c
        flags_c = [c or o for c, o in zip(flags_c, out)]


def _strict_or(body_of, body, n_consts, n_carry, tangents=None):
    """``body_of(loose)``: the JVP or Taylor body of a loop or branch, built with per-input
    flags saying which tangents may hold a structural zero (core/zeros.py). Where no tangent
    entering it holds one (``strict_products``), its products are plain where none arises in
    it either: no flag for consts and xs, the carries' a fixed point (a step's selection may
    give one). Else every one may (the zero-safe products), and a ``jvp`` watching for them
    (given the JVP's ``tangents``) computes again by linearize where the body holds such
    products."""
    if not strict_products():
        found = body_of(None)
        if tangents is not None:
            check_ambiguous_body([found[0]], tangents)
        return found
    n_x = len(body.invars) - n_consts - n_carry

    def of(flags_k):
        return body_of((False,) * n_consts + tuple(flags_k) + (False,) * n_x)
    loose_k = _carry_fixed_point(lambda f: of(f)[0].cache["loose_out"][:n_carry],
                                 [False] * n_carry)
    return of(loose_k)


def scan_jvp(primals, tangents, *, body, n_consts, n_carry, length, reverse, linear=None,
             checkpoints=None):
    G = _g()
    n_ys = len(body.outvars) - n_carry
    nz = [type(t) is not Zero for t in tangents]
    nz_c, nz_k, nz_x = _split(nz, n_consts, n_carry)

    def jvp_of(flags_k, loose=None):
        nz = nz_c + flags_k + nz_x
        return _cached(body, ("jvp", tuple(nz), loose), lambda: G.jvp_graph(
            body, nz, instantiate_out=flags_k + [False] * n_ys, loose=loose))
    nz_k = _carry_fixed_point(lambda f: jvp_of(f)[1][:n_carry], nz_k)
    jbody, nz_out = _strict_or(lambda loose: jvp_of(nz_k, loose), body, n_consts, n_carry,
                               tangents)
    nz_y = nz_out[n_carry:]
    # reorder the JVP body into scan's layout: consts, carry, xs each followed by their tangents
    n_in = len(body.invars)
    p_c, p_k, p_x = _split(jbody.invars[:n_in], n_consts, n_carry)
    t_c, t_k, t_x = _split(jbody.invars[n_in:], sum(nz_c), sum(nz_k))
    n_out = len(body.outvars)
    o_k, o_y = _split(jbody.outvars[:n_out], n_carry)
    to_k, to_y = _split(jbody.outvars[n_out:], sum(nz_k))
    new = _permute(jbody, p_c + t_c + p_k + t_k + p_x + t_x, o_k + to_k + o_y + to_y)
    c, k, x = _split(primals, n_consts, n_carry)
    tc, tk, tx = _split(tangents, n_consts, n_carry)
    tc = [t for t, f in zip(tc, nz_c) if f]
    tk = [instantiate(t) for t, f in zip(tk, nz_k) if f]
    tx = [t for t, f in zip(tx, nz_x) if f]
    outs = scan_p.bind(*c, *tc, *k, *tk, *x, *tx, body=new, n_consts=len(c) + len(tc),
                       n_carry=len(k) + len(tk), length=length, reverse=reverse,
                       checkpoints=checkpoints)
    ok, otk, oy, oty = _split(outs, n_carry, len(tk), n_ys)
    itk, ity = iter(otk), iter(oty)
    t_out = [next(itk) if f else Zero(tangent_aval(v.aval)) for f, v in
             zip(nz_k, body.outvars[:n_carry])]
    t_out += [next(ity) if f else Zero(tangent_aval(a)) for f, a in
              zip(nz_y, scan_abstract(body=body, n_consts=n_consts, n_carry=n_carry,
                                      length=length)[n_carry:])]
    return ok + oy, t_out


def _loop_split(body, u_c, u_k, u_x):
    """``partial_eval_graph`` of a loop body whose consts, carries and xs are unknown as
    flagged, the unknown carries forced unknown in its outputs too (cached on the body)."""
    flags = u_c + u_k + u_x
    n_ys = len(body.outvars) - len(u_k)
    return _cached(body, ("pe", tuple(flags)), lambda: _g().partial_eval_graph(
        body, flags, force_unknown=u_k + [False] * n_ys))


# the most bytes of stacked residuals a scan linearized for one forward pass stores (jvp's
# element-by-element decision, core.zeros.forward_only); a longer one is staged whole
FORWARD_STORE_LIMIT = 100e6


def scan_partial_eval(stage, args, params):
    """Linearize splits a scan: the known part runs now and returns, besides its outputs, the
    residuals of every step (stacked, or taken from the consts); the unknown part, linear in
    the tangents, is staged as a scan over those residuals. With checkpoints the staged scan
    holds the whole joint body instead and recomputes the residuals (``scan_transpose``)."""
    body, n_consts, n_carry = params["body"], params["n_consts"], params["n_carry"]
    unk = [stage.owns(x) for x in args]
    u_c, u_k, u_x = _split(unk, n_consts, n_carry)
    u_k = _carry_fixed_point(lambda f: _loop_split(body, u_c, f, u_x)[2][:n_carry], u_k)
    known_g, unknown_g, out_unk, n_res = _loop_split(body, u_c, u_k, u_x)
    unk = u_c + u_k + u_x
    known_args = [a for a, u in zip(args, unk) if not u]
    n_kc, n_kk = n_consts - sum(u_c), n_carry - sum(u_k)
    n_known_out = len(known_g.outvars) - n_res
    length, reverse = params["length"], params["reverse"]
    # residuals that are consts or xs of the loop are passed as they are; the others are
    # stacked by the known scan
    res_vars = known_g.outvars[n_known_out:]
    const_in = {v: i for i, v in enumerate(known_g.invars[:n_kc])}
    xs_in = {v: i for i, v in enumerate(known_g.invars[n_kc + n_kk:])}
    is_const = [r in const_in for r in res_vars]
    stacked_outs = [r for r, c in zip(res_vars, is_const) if not c and r not in xs_in]
    if params.get("checkpoints") is not None or forward_only() and length * sum(
            r.aval.size * r.aval.dtype.itemsize for r in stacked_outs) > FORWARD_STORE_LIMIT:
        return _partial_eval_joint(stage, args, params, unk, known_g, n_known_out, out_unk)
    known_scan = Graph(known_g.invars, known_g.eqns, known_g.outvars[:n_known_out] + stacked_outs)
    outs = scan_p.bind(*known_args, body=known_scan, n_consts=n_kc, n_carry=n_kk,
                       length=length, reverse=reverse)
    known_outs, it = outs[:n_known_out], iter(outs[n_known_out:])
    known_c_vals, known_x_vals = known_args[:n_kc], known_args[n_kc + n_kk:]
    res_vals_const = [known_c_vals[const_in[r]] for r, c in zip(res_vars, is_const) if c]
    stacked = [known_x_vals[xs_in[r]] if r in xs_in else next(it)
               for r, c in zip(res_vars, is_const) if not c]
    # the unknown scan: consts = const residuals + unknown consts, carry = unknown carry,
    # xs = stacked residuals + unknown xs
    r_vars = unknown_g.invars[:n_res]
    r_const = [v for v, c in zip(r_vars, is_const) if c]
    r_stacked = [v for v, c in zip(r_vars, is_const) if not c]
    uc, uk, ux = _split(unknown_g.invars[n_res:], sum(u_c), sum(u_k))
    ubody = _permute(unknown_g, r_const + uc + uk + r_stacked + ux, unknown_g.outvars)
    a_c, a_k, a_x = _split(args, n_consts, n_carry)
    u_args = (res_vals_const + [a for a, u in zip(a_c, u_c) if u]
              + [a for a, u in zip(a_k, u_k) if u]
              + stacked + [a for a, u in zip(a_x, u_x) if u])
    lin = [False] * len(r_const) + [True] * (sum(u_c) + sum(u_k)) + [False] * len(r_stacked) \
        + [True] * sum(u_x)
    u_outs = stage.stage(scan_p, u_args, dict(
        body=ubody, n_consts=len(r_const) + sum(u_c), n_carry=sum(u_k), length=length,
        reverse=reverse, linear=tuple(lin), checkpoints=None))
    ik, iu = iter(known_outs), iter(u_outs)
    return [next(iu) if u else next(ik) for u in out_unk]


def _partial_eval_joint(stage, args, params, unk, known_g, n_known_out, out_unk):
    """Known outputs now, from a scan of the known part without residuals; unknown outputs from
    a staged scan of the whole body (known inputs as constants), which its transpose rule runs
    with binomial checkpointing."""
    known_scan = _g().first_outputs(known_g, n_known_out)
    n_kc = params["n_consts"] - sum(unk[:params["n_consts"]])
    n_kk = params["n_carry"] - sum(unk[params["n_consts"]:params["n_consts"] + params["n_carry"]])
    known_args = [a for a, u in zip(args, unk) if not u]
    known_outs = scan_p.bind(*known_args, body=known_scan, n_consts=n_kc, n_carry=n_kk,
                             length=params["length"], reverse=params["reverse"])
    p = dict(params, linear=tuple(unk))
    all_outs = stage.stage(scan_p, list(args), p)
    ik = iter(known_outs)
    return [o if u else next(ik) for o, u in zip(all_outs, out_unk)]


def scan_transpose(cts, *args, body, n_consts, n_carry, length, reverse, linear=None,
                   checkpoints=None):
    """A reverse scan of the transposed body; the cotangents of the linear consts are summed
    over the steps in the carry. With checkpoints: binomial checkpointing (revolve.py)."""
    G = _g()
    lin = _linear_flags(args, linear)
    if checkpoints is not None:
        return revolve.transpose(cts, args, lin, body, n_consts, n_carry, length, reverse,
                                 checkpoints)
    l_c, l_k, l_x = _split(lin, n_consts, n_carry)
    if not all(l_k):
        raise InvalidArgumentError("scan transpose: a carry that is not linear")
    a_c, a_k, a_x = _split(args, n_consts, n_carry)
    tb, loose = _transposed_body(G, body, lin, n_consts, n_carry)
    r_c = [a for a, l in zip(a_c, l_c) if not l]
    r_x = [a for a, l in zip(a_x, l_x) if not l]
    n_lc = sum(l_c)
    ct_k, ct_y = _split([instantiate(c) for c in cts], n_carry)
    lc_avals = [tangent_aval(v.aval).strip_weak()
                for v, l in zip(body.invars[:n_consts], l_c) if l]
    acc0 = [np.zeros(a.shape, a.dtype) for a in lc_avals]
    n_rc, n_rx = len(r_c), len(r_x)

    def tbody(ins):
        rc, ck, acc, rx, cy = _split(ins, n_rc, n_carry, n_lc, n_rx)
        out = eval_graph(tb, rc + rx + ck + cy)
        d_c, d_k, d_x = _split(out, n_lc, n_carry)
        return d_k + [a + d for a, d in zip(acc, d_c)] + d_x
    avals = ([get_aval(r) for r in r_c] + [tangent_aval(v.aval).strip_weak()
                                            for v in body.invars[n_consts:n_consts + n_carry]]
             + lc_avals + [_slice_aval(get_aval(r)) for r in r_x]
             + [tangent_aval(v.aval).strip_weak() for v in body.outvars[n_carry:]])
    avals = [a.strip_weak() for a in avals]
    tgraph = _cached(body, ("transpose_scan", tuple(lin), loose),
                     lambda: G.close(tbody, avals))
    tgraph, consts = tgraph
    outs = scan_p.bind(*consts, *r_c, *ct_k, *acc0, *r_x, *ct_y, body=tgraph,
                       n_consts=len(consts) + n_rc, n_carry=n_carry + n_lc, length=length,
                       reverse=not reverse)
    d_k, d_c, d_x = _split(outs, n_carry, n_lc)
    ic, ix = iter(d_c), iter(d_x)
    res = [next(ic) if l else None for l in l_c] + d_k + [next(ix) if l else None for l in l_x]
    return res


def _transposed_body(G, body, lin, n_consts, n_carry, incoming=None):
    """The body's transpose for the NaN-safe rule's flags (core/zeros.py): which cotangents
    of the results may hold a structural zero, as the backward pass says (``incoming_loose``,
    or ``incoming`` where given), a carry's taken together with what the body hands the
    previous step (a fixed point), so a body whose cotangents hold none transposes its
    zero-safe products plainly. Returns the transposed body and the carries' and outputs'
    flags."""
    if incoming is None:
        incoming = _incoming(body.outvars)
    flags_y = tuple(incoming[n_carry:])
    n_lc = sum(lin[:n_consts])      # the body's linear inputs: linear consts, carries, xs

    def transposed(flags_k):
        key = tuple(flags_k) + flags_y
        return _cached(body, ("transpose", tuple(lin), key),
                       lambda: G.transpose_graph(body, lin, key)), key
    flags_k = _carry_fixed_point(
        lambda f: transposed(f)[0].cache["loose_in"][n_lc:n_lc + n_carry],
        list(incoming[:n_carry]))
    return transposed(flags_k)


def _coefficients(series, flags, primals, order):
    """The Taylor coefficients of the inputs marked in ``flags``, input after input (zeros
    for an input without a series: a loop carry that gains one)."""
    return [instantiate(c) for s, f, x in zip(series, flags, primals) if f
            for c in (s if s is not None else [Zero(tangent_aval(get_aval(x)))] * order)]


def _slice_aval(aval):
    return ShapedArray(aval.shape[1:], aval.dtype)


def scan_batch(vals, dims, *, body, n_consts, n_carry, length, reverse, linear=None,
               checkpoints=None):
    """vmap of a scan: a scan of the batched body; consts and carries get their batch axis at
    0, xs at 1 (axis 0 stays the scanned one); ys come out batched at axis 1."""
    G = _g()
    size = next(np.shape(v)[d] if not isinstance(v, Tracer) else v.aval.shape[d]
                for v, d in zip(vals, dims) if d is not None)
    n_ys = len(body.outvars) - n_carry
    b = [d is not None for d in dims]
    b_c, b_k, b_x = _split(b, n_consts, n_carry)

    def batch_of(flags_k):
        return _cached(body, ("batch", size, tuple(b_c + flags_k + b_x)), lambda: G.batch_graph(
            body, b_c + flags_k + b_x, size, force_out=flags_k + [False] * n_ys))
    b_k = _carry_fixed_point(lambda f: batch_of(f)[1][:n_carry], b_k)
    bbody, out_b = batch_of(b_k)
    v_c, v_k, v_x = _split(vals, n_consts, n_carry)
    d_c, d_k, d_x = _split(dims, n_consts, n_carry)
    args = [_to_axis(v, d, 0) for v, d in zip(v_c, d_c)]
    args += [_to_axis(v, d, 0) if d is not None else
             (_broadcast_batch(v, size) if f else v) for v, d, f in zip(v_k, d_k, b_k)]
    args += [_to_axis(v, d, 1) for v, d in zip(v_x, d_x)]
    outs = scan_p.bind(*args, body=bbody, n_consts=n_consts, n_carry=n_carry, length=length,
                       reverse=reverse, linear=linear, checkpoints=checkpoints)
    out_dims = [0 if f else None for f in out_b[:n_carry]] + \
        [1 if f else None for f in out_b[n_carry:]]
    return outs, out_dims


def _to_axis(v, d, axis):
    if d is None or d == axis:
        return v
    return np.moveaxis(v, d, axis)


def _broadcast_batch(v, size):
    shape = get_aval(v).shape
    return np.broadcast_to(np.expand_dims(v, 0), (size,) + tuple(shape))


def scan_taylor(primals, series, *, body, n_consts, n_carry, length, reverse, linear=None,
                checkpoints=None):
    """Taylor mode: a scan of the body's Taylor propagation; the normalized coefficients of a
    carry travel in the carry, those of xs are sliced with them."""
    G = _g()
    order = len(next(s for s in series if s is not None))
    n_ys = len(body.outvars) - n_carry
    h = [s is not None for s in series]
    h_c, h_k, h_x = _split(h, n_consts, n_carry)

    def jet_of(flags_k, loose=None):
        return _cached(body, ("jet", order, tuple(h_c + flags_k + h_x), loose),
                       lambda: G.jet_graph(body, h_c + flags_k + h_x, order,
                                           force_out=flags_k + [False] * n_ys, loose=loose))
    h_k = _carry_fixed_point(lambda f: jet_of(f)[1][:n_carry], h_k)
    jbody, out_h = _strict_or(lambda loose: jet_of(h_k, loose), body, n_consts, n_carry)
    n_in = len(body.invars)
    p_c, p_k, p_x = _split(jbody.invars[:n_in], n_consts, n_carry)
    s_c, s_k, s_x = _split(jbody.invars[n_in:], order * sum(h_c), order * sum(h_k))
    n_out = len(body.outvars)
    o_k, o_y = _split(jbody.outvars[:n_out], n_carry)
    so_k, so_y = _split(jbody.outvars[n_out:], order * sum(h_k))
    new = _permute(jbody, p_c + s_c + p_k + s_k + p_x + s_x, o_k + so_k + o_y + so_y)

    c, k, x = _split(primals, n_consts, n_carry)
    sc, sk, sx = _split(series, n_consts, n_carry)
    cc = _coefficients(sc, h_c, c, order)
    ck = _coefficients(sk, h_k, k, order)
    cx = _coefficients(sx, h_x, x, order)
    outs = scan_p.bind(*c, *cc, *k, *ck, *x, *cx, body=new, n_consts=len(c) + len(cc),
                       n_carry=len(k) + len(ck), length=length, reverse=reverse)
    ok, sok, oy, soy = _split(outs, n_carry, len(ck), n_ys)
    ik, iy = iter(sok), iter(soy)
    out_series = [[next(ik) for _ in range(order)] if f else None for f in h_k]
    out_series += [[next(iy) for _ in range(order)] if f else None for f in out_h[n_carry:]]
    return ok + oy, out_series



# steps beyond which a scan with xs takes the dense pattern (the exact one is built per step)
SPARSITY_MAX_STEPS = 4096


def scan_sparsity(out_avals, avals, values, *, body, n_consts, n_carry, length, reverse,
                  linear=None, checkpoints=None):
    """Which input elements each output element of a scan reads: the body's pattern (found by
    the sparsity interpreter) composed over the steps. The carry's dependency D runs through
    ``D <- K_k D + [K_c, 0, K_x E_i]``, K the body's blocks and E_i the columns of step i's xs;
    each y is read off the D of its step. Without xs D reaches a fixed point and the steps stop
    there; with xs over SPARSITY_MAX_STEPS steps the pattern is dense (a documented bound)."""
    import scipy.sparse as sp
    n_x = len(avals) - n_consts - n_carry
    if n_x and length > SPARSITY_MAX_STEPS:
        return [[dispatch.hooks["sparsity_all"]] * len(avals) for _ in out_avals]
    J = dispatch.hooks["sparsity_flat"](lambda ins: eval_graph(body, ins),
                                        [np.zeros(v.aval.shape, v.aval.dtype)
                                         for v in body.invars])[0].tocsr().astype(bool)
    in_sizes = [v.aval.size for v in body.invars]
    out_sizes = [v.aval.size for v in body.outvars]
    nc, nk = sum(in_sizes[:n_consts]), sum(in_sizes[n_consts:n_consts + n_carry])
    nx = sum(in_sizes[n_consts + n_carry:])
    x_sizes = in_sizes[n_consts + n_carry:]
    n_cols = nc + nk + length * nx
    Kc, Kk, Kx = J[:nk, :nc], J[:nk, nc:nc + nk], J[:nk, nc + nk:]
    Yc, Yk, Yx = J[nk:, :nc], J[nk:, nc:nc + nk], J[nk:, nc + nk:]
    # step i's x slice (leaf j, element e) is column nc + nk + length * (offset of j) + i * size_j + e
    leaf = np.repeat(np.arange(len(x_sizes)), x_sizes)
    within = np.concatenate([np.arange(n) for n in x_sizes]) if x_sizes else np.zeros(0, int)
    x_base = nc + nk + length * np.concatenate([[0], np.cumsum(x_sizes)[:-1]]).astype(int) \
        if x_sizes else np.zeros(0, int)

    def widen(block):              # a block on the consts' columns, as a full-width row set
        coo = block.tocoo()
        return sp.csr_matrix((np.ones(coo.nnz, bool), (coo.row, coo.col)),
                             shape=(block.shape[0], n_cols))

    def x_cols(i):
        cols = x_base[leaf] + i * np.asarray(x_sizes)[leaf] + within
        return sp.csr_matrix((np.ones(nx, bool), (np.arange(nx), cols)), shape=(nx, n_cols))
    D = sp.csr_matrix((np.ones(nk, bool), (np.arange(nk), nc + np.arange(nk))),
                      shape=(nk, n_cols))
    Kc_w, Yc_w = widen(Kc), widen(Yc)
    ys, fixed = [None] * length, None
    for t in range(length):
        i = length - 1 - t if reverse else t
        if fixed is not None:           # past a fixed point every step reads the same
            ys[i] = fixed
            continue
        Y, new = Yk @ D + Yc_w, Kk @ D + Kc_w
        if nx:
            Ex = x_cols(i)
            Y, new = Y + Yx @ Ex, new + Kx @ Ex
        ys[i], new = Y.astype(bool), new.astype(bool)
        if not nx and (new != D).nnz == 0:
            fixed = ys[i]
        D = new
    # rows of each stacked y leaf: step i's rows of that leaf, step after step
    y_offsets = np.concatenate([[0], np.cumsum(out_sizes[n_carry:])]).astype(int)
    results = [D[o:o + n] for o, n in zip(np.concatenate([[0], np.cumsum(
        out_sizes[:n_carry])[:-1]]).astype(int), out_sizes[:n_carry])]
    for j in range(len(out_sizes) - n_carry):
        lo, hi = y_offsets[j], y_offsets[j + 1]
        results.append(sp.vstack([y[lo:hi] for y in ys]).tocsr() if length else
                       sp.csr_matrix((0, n_cols), dtype=bool))
    col_sizes = in_sizes[:n_consts + n_carry] + [length * n for n in x_sizes]
    cols = np.concatenate([[0], np.cumsum(col_sizes)]).astype(int)
    return [[r[:, cols[k]:cols[k + 1]].tocsr() for k in range(len(col_sizes))]
            for r in results]


scan_p.impl = scan_impl
scan_p.abstract_eval = scan_abstract
scan_p.jvp = scan_jvp
scan_p.partial_eval = scan_partial_eval
scan_p.transpose = scan_transpose
scan_p.batch = scan_batch
scan_p.taylor = scan_taylor
scan_p.deriv_class = ("coupled",)
scan_p.sparsity = scan_sparsity


# -- shared by the primitives below -------------------------------------------------------------
def _nonzero(tangents):
    return [type(t) is not Zero for t in tangents]


def _incoming(cts):
    """Which cotangents of a loop's or branch's results may hold a structural zero, as the
    backward pass says (``incoming_loose``; every one where a caller does not say)."""
    found = incoming_loose()
    return (True,) * len(cts) if found is None else tuple(found)


def _linear_flags(args, linear):
    return list(linear) if linear is not None else [is_undefined(a) for a in args]


def _pick(flags, seq):
    return [x for x, f in zip(seq, flags) if f]


def _merge(flags, if_true, if_false):
    a, b = iter(if_true), iter(if_false)
    return [next(a) if f else next(b) for f in flags]


def _zero_tangents(flags, outvals, avals):
    it = iter(outvals)
    return [next(it) if f else Zero(tangent_aval(a)) for f, a in zip(flags, avals)]


def _out_avals(graph):
    return [v.aval.strip_weak() for v in graph.outvars]


# -- checkpoint (remat) -------------------------------------------------------------------------
checkpoint_p = Primitive("checkpoint", multiple_results=True)


def checkpoint_impl(*args, body, linear=None):
    return list(_g().compiled(body)(*args))


def checkpoint_jvp(primals, tangents, *, body, linear=None):
    nz = _nonzero(tangents)
    jb, nz_out = _strict_or(lambda loose: _cached(body, ("jvp", tuple(nz), loose),
                                                  lambda: _g().jvp_graph(body, nz, loose=loose)),
                            body, len(body.invars), 0, tangents)
    outs = checkpoint_p.bind(*primals, *_pick(nz, tangents), body=jb)
    n = len(body.outvars)
    return outs[:n], _zero_tangents(nz_out, outs[n:], _out_avals(body))


def checkpoint_partial_eval(stage, args, params):
    """Known outputs now from the known part; the rest staged as the whole body, so the
    backward pass recomputes the residuals instead of storing them."""
    body = params["body"]
    unk = [stage.owns(a) for a in args]
    kb, out_unk = _cached(body, ("known", tuple(unk)), lambda: _g().known_part(body, unk))
    known = checkpoint_p.bind(*_pick([not u for u in unk], args), body=kb)
    staged = stage.stage(checkpoint_p, list(args), dict(body=body, linear=tuple(unk)))
    return _merge(out_unk, _pick(out_unk, staged), known)


def checkpoint_transpose(cts, *args, body, linear=None):
    lin = _linear_flags(args, linear)
    loose = _incoming(cts)
    ins = _pick([not x for x in lin], args) + [instantiate(c) for c in cts]
    if not any(isinstance(x, Tracer) for x in ins):     # eager: transpose it here and now
        got = _g().joint_transpose(body, lin, loose, ins)
    else:
        jt = _cached(body, ("joint_t", tuple(lin), loose),
                     lambda: _g().joint_transpose_graph(body, lin, loose))
        got = eval_graph(jt, ins)
    return _merge(lin, got, [None] * len(lin))


def checkpoint_batch(vals, dims, *, body, linear=None):
    size = _batch_size(vals, dims)
    flags = [d is not None for d in dims]
    bb, out_b = _cached(body, ("batch", size, tuple(flags)),
                        lambda: _g().batch_graph(body, flags, size))
    outs = checkpoint_p.bind(*[_to_axis(v, d, 0) for v, d in zip(vals, dims)], body=bb)
    return outs, [0 if f else None for f in out_b]


def checkpoint_taylor(primals, series, *, body, linear=None):
    order = len(next(s for s in series if s is not None))
    has = [s is not None for s in series]
    jg, out_h = _strict_or(lambda loose: _cached(body, ("jet", order, tuple(has), loose),
                                                 lambda: _g().jet_graph(body, has, order,
                                                                        loose=loose)),
                           body, len(body.invars), 0)
    coeffs = [instantiate(c) for s in series if s is not None for c in s]
    outs = checkpoint_p.bind(*primals, *coeffs, body=jg)
    n = len(body.outvars)
    it = iter(outs[n:])
    return outs[:n], [[next(it) for _ in range(order)] if h else None for h in out_h]


def _batch_size(vals, dims):
    return next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)


checkpoint_p.impl = checkpoint_impl
checkpoint_p.abstract_eval = lambda *avals, body, linear=None: _out_avals(body)
checkpoint_p.jvp = checkpoint_jvp
checkpoint_p.partial_eval = checkpoint_partial_eval
checkpoint_p.transpose = checkpoint_transpose
checkpoint_p.batch = checkpoint_batch
checkpoint_p.taylor = checkpoint_taylor
checkpoint_p.deriv_class = ("coupled",)


# -- cond / switch ------------------------------------------------------------------------------
cond_p = Primitive("cond", multiple_results=True)


def _branch_index(index, n):
    return min(max(int(index), 0), n - 1)


def cond_impl(index, *args, branches, linear=None):
    return list(_g().compiled(branches[_branch_index(index, len(branches))])(*args))


def _per_branch(branches, key, make):
    return [_cached(b, key, lambda b=b: make(b)) for b in branches]


def cond_jvp(primals, tangents, *, branches, linear=None):
    index, args = primals[0], primals[1:]
    nz = _nonzero(tangents[1:])
    G = _g()
    firsts = _per_branch(branches, ("jvp", tuple(nz)), lambda b: G.jvp_graph(b, nz))
    union = [any(f) for f in zip(*[o for _, o in firsts])]
    loose = (False,) * len(nz) if strict_products() else None
    jbs = _per_branch(branches, ("jvp", tuple(nz), tuple(union), loose),
                      lambda b: G.jvp_graph(b, nz, instantiate_out=union, loose=loose)[0])
    if loose is None:
        check_ambiguous_body(jbs, tangents[1:])
    outs = cond_p.bind(index, *args, *_pick(nz, tangents[1:]), branches=tuple(jbs))
    n = len(branches[0].outvars)
    return outs[:n], _zero_tangents(union, outs[n:], _out_avals(branches[0]))


def cond_partial_eval(stage, args, params):
    branches = params["branches"]
    index, ops = args[0], args[1:]
    if not isinstance(index, Tracer):       # the branch is known: trace it in place
        return eval_graph(branches[_branch_index(index, len(branches))], list(ops))
    G = _g()
    unk = [stage.owns(a) for a in ops]
    firsts = _per_branch(branches, ("pe", tuple(unk)),
                         lambda b: G.partial_eval_graph(b, unk)[2])
    union = [any(f) for f in zip(*firsts)]

    kbs = _per_branch(branches, ("known", tuple(unk), tuple(union)),
                      lambda b: G.known_part(b, unk, force_unknown=union)[0])
    known = cond_p.bind(index, *_pick([not u for u in unk], ops), branches=tuple(kbs))
    staged = stage.stage(cond_p, list(args), dict(branches=branches, linear=tuple(unk)))
    return _merge(union, _pick(union, staged), known)


def cond_transpose(cts, index, *args, branches, linear=None):
    lin = _linear_flags(args, linear)
    loose = _incoming(cts)
    jts = _per_branch(branches, ("joint_t", tuple(lin), loose),
                      lambda b: _g().joint_transpose_graph(b, lin, loose))
    got = cond_p.bind(index, *_pick([not x for x in lin], args),
                      *[instantiate(c) for c in cts], branches=tuple(jts))
    return [None] + _merge(lin, got, [None] * len(lin))


def cond_batch(vals, dims, *, branches, linear=None):
    size = _batch_size(vals, dims)
    G = _g()
    flags = [d is not None for d in dims[1:]]
    args = [_to_axis(v, d, 0) for v, d in zip(vals[1:], dims[1:])]
    if dims[0] is None:
        firsts = _per_branch(branches, ("batch", size, tuple(flags)),
                             lambda b: G.batch_graph(b, flags, size))
        union = [any(f) for f in zip(*[o for _, o in firsts])]
        bbs = _per_branch(branches, ("batch", size, tuple(flags), tuple(union)),
                          lambda b: G.batch_graph(b, flags, size, force_out=union)[0])
        return cond_p.bind(vals[0], *args, branches=tuple(bbs)), \
            [0 if u else None for u in union]
    # a batched index: every branch runs on the whole batch, and each example takes its own
    idx = np.clip(_to_axis(vals[0], dims[0], 0), 0, len(branches) - 1)
    results = [eval_graph(_cached(b, ("batch", size, tuple(flags), "all"),
                                  lambda b=b: G.batch_graph(b, flags, size, True)[0]), args)
               for b in branches]
    outs = []
    for k, first in enumerate(results[0]):
        out = first
        for j in range(1, len(branches)):
            val = results[j][k]
            mask = np.reshape(idx == j, (size,) + (1,) * (np.ndim(val) - 1))
            out = np.where(mask, val, out)
        outs.append(out)
    return outs, [0] * len(outs)


def cond_taylor(primals, series, *, branches, linear=None):
    order = len(next(s for s in series if s is not None))
    has = [s is not None for s in series[1:]]
    G = _g()
    coeffs = [instantiate(c) for s in series[1:] if s is not None for c in s]
    n = len(branches[0].outvars)
    firsts = _per_branch(branches, ("jet", order, tuple(has)),
                         lambda b: G.jet_graph(b, has, order))
    union = [any(f) for f in zip(*[o for _, o in firsts])]
    loose = (False,) * len(has) if strict_products() else None
    jbs = _per_branch(branches, ("jet", order, tuple(has), tuple(union), loose),
                      lambda b: G.jet_graph(b, has, order, force_out=union, loose=loose)[0])
    outs = cond_p.bind(primals[0], *primals[1:], *coeffs, branches=tuple(jbs))
    it = iter(outs[n:])
    return outs[:n], [[next(it) for _ in range(order)] if u else None for u in union]


cond_p.impl = cond_impl
cond_p.abstract_eval = lambda index, *avals, branches, linear=None: _out_avals(branches[0])
cond_p.jvp = cond_jvp
cond_p.partial_eval = cond_partial_eval
cond_p.transpose = cond_transpose
cond_p.batch = cond_batch
cond_p.taylor = cond_taylor
cond_p.deriv_class = ("coupled",)


# -- while_loop ---------------------------------------------------------------------------------
while_p = Primitive("while", multiple_results=True)
# inputs: cond consts, body consts, carry; params: cond (cond consts + carry -> [pred]),
# body (body consts + carry -> carry), n_cc, n_bc


def while_impl(*args, cond, body, n_cc, n_bc, linear=None):
    cc, bc, carry = _split(args, n_cc, n_bc)
    fc, fb = _g().compiled(cond), _g().compiled(body)
    while fc(*cc, *carry)[0]:
        carry = fb(*bc, *carry)
    return list(carry)


def while_jvp(primals, tangents, *, cond, body, n_cc, n_bc, linear=None):
    G = _g()
    cc, bc, carry = _split(primals, n_cc, n_bc)
    _, tbc, tk = _split(tangents, n_cc, n_bc)
    nz_b, nz_k = _nonzero(tbc), _nonzero(tk)

    def jvp_of(flags_k, loose=None):
        return _cached(body, ("jvp", tuple(nz_b + flags_k), loose), lambda: G.jvp_graph(
            body, nz_b + flags_k, instantiate_out=flags_k, loose=loose))
    nz_k = _carry_fixed_point(lambda f: jvp_of(f)[1], nz_k)
    jb = _strict_or(lambda loose: jvp_of(nz_k, loose), body, n_bc, len(carry), tangents)[0]
    nk = len(carry)
    p_b, p_k = _split(jb.invars[:n_bc + nk], n_bc)
    t_b, t_k = _split(jb.invars[n_bc + nk:], sum(nz_b))
    new_body = _permute(jb, p_b + t_b + p_k + t_k, jb.outvars)
    t_avals = [tangent_aval(v.aval) for v, f in zip(body.invars[n_bc:], nz_k) if f]
    new_cond = with_unused_inputs(cond, t_avals, len(cond.invars))
    tk_in = [instantiate(t) for t, f in zip(tk, nz_k) if f]
    outs = while_p.bind(*cc, *bc, *_pick(nz_b, tbc), *carry, *tk_in, cond=new_cond,
                        body=new_body, n_cc=n_cc, n_bc=n_bc + sum(nz_b))
    return outs[:nk], _zero_tangents(nz_k, outs[nk:], _out_avals(body))


def while_partial_eval(stage, args, params):
    """Reverse mode needs the trip count: with the known inputs at hand, run the known part of
    the loop to count the steps, then treat the loop as a scan of that length."""
    cond, body, n_cc, n_bc = params["cond"], params["body"], params["n_cc"], params["n_bc"]
    cc, bc, carry = _split(args, n_cc, n_bc)
    if any(stage.owns(a) for a in cc):
        raise ConcretizationError("while_loop: the loop condition depends on a value being "
                                  "differentiated")
    unk = [stage.owns(a) for a in bc + carry]
    nk = len(carry)
    u_b, u_k = unk[:n_bc], unk[n_bc:]
    u_k = _carry_fixed_point(lambda f: _loop_split(body, u_b, f, [])[2], u_k)
    known, _, _, n_res = _loop_split(body, u_b, u_k, [])    # scan_partial_eval reuses it
    kb = _g().first_outputs(known, len(known.outvars) - n_res)
    # the known values, also beneath an outer forward derivative (hessian = jacfwd(jacrev)),
    # whose primal values run the same loop
    values = [None if stage.owns(a) else _primal_value(a) for a in args]
    if any(v is None for v, a in zip(values, args) if not stage.owns(a)):
        return _while_partial_eval_joint(stage, args, params, u_b, u_k, kb)
    fc, fb = _g().compiled(cond), _g().compiled(kb)
    v_c, v_b, v_k = _split(values, n_cc, n_bc)
    k_carry = [a for a, u in zip(v_k, u_k) if not u]
    zeros = [np.zeros(v.aval.shape, v.aval.dtype) for v in body.invars[n_bc:]]
    count = 0
    while fc(*v_c, *_merge(u_k, _pick(u_k, zeros), k_carry))[0]:
        k_carry = list(fb(*[a for a, u in zip(v_b, u_b) if not u], *k_carry))
        count += 1
    return scan_partial_eval(stage, list(bc) + list(carry), dict(
        body=body, n_consts=n_bc, n_carry=nk, length=count, reverse=False, checkpoints=None))


def _primal_value(x):
    """The value beneath ``x``'s forward-mode tracers, or None where it is not known here."""
    while isinstance(x, PrimalTracer):
        x = x.primal
    return None if isinstance(x, Tracer) else x


def _while_partial_eval_joint(stage, args, params, u_b, u_k, kb):
    """Where the trip count is not known (under jit): the known outputs from a loop of the
    known part; the unknown ones from a staged loop of the whole body, the known inputs as its
    constants. Forward mode evaluates it (jacfwd, and jvp where it tells structural zeros
    apart); reverse mode cannot (``while_transpose``)."""
    cond, n_cc, n_bc = params["cond"], params["n_cc"], params["n_bc"]
    cc, bc, carry = _split(args, n_cc, n_bc)
    zeros = {v: np.zeros(v.aval.shape, v.aval.dtype)
             for v, u in zip(cond.invars[n_cc:], u_k) if u}
    k_cond = _g().substitute(cond, zeros)       # the condition reads known carries only
    known = while_p.bind(*cc, *[a for a, u in zip(bc, u_b) if not u],
                         *[a for a, u in zip(carry, u_k) if not u], cond=k_cond, body=kb,
                         n_cc=n_cc, n_bc=n_bc - sum(u_b))
    staged = stage.stage(while_p, list(args), dict(params, linear=tuple(
        [False] * n_cc + list(u_b) + list(u_k))))
    return _merge(u_k, _pick(u_k, staged), known)


def while_transpose(cts, *args, cond, body, n_cc, n_bc, linear=None):
    raise ConcretizationError(
        "reverse-mode differentiation of while_loop needs its trip count, which is not "
        "known here (under jit or another transformation): use chainrule.scan or "
        "fori_loop with a fixed number of steps, or differentiate outside jit")


def while_batch(vals, dims, *, cond, body, n_cc, n_bc, linear=None):
    G = _g()
    size = _batch_size(vals, dims)
    flags = [d is not None for d in dims]
    f_c, f_b, f_k = _split(flags, n_cc, n_bc)
    nk = len(f_k)
    pred_batched = G.batch_graph(cond, f_c + f_k, size)[1][0]
    if pred_batched:
        f_k = [True] * nk
    f_k = _carry_fixed_point(lambda f: G.batch_graph(body, f_b + f, size, force_out=f)[1], f_k)
    if G.batch_graph(cond, f_c + f_k, size)[1][0]:
        f_k = [True] * nk
        pred_batched = True
    bcond = G.batch_graph(cond, f_c + f_k, size)[0]
    bbody = G.batch_graph(body, f_b + f_k, size, force_out=f_k)[0]
    cc, bc, carry = _split(vals, n_cc, n_bc)
    d_c, d_b, d_k = _split(dims, n_cc, n_bc)
    cc = [_to_axis(v, d, 0) for v, d in zip(cc, d_c)]
    bc = [_to_axis(v, d, 0) for v, d in zip(bc, d_b)]
    carry = [_to_axis(v, d, 0) if d is not None else (_broadcast_batch(v, size) if f else v)
             for v, d, f in zip(carry, d_k, f_k)]
    if pred_batched:
        n_c = len(cc)

        def any_cond(ins):
            return [np.any(eval_graph(bcond, ins)[0])]

        def masked_body(ins):
            c, b, k = _split(ins, n_c, len(bc))
            pred = eval_graph(bcond, c + k)[0]
            new = eval_graph(bbody, b + k)
            return [np.where(np.reshape(pred, (size,) + (1,) * (np.ndim(n) - 1)), n, o)
                    for n, o in zip(new, k)]
        avals = [get_aval(v).strip_weak() for v in cc + carry]
        cond2 = G.close(any_cond, avals)[0]
        body2 = G.close(masked_body, [get_aval(v).strip_weak() for v in cc + bc + carry])[0]
        outs = while_p.bind(*cc, *cc, *bc, *carry, cond=cond2, body=body2, n_cc=n_c,
                            n_bc=n_c + len(bc))
    else:
        outs = while_p.bind(*cc, *bc, *carry, cond=bcond, body=bbody, n_cc=n_cc, n_bc=n_bc)
    return outs, [0 if f else None for f in f_k]


def while_taylor(primals, series, *, cond, body, n_cc, n_bc, linear=None):
    G = _g()
    order = len(next(s for s in series if s is not None))
    cc, bc, carry = _split(primals, n_cc, n_bc)
    _, s_b, s_k = _split(series, n_cc, n_bc)
    h_b = [s is not None for s in s_b]
    h_k = [s is not None for s in s_k]
    h_k = _carry_fixed_point(lambda f: G.jet_graph(body, h_b + f, order, force_out=f)[1], h_k)
    jb = _strict_or(lambda loose: _cached(body, ("jet", order, tuple(h_b + h_k), loose),
                                          lambda: G.jet_graph(body, h_b + h_k, order,
                                                              force_out=h_k, loose=loose)),
                    body, n_bc, len(carry))[0]
    nk = len(carry)
    p_b, p_k = _split(jb.invars[:n_bc + nk], n_bc)
    q_b, q_k = _split(jb.invars[n_bc + nk:], order * sum(h_b))
    new_body = _permute(jb, p_b + q_b + p_k + q_k, jb.outvars)
    c_avals = [tangent_aval(v.aval) for v, f in zip(body.invars[n_bc:], h_k) if f
               for _ in range(order)]
    new_cond = with_unused_inputs(cond, c_avals, len(cond.invars))

    outs = while_p.bind(*cc, *bc, *_coefficients(s_b, h_b, bc, order), *carry,
                        *_coefficients(s_k, h_k, carry, order),
                        cond=new_cond, body=new_body, n_cc=n_cc, n_bc=n_bc + order * sum(h_b))
    it = iter(outs[nk:])
    return outs[:nk], [[next(it) for _ in range(order)] if f else None for f in h_k]


while_p.impl = while_impl
while_p.abstract_eval = lambda *avals, cond, body, n_cc, n_bc, linear=None: _out_avals(body)
while_p.jvp = while_jvp
while_p.partial_eval = while_partial_eval
while_p.transpose = while_transpose
while_p.batch = while_batch
while_p.taylor = while_taylor
while_p.deriv_class = ("coupled",)
