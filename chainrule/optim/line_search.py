"""The strong Wolfe line search of ``LBFGS(line_search_fn="strong_wolfe")``: PyTorch's (after
minFunc's ``lswolfe``), so that the iterates match ``torch.optim.LBFGS`` step for step.

Along the direction ``d`` from the current point, find a step ``t`` satisfying the strong Wolfe
conditions

    f(t) <= f(0) + c1 * t * f'(0)          (sufficient decrease, Armijo)
    |f'(t)| <= c2 * |f'(0)|                (curvature)

in two phases: bracketing (grow the step by cubic interpolation, extrapolating up to 10x, until
an interval is known to contain such a point) and zoom (shrink the bracket by safeguarded cubic
interpolation). Every evaluation counts against ``max_ls``. ``f'(t)`` is the directional
derivative ``g(t) @ d``.
"""
import math

__all__ = ["strong_wolfe", "cubic_interpolate"]


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through ``(x1, f1)`` and ``(x2, f2)`` with slopes ``g1``,
    ``g2``, clipped to ``bounds`` (default: the interval between ``x1`` and ``x2``); the middle
    of the bounds when the cubic has no real minimizer. Scalars in, scalar out."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


class _Point:
    """One evaluated step: ``t``, the loss, the flat gradient and the directional derivative."""
    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_ls=25):
    """Search along ``d`` (flat array) from the point with loss ``f``, flat gradient ``g`` and
    ``gtd = g @ d < 0``, starting with step ``t``. ``evaluate(t)`` returns ``(loss, flat
    gradient)`` at the point moved by ``t * d`` (and leaves the parameters as they were).
    Returns ``(loss, gradient, t, evaluations)`` of the step taken."""
    d_norm = float(abs(d).max())
    start = _Point(0, f, g, gtd)
    f_new, g_new = evaluate(t)
    new = _Point(t, f_new, g_new, float(g_new @ d))
    evals, ls_iter = 1, 0
    prev = start
    bracket, done = None, False
    while ls_iter < max_ls:                                  # phase 1: bracketing
        if new.f > f + c1 * new.t * gtd or (ls_iter > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if abs(new.gtd) <= -c2 * gtd:
            bracket, done = [new], True
            break
        if new.gtd >= 0:
            bracket = [prev, new]
            break
        step = cubic_interpolate(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd,
                                 bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10))
        prev = new
        f_new, g_new = evaluate(step)
        new = _Point(step, f_new, g_new, float(g_new @ d))
        evals += 1
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = [_Point(0, f, g, None), new]
    low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    insufficient = False
    while not done and ls_iter < max_ls:                     # phase 2: zoom
        a, b = bracket
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        step = cubic_interpolate(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        step, insufficient = _safeguard(step, min(a.t, b.t), max(a.t, b.t), insufficient)
        f_new, g_new = evaluate(step)
        new = _Point(step, f_new, g_new, float(g_new @ d))
        evals += 1
        ls_iter += 1
        if new.f > f + c1 * step * gtd or new.f >= bracket[low].f:
            bracket[high] = new
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(new.gtd) <= -c2 * gtd:
                done = True
            elif new.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = new
    best = bracket[low]
    return best.f, best.g, best.t, evals


def _safeguard(t, lo, hi, insufficient):
    """Keep a zoom step at least a tenth of the bracket away from its ends when the previous
    step was already too close (or ``t`` is outside): ``(t, insufficient progress)``."""
    eps = 0.1 * (hi - lo)
    if min(hi - t, t - lo) >= eps:
        return t, False
    if not (insufficient or t >= hi or t <= lo):
        return t, True
    return (hi - eps if abs(t - hi) < abs(t - lo) else lo + eps), False
