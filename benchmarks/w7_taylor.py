"""W7 seen from Taylor mode: the rows of W7 (benchmarks/w7_higher_order.py: chainrule Taylor mode
and nested grad, eager and jit; JAX nested grad eager and jit; PyTorch nested autograd.grad;
HIPS autograd; jax.experimental.jet eager and jit) in one run, and a summary of what Taylor mode
is for: its time at order 8 against every peer, and how each row's cost grows with the order
(Taylor mode about like k^2 in arithmetic and flat in overhead; nested first-order AD about
like c^k).

    python -m benchmarks.w7_taylor [--quick] [--no-write]

writes benchmarks/results/w7-taylor.json (w7-taylor.quick.json with --quick). Every derivative
is checked against chainrule's and against the truncated power series of the function (1e-8).
"""
import argparse
import math
import sys

from . import _harness as h
from . import w7_higher_order as w7

ID = "W7-taylor"
TITLE = "higher-order derivatives: Taylor mode against nested first-order AD and jet"
WHAT = w7.WHAT
CAP_S = w7.CAP_S
NOTES = list(w7.NOTES)
TARGET_ORDER = 8
cases = w7.cases
reference = w7.reference
IMPLS = w7.IMPLS


def _taylor_row(impl):
    return impl.kind == "chainrule" and "Taylor" in impl.name


def _growth(points, nested):
    """Least-squares growth of time with order k: per-order factor (log t ~ k log c) for nested
    AD, exponent (log t ~ p log k) for Taylor mode."""
    if len(points) < 3:
        return None
    xs = [k if nested else math.log(k) for k, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return f"x{math.exp(slope):.1f} per order" if nested else f"~ k^{slope:.1f}"


def summary(cases, rows):
    lines = w7.summary(cases, rows)
    label = f"k={TARGET_ORDER}"
    at = {r.impl: r for r in rows if r.case == label and r.ok and r.time_s}
    for mode, compiled in (("eager", False), ("jit", True)):
        mine = next((at[i.name] for i in IMPLS if _taylor_row(i) and i.compiled == compiled
                     and i.name in at), None)
        if mine is None:
            continue
        lines.append(f"order {TARGET_ORDER}, chainrule Taylor mode {mode} "
                     f"({h.fmt_time(mine.time_s)}) against:")
        for impl in IMPLS:
            r = at.get(impl.name)
            if r is None or r is mine or _taylor_row(impl):
                continue
            ratio = r.time_s / mine.time_s
            target = 10.0 if "nested" in impl.name else 1.0
            compile_note = (f", {(r.time_s + (r.compile_s or 0)) / mine.time_s:.0f}x counting "
                            "its compile time" if r.compile_s else "")
            lines.append(f"  {impl.name} ({r.mode}): {ratio:.2f}x chainrule's time"
                         f"{compile_note}; target >= {target:g}x: "
                         f"{'met' if ratio >= target else 'not met'}")
    for impl in IMPLS:
        points = [(int(r.case[2:]), r.time_s) for r in rows
                  if r.impl == impl.name and r.ok and r.time_s]
        g = _growth(points, "nested" in impl.name)
        if g:
            lines.append(f"growth of {impl.name}: {g} (orders {points[0][0]}..{points[-1][0]})")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.w7_taylor",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="orders 1..4, one timed call per row")
    ap.add_argument("--no-write", action="store_true", help="do not write the JSON results")
    args = ap.parse_args(argv)
    m, v = h.machine(), h.versions()
    print(f"machine: {m['cpu']}, {m['cores']} cores; "
          + ", ".join(f"{k} {val or 'not installed'}" for k, val in v.items()))
    check = h.run_workload(sys.modules[__name__], quick=args.quick, write=not args.no_write)
    return 1 if check == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
