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

from ..core import Graph, Primitive, ShapedArray, Tracer, Zero, dispatch, eval_graph, instantiate, \
    tangent_aval
from ..core.avals import get_aval
from ..core.errors import InvalidArgumentError
from . import revolve


def _g():
    return dispatch.hooks["graphs"]


def _split(seq, *sizes):
    out, i = [], 0
    for n in sizes:
        out.append(list(seq[i:i + n]))
        i += n
    out.append(list(seq[i:]))
    return out


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


def scan_jvp(primals, tangents, *, body, n_consts, n_carry, length, reverse, linear=None,
             checkpoints=None):
    G = _g()
    n_ys = len(body.outvars) - n_carry
    nz = [type(t) is not Zero for t in tangents]
    nz_c, nz_k, nz_x = _split(nz, n_consts, n_carry)

    def jvp_of(flags_k):
        return _cached(body, ("jvp", tuple(nz_c + flags_k + nz_x)), lambda: G.jvp_graph(
            body, nz_c + flags_k + nz_x, instantiate_out=flags_k + [False] * n_ys))
    nz_k = _carry_fixed_point(lambda f: jvp_of(f)[1][:n_carry], nz_k)
    jbody, nz_out = jvp_of(nz_k)
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


def scan_partial_eval(stage, args, params):
    """Linearize splits a scan: the known part runs now and returns, besides its outputs, the
    residuals of every step (stacked, or taken from the consts); the unknown part, linear in
    the tangents, is staged as a scan over those residuals. With checkpoints the staged scan
    holds the whole joint body instead and recomputes the residuals (``scan_transpose``)."""
    G = _g()
    body, n_consts, n_carry = params["body"], params["n_consts"], params["n_carry"]
    n_ys = len(body.outvars) - n_carry
    unk = [stage.owns(x) for x in args]
    u_c, u_k, u_x = _split(unk, n_consts, n_carry)

    def split_of(flags_k):
        return _cached(body, ("pe", tuple(u_c + flags_k + u_x)), lambda: G.partial_eval_graph(
            body, u_c + flags_k + u_x, force_unknown=flags_k + [False] * n_ys))
    u_k = _carry_fixed_point(lambda f: split_of(f)[2][:n_carry], u_k)
    known_g, unknown_g, out_unk, n_res = split_of(u_k)
    unk = u_c + u_k + u_x
    known_args = [a for a, u in zip(args, unk) if not u]
    n_kc, n_kk = n_consts - sum(u_c), n_carry - sum(u_k)
    n_known_out = len(known_g.outvars) - n_res
    length, reverse = params["length"], params["reverse"]
    if params.get("checkpoints") is not None:
        return _partial_eval_joint(stage, args, params, unk, known_g, n_known_out, out_unk)
    # residuals that are consts or xs of the loop are passed as they are; the others are
    # stacked by the known scan
    res_vars = known_g.outvars[n_known_out:]
    const_in = {v: i for i, v in enumerate(known_g.invars[:n_kc])}
    xs_in = {v: i for i, v in enumerate(known_g.invars[n_kc + n_kk:])}
    is_const = [r in const_in for r in res_vars]
    stacked_outs = [r for r, c in zip(res_vars, is_const) if not c and r not in xs_in]
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
    known_outs_vars = known_g.outvars[:n_known_out]
    known_scan = Graph(known_g.invars, _g().dce(known_g.eqns, known_outs_vars), known_outs_vars)
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
    lin = list(linear) if linear is not None else [type(a) is not Zero and
                                                    type(a).__name__ == "UndefPrimal"
                                                    for a in args]
    if checkpoints is not None:
        return revolve.transpose(cts, args, lin, body, n_consts, n_carry, length, reverse,
                                 checkpoints)
    l_c, l_k, l_x = _split(lin, n_consts, n_carry)
    if not all(l_k):
        raise InvalidArgumentError("scan transpose: a carry that is not linear")
    a_c, a_k, a_x = _split(args, n_consts, n_carry)
    tb = _cached(body, ("transpose", tuple(lin)), lambda: G.transpose_graph(body, lin))
    r_c = [a for a, l in zip(a_c, l_c) if not l]
    r_x = [a for a, l in zip(a_x, l_x) if not l]
    n_lc, n_lx = sum(l_c), sum(l_x)
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
    tgraph = _cached(body, ("transpose_scan", tuple(lin)), lambda: G.close(tbody, avals))
    tgraph, consts = tgraph
    outs = scan_p.bind(*consts, *r_c, *ct_k, *acc0, *r_x, *ct_y, body=tgraph,
                       n_consts=len(consts) + n_rc, n_carry=n_carry + n_lc, length=length,
                       reverse=not reverse)
    d_k, d_c, d_x = _split(outs, n_carry, n_lc)
    ic, ix = iter(d_c), iter(d_x)
    res = [next(ic) if l else None for l in l_c] + d_k + [next(ix) if l else None for l in l_x]
    return res


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

    def jet_of(flags_k):
        return _cached(body, ("jet", order, tuple(h_c + flags_k + h_x)), lambda: G.jet_graph(
            body, h_c + flags_k + h_x, order, force_out=flags_k + [False] * n_ys))
    h_k = _carry_fixed_point(lambda f: jet_of(f)[1][:n_carry], h_k)
    jbody, out_h = jet_of(h_k)
    n_in = len(body.invars)
    p_c, p_k, p_x = _split(jbody.invars[:n_in], n_consts, n_carry)
    s_c, s_k, s_x = _split(jbody.invars[n_in:], order * sum(h_c), order * sum(h_k))
    n_out = len(body.outvars)
    o_k, o_y = _split(jbody.outvars[:n_out], n_carry)
    so_k, so_y = _split(jbody.outvars[n_out:], order * sum(h_k))
    new = _permute(jbody, p_c + s_c + p_k + s_k + p_x + s_x, o_k + so_k + o_y + so_y)

    def coeffs(ss, flags, xs):
        return [instantiate(c) for s, f, x in zip(ss, flags, xs) if f
                for c in (s if s is not None else [Zero(tangent_aval(get_aval(x)))] * order)]
    c, k, x = _split(primals, n_consts, n_carry)
    sc, sk, sx = _split(series, n_consts, n_carry)
    cc, ck, cx = coeffs(sc, h_c, c), coeffs(sk, h_k, k), coeffs(sx, h_x, x)
    outs = scan_p.bind(*c, *cc, *k, *ck, *x, *cx, body=new, n_consts=len(c) + len(cc),
                       n_carry=len(k) + len(ck), length=length, reverse=reverse)
    ok, sok, oy, soy = _split(outs, n_carry, len(ck), n_ys)
    ik, iy = iter(sok), iter(soy)
    out_series = [[next(ik) for _ in range(order)] if f else None for f in h_k]
    out_series += [[next(iy) for _ in range(order)] if f else None for f in out_h[n_carry:]]
    return ok + oy, out_series


scan_p.impl = scan_impl
scan_p.abstract_eval = scan_abstract
scan_p.jvp = scan_jvp
scan_p.partial_eval = scan_partial_eval
scan_p.transpose = scan_transpose
scan_p.batch = scan_batch
scan_p.taylor = scan_taylor
scan_p.deriv_class = ("coupled",)
