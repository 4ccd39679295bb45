"""Binomial checkpointing (Revolve, Griewank and Walther) for the backward pass of long scans.

Reversing T steps needs, for step t, the residuals of step t, which need the carry before it.
Storing every carry costs T carries of memory; storing none costs T^2 / 2 recomputed steps. With
``s`` carries held at once (the initial one included), the binomial schedule reverses
``beta(s, r) = C(s + r, s)`` steps with each step recomputed at most ``r`` times, and is optimal:
it takes

    t(l, s) = r l - C(s + r, s + 1),    r the least integer with C(s + r, s) >= l,

forward steps (``advances``) for ``l`` steps, besides the one evaluation per step that records
its residuals (``tapes``). The schedule: from a held carry at step ``a`` with ``l`` steps to
reverse, advance ``j`` steps, hold that carry, reverse the last ``l - j`` steps with one carry
fewer, then the first ``j`` with the same number; ``j`` minimizes ``j + t(l - j, s - 1) +
t(j, s)`` (a convex function of ``j``, found by bisection).
"""
import functools

import numpy as np

from ..core import (Graph, Tracer, Zero, dispatch, instantiate, reset_incoming_loose,
                    set_incoming_loose, tangent_aval)


# (advances, tapes) of the last checkpointed backward pass run eagerly: for tests and for users
# who want to see what the schedule cost
last_counts = None


def _g():
    return dispatch.hooks["graphs"]


@functools.lru_cache(maxsize=4096)
def cost(l, s):
    """Advances the binomial schedule takes to reverse ``l`` steps holding ``s`` carries."""
    if l <= 1:
        return 0
    if s <= 1:
        return l * (l - 1) // 2
    if s >= l:
        return l - 1
    r, binom = 1, s + 1                 # binom = C(s + r, s)
    while binom < l:
        r += 1
        binom = binom * (s + r) // r
    return r * l - binom * r // (s + 1)     # C(s + r, s + 1) = C(s + r, s) r / (s + 1)


def split(l, s):
    """How many steps to advance before holding the next carry (``l >= 2``)."""
    if s <= 1:
        return l - 1
    if s >= l:
        return 1

    def total(j):
        return j + cost(l - j, s - 1) + cost(j, s)
    lo, hi = 1, l - 1                   # the first j with total(j + 1) >= total(j)
    while lo < hi:
        mid = (lo + hi) // 2
        if total(mid + 1) >= total(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def schedule(length, s):
    """The actions of the schedule as ``("advance", step, n)`` and ``("tape", step)`` (tests
    and documentation; ``run`` follows the same order)."""
    out = []

    def advance(c, start, n):
        out.append(("advance", start, n))
        return None
    _reverse(None, length, s, advance, lambda c, t: out.append(("tape", t)))
    return out


def _reverse(c0, length, s, advance, tape):
    """Drive the schedule with an explicit stack: ``advance(carry, step, n)`` returns the carry
    ``n`` steps later; ``tape(carry, step)`` reverses one step."""
    stack = [(c0, 0, length, s)]
    while stack:
        c, start, l, held = stack.pop()
        if l == 0:
            continue
        if l == 1:
            tape(c, start)
            continue
        j = split(l, held)
        c2 = advance(c, start, j)
        stack.append((c, start, j, held))
        stack.append((c2, start + j, l - j, held - 1))


def transpose(cts, args, lin, body, n_consts, n_carry, length, reverse, s):
    """The transpose rule of a scan that holds its joint (primal and tangent) body and is linear
    in the inputs marked ``lin``, reversed with ``s`` held carries."""
    G = _g()
    n_ys = len(body.outvars) - n_carry
    lin_k = list(lin[n_consts:n_consts + n_carry])
    key = ("revolve", tuple(lin))
    if key not in body.cache:
        known, unknown, out_unk, n_res = G.partial_eval_graph(
            body, list(lin), force_unknown=lin_k + [False] * n_ys)
        n_known_k = n_carry - sum(lin_k)
        adv = G.first_outputs(known, n_known_k)
        body.cache[key] = (known, adv, out_unk, n_res, unknown)
    known, adv, out_unk, n_res, unknown = body.cache[key]
    # the NaN-safe flags of the linear part's cotangents (as loops._transposed_body)
    from .loops import _incoming, _transposed_body
    loose_u = tuple(f for f, u in zip(_incoming(cts), out_unk) if u)
    known_args = [a for a, l in zip(args, lin) if not l]
    lc = lin[:n_consts]
    lx = lin[n_consts + n_carry:]
    n_kc, n_kk = n_consts - sum(lc), n_carry - sum(lin_k)
    kc, kk, kx = known_args[:n_kc], known_args[n_kc:n_kc + n_kk], known_args[n_kc + n_kk:]
    cts_u = [instantiate(c) for c, u in zip(cts, out_unk) if u]
    n_uk = sum(lin_k)
    ct_k, ct_y = cts_u[:n_uk], cts_u[n_uk:]
    if any(isinstance(v, Tracer) for v in known_args + cts_u):
        # under jit or a further derivative the schedule would unroll: store the residuals
        token = set_incoming_loose(loose_u)
        try:
            return _stored(cts, args, lin, known, unknown, out_unk, n_res, n_consts, n_carry,
                           length, reverse, n_kc, n_kk)
        finally:
            reset_incoming_loose(token)
    # the linear part of a step: residuals, then the linear consts, carries and xs
    tr = _transposed_body(G, unknown, [False] * n_res + [True] * (len(unknown.invars) - n_res),
                          n_res + sum(lin[:n_consts]), n_uk, loose_u)[0]
    run = _g().compiled
    f_known, f_adv, f_tr = run(known), run(adv), run(tr)
    u_c_avals = [tangent_aval(v.aval) for v, l in zip(body.invars[:n_consts], lc) if l]
    acc = [np.zeros(a.shape, a.dtype) for a in u_c_avals]
    u_x_avals = [v.aval for v, l in zip(body.invars[n_consts + n_carry:], lx) if l]
    ct_xs = [[None] * length for _ in u_x_avals]
    state = {"ct": ct_k, "acc": acc, "advances": 0, "tapes": 0}

    def elem(t):
        return length - 1 - t if reverse else t

    def advance(c, start, n):
        for t in range(start, start + n):
            i = elem(t)
            c = list(f_adv(*kc, *c, *[x[i] for x in kx]))
        state["advances"] += n
        return c

    def tape(c, t):
        i = elem(t)
        outs = f_known(*kc, *c, *[x[i] for x in kx])
        res = list(outs[len(outs) - n_res:]) if n_res else []
        got = f_tr(*res, *state["ct"], *[y[i] for y in ct_y])
        n_uc = len(acc)
        d_c, d_k, d_x = got[:n_uc], got[n_uc:n_uc + n_uk], got[n_uc + n_uk:]
        state["acc"] = [a + d for a, d in zip(state["acc"], d_c)]
        state["ct"] = list(d_k)
        for store, d in zip(ct_xs, d_x):
            store[i] = d
        state["tapes"] += 1
    _reverse(list(kk), length, s, advance, tape)
    global last_counts
    last_counts = (state["advances"], state["tapes"])
    ic, ik = iter(state["acc"]), iter(state["ct"])
    ix = iter([np.stack(col) if length else np.zeros((0,) + a.shape, a.dtype)
               for col, a in zip(ct_xs, u_x_avals)])
    res = [next(ic) if l else None for l in lc]
    res += [next(ik) if l else None for l in lin_k]
    res += [next(ix) if l else None for l in lx]
    return [None if type(r) is Zero else r for r in res]


def _stored(cts, args, lin, known, unknown, out_unk, n_res, n_consts, n_carry, length, reverse,
            n_kc, n_kk):
    """The transpose without checkpoints: a scan of the known part stacking every step's
    residuals, then the reverse scan of the linear part (``loops.scan_transpose``)."""
    from .loops import scan_p, scan_transpose
    known_args = [a for a, l in zip(args, lin) if not l]
    outs = scan_p.bind(*known_args, body=known, n_consts=n_kc, n_carry=n_kk, length=length,
                       reverse=reverse)
    stacked = outs[len(outs) - n_res:] if n_res else []
    lc, lk, lx = lin[:n_consts], lin[n_consts:n_consts + n_carry], lin[n_consts + n_carry:]
    uc = [a for a, l in zip(args[:n_consts], lc) if l]
    uk = [a for a, l in zip(args[n_consts:n_consts + n_carry], lk) if l]
    ux = [a for a, l in zip(args[n_consts + n_carry:], lx) if l]
    r, (vc, vk, vx) = unknown.invars[:n_res], _cut(unknown.invars[n_res:], len(uc), len(uk))
    ubody = Graph(vc + vk + r + vx, unknown.eqns, unknown.outvars)
    flags = [True] * (len(uc) + len(uk)) + [False] * n_res + [True] * len(ux)
    cts_u = [c for c, u in zip(cts, out_unk) if u]
    got = scan_transpose(cts_u, *uc, *uk, *stacked, *ux, body=ubody, n_consts=len(uc),
                         n_carry=len(uk), length=length, reverse=reverse, linear=tuple(flags))
    gc, gk, gx = got[:len(uc)], got[len(uc):len(uc) + len(uk)], got[len(uc) + len(uk) + n_res:]
    ic, ik, ix = iter(gc), iter(gk), iter(gx)
    return ([next(ic) if l else None for l in lc] + [next(ik) if l else None for l in lk]
            + [next(ix) if l else None for l in lx])


def _cut(seq, a, b):
    return seq[:a], seq[a:a + b], seq[a + b:]
