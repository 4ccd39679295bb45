"""User rules: primitives that hold a closed graph of a user's function and call the user's
derivative rules (custom_jvp, custom_vjp, linear_solve), and the callback to code chainrule
cannot trace (a SciPy solver).

    custom_jvp_call(*consts, *xs; graph, jvp, n_consts, name)        -> outs (a list)
        graph: consts + xs -> outs, closed; jvp(xs, x_dots) -> (outs, out_dots), flat lists
    custom_vjp_call(*consts, *xs; graph, fwd, jvp, n_consts, name)   -> outs
        fwd(xs) -> (outs, residuals, bwd); bwd(residuals, cts) -> one cotangent (or None) per x;
        jvp: None, or an optional JVP rule for forward mode, as custom_jvp's
    custom_vjp_lin(*residuals, *xs, *x_dots; bwd, jvp, n_res, n_primals, out_avals, name)
        -> out_dots, linear in the x_dots; its transpose is bwd; evaluated (forward mode) only
        by the JVP rule, if any (then n_primals = len(xs), else 0 and xs are absent)
    linear_solve(*consts, b; graph, solve, transpose_solve, symmetric, n_consts, rtol)
        x with matvec(x) = b, graph: consts + x -> matvec(x) (linear in x); linear in b
    pure_callback(*xs; fun, out_avals, name)                         -> outs; no derivative

``consts`` are the values of enclosing transformations the user's function closes over
(``graphs.close`` hoists them), so every interpreter sees them as arguments. A rule that gets a
tangent for one of them raises: the user's rule says nothing about values it was not given.
Reverse mode of custom_jvp_call is derived (linearize the user's JVP, transpose it);
custom_vjp_call's JVP puts the user's bwd into the linear graph as custom_vjp_lin's transpose.
Batching: the loop over examples (BatchInterpreter's fallback). Taylor: nested JVPs of the rule
(taylor_from_jvp) where there is one.
"""
import numpy as np

from ..core import Primitive, Zero, bind, dispatch, eval_graph, get_aval, instantiate, tangent_aval
from ..core.errors import ConvergenceError, CustomRuleError, CustomVJPForwardModeError


def _graphs():
    return dispatch.hooks["graphs"]


def _graph_impl(*args, graph, **params):
    return eval_graph(graph, list(args))


def _graph_avals(*avals, graph, **params):
    return [v.aval for v in graph.outvars]


def _from_jvp_taylor(prim):
    def rule(primals, series, **params):
        return dispatch.hooks["taylor_from_jvp"](prim)(primals, series, **params)
    rule.__name__ = f"{prim.name}_taylor"
    return rule


def _no_closure_tangents(tangents, n_consts, name):
    if any(type(t) is not Zero for t in tangents[:n_consts]):
        raise CustomRuleError(
            f"{name}: the function is differentiated with respect to a value it closes over "
            "(or one passed through nondiff_argnums); its custom rule covers only its "
            "arguments: pass that value as an argument")


# -- custom_jvp -------------------------------------------------------------------------------
custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.impl = _graph_impl
custom_jvp_call_p.abstract_eval = _graph_avals


def custom_jvp_call_jvp(primals, tangents, *, graph, jvp, n_consts, name):
    _no_closure_tangents(tangents, n_consts, name)
    x_dots = [instantiate(t) for t in tangents[n_consts:]]
    return jvp(list(primals[n_consts:]), x_dots)


custom_jvp_call_p.jvp = custom_jvp_call_jvp
custom_jvp_call_p.taylor = _from_jvp_taylor(custom_jvp_call_p)
custom_jvp_call_p.deriv_class = ("nonlinear",)


# -- custom_vjp -------------------------------------------------------------------------------
custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.impl = _graph_impl
custom_vjp_call_p.abstract_eval = _graph_avals


def _forward_mode_error(name):
    return CustomVJPForwardModeError(
        f"{name} is a custom_vjp function: it has a reverse-mode rule only, so forward mode "
        "(jvp, jacfwd, hessian's outer sweep over it, Taylor mode) cannot run through it; use "
        "grad, vjp or jacrev (jacobian(mode='rev')), or give it a JVP rule with custom_jvp")


def custom_vjp_call_jvp(primals, tangents, *, graph, fwd, jvp, n_consts, name):
    _no_closure_tangents(tangents, n_consts, name)
    xs = list(primals[n_consts:])
    outs, res, bwd = fwd(xs)
    x_dots = [instantiate(t) for t in tangents[n_consts:]]
    out_avals = tuple(tangent_aval(get_aval(o)).strip_weak() for o in outs)
    keep = xs if jvp is not None else []     # the primals, for forward mode by the JVP rule
    out_dots = bind(custom_vjp_lin_p, *res, *keep, *x_dots, bwd=bwd, jvp=jvp, n_res=len(res),
                    n_primals=len(keep), out_avals=out_avals, name=name)
    return outs, out_dots


def custom_vjp_call_taylor(primals, series, *, name, jvp, **params):
    if jvp is None:
        raise _forward_mode_error(name)
    return dispatch.hooks["taylor_from_jvp"](custom_vjp_call_p)(primals, series, name=name,
                                                                jvp=jvp, **params)


custom_vjp_call_p.jvp = custom_vjp_call_jvp
custom_vjp_call_p.taylor = custom_vjp_call_taylor
custom_vjp_call_p.deriv_class = ("nonlinear",)

# custom_vjp_lin(*residuals, *primals, *x_dots): the primals are there only when a JVP rule was
# given (forward mode then evaluates it); reverse mode never evaluates it, it transposes it
custom_vjp_lin_p = Primitive("custom_vjp_lin", multiple_results=True, linear_in=("tangents",))


def custom_vjp_lin_impl(*args, jvp, n_res, n_primals, name, **params):
    if jvp is None:
        raise _forward_mode_error(name)
    return jvp(list(args[n_res:n_res + n_primals]), list(args[n_res + n_primals:]))


def custom_vjp_lin_jvp(primals, tangents, *, jvp, n_res, n_primals, name, **params):
    """Forward mode over forward mode: the JVP of ``(primals, x_dots) -> jvp(...)``, by
    staging the user's JVP rule and differentiating its graph."""
    if jvp is None:
        raise _forward_mode_error(name)
    args, dots = list(primals[n_res:]), list(tangents[n_res:])
    G = _graphs()
    graph, consts = G.close(lambda ins: jvp(ins[:n_primals], ins[n_primals:]),
                            [get_aval(a).strip_weak() for a in args])
    nonzeros = [False] * len(consts) + [type(t) is not Zero for t in dots]
    jg, out_nz = G.jvp_graph(graph, nonzeros, True)
    res = eval_graph(jg, list(consts) + args + [t for t in dots if type(t) is not Zero])
    n = len(graph.outvars)
    return res[:n], res[n:]


def custom_vjp_lin_transpose(cts, *args, bwd, n_res, n_primals, **params):
    res = list(args[:n_res])
    cts = [instantiate(c) for c in cts]
    return [None] * (n_res + n_primals) + list(bwd(res, cts))


custom_vjp_lin_p.impl = custom_vjp_lin_impl
custom_vjp_lin_p.abstract_eval = lambda *avals, out_avals, **params: list(out_avals)
custom_vjp_lin_p.jvp = custom_vjp_lin_jvp
custom_vjp_lin_p.transpose = custom_vjp_lin_transpose
custom_vjp_lin_p.taylor = _from_jvp_taylor(custom_vjp_lin_p)
custom_vjp_lin_p.deriv_class = ("nonlinear",)


# -- pure callbacks ---------------------------------------------------------------------------
pure_callback_p = Primitive("pure_callback", multiple_results=True)


def pure_callback_impl(*args, fun, out_avals, name):
    outs = fun(*args)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    if len(outs) != len(out_avals):
        raise CustomRuleError(f"{name}: the callback returned {len(outs)} results, "
                              f"declared {len(out_avals)}")
    res = []
    for o, a in zip(outs, out_avals):
        o = np.asarray(o)
        if o.shape != a.shape:
            raise CustomRuleError(f"{name}: the callback returned shape {o.shape}, declared "
                                  f"{a.shape}")
        res.append(o.astype(a.dtype, copy=False))
    return res


def pure_callback_jvp(primals, tangents, *, name, **params):
    raise CustomRuleError(f"{name}: a pure_callback has no derivative; give the function "
                          "that calls it a rule with custom_jvp or custom_vjp")


pure_callback_p.impl = pure_callback_impl
pure_callback_p.abstract_eval = lambda *avals, out_avals, **params: list(out_avals)
pure_callback_p.jvp = pure_callback_jvp
pure_callback_p.taylor = pure_callback_jvp
pure_callback_p.deriv_class = ("nonlinear",)


# -- linear_solve -----------------------------------------------------------------------------
linear_solve_p = Primitive("linear_solve", linear_in=("last",))


def _matvec(graph, consts):
    return lambda v: np.asarray(eval_graph(graph, list(consts) + [v])[0])


def linear_solve_impl(*args, graph, solve, transpose_solve, symmetric, n_consts, rtol, name):
    consts, b = args[:n_consts], args[n_consts]
    matvec = _matvec(graph, consts)
    x = np.asarray(solve(matvec, b), dtype=get_aval(b).dtype).reshape(np.shape(b))
    err = np.linalg.norm(np.ravel(matvec(x) - b))
    scale = np.linalg.norm(np.ravel(b))
    if not np.isfinite(err) or err > rtol * scale + 1e-300:
        raise ConvergenceError(
            f"{name}: the solve did not converge: |A x - b| = {err:.3g} > rtol * |b| = "
            f"{rtol * scale:.3g} (rtol={rtol}); tighten the solver's tolerance or give it "
            "more iterations (or a preconditioner)")
    return x


def linear_solve_jvp(primals, tangents, **params):
    n = params["n_consts"]
    consts, b = primals[:n], primals[n]
    x = bind(linear_solve_p, *consts, b, **params)
    rhs = tangents[n]
    nonzeros = [type(t) is not Zero for t in tangents[:n]]
    if any(nonzeros):       # d(A x) = A dx + dA x: dx = A^{-1} (db - dA x)
        jg, _ = _graphs().jvp_graph(params["graph"], nonzeros + [False], True)
        dAx = eval_graph(jg, list(consts) + [x] + [t for t in tangents[:n]
                                                  if type(t) is not Zero])[1]
        rhs = -dAx if type(rhs) is Zero else rhs - dAx
    if type(rhs) is Zero:
        return x, Zero(tangent_aval(get_aval(x)))
    return x, bind(linear_solve_p, *consts, rhs, **params)


def linear_solve_transpose(ct, *args, graph, solve, transpose_solve, symmetric, n_consts,
                           rtol, name):
    consts = args[:n_consts]
    if type(ct) is Zero:
        return [None] * (n_consts + 1)
    graph_t = graph if symmetric else \
        _graphs().transpose_graph(graph, [False] * n_consts + [True])
    solve_t, back = transpose_solve or solve, solve
    ct_b = bind(linear_solve_p, *consts, ct, graph=graph_t, solve=solve_t, transpose_solve=back,
                symmetric=symmetric, n_consts=n_consts, rtol=rtol, name=f"{name} (transposed)")
    return [None] * n_consts + [ct_b]


linear_solve_p.impl = linear_solve_impl
linear_solve_p.abstract_eval = lambda *avals, **params: avals[-1].strip_weak()
linear_solve_p.jvp = linear_solve_jvp
linear_solve_p.transpose = linear_solve_transpose
linear_solve_p.taylor = _from_jvp_taylor(linear_solve_p)
linear_solve_p.deriv_class = ("nonlinear",)
