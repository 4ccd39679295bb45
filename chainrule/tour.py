"""The guided tour: ``python -m chainrule``.

It follows the lecture chainrule grew from ("Differentiation outside the deep-learning
community") section by section, and runs each point live. It uses the public API only.
"""
import re
import textwrap
import time

import numpy as np

import chainrule as cr

WIDTH = 78


def _section(number, title):
    print()
    print(f"{number}. {title}")
    print("-" * WIDTH)


def _say(text):
    print(textwrap.fill(" ".join(text.split()), WIDTH))


def _show(label, value):
    if isinstance(value, (float, int, np.floating)):
        text = f"{float(value):.10g}"
    else:
        text = np.array2string(np.asarray(value), precision=6, suppress_small=True)
    text = text.replace("\n", "\n" + " " * 41)
    print(f"  {label:<38} {text}")


def _best_time(fn, repeat=5):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def poly(x):
    return x**3 + 2 * x**2 + x


def background():
    _section(1, "Background: differentiation beyond deep learning")
    _say("""Automatic differentiation (AD) computes exact derivatives of programs. Deep learning
    made reverse mode famous as backpropagation, but the same machinery serves scientific
    computing, optimization and physics simulation. chainrule differentiates ordinary Python and
    NumPy code, unchanged.""")


def concept():
    _section(2, "What AD does: trace the computation, apply the chain rule")
    _say("""chainrule runs your function on traced values and records the primitive operations.
    Here is the program it sees for f(x) = sum(sin(x) * x):""")
    graph = cr.make_graph(lambda x: np.sum(np.sin(x) * x))(np.ones(3))
    print(textwrap.indent(str(graph), "  "))


def forward_mode():
    _section(3, "Forward mode: carry a derivative alongside every value")
    _say("""jvp pushes a tangent (a direction in input space) through the program together with
    the values. One sweep gives one directional derivative, so its cost grows with the number of
    inputs.""")
    value, slope = cr.jvp(poly, (2.0,), (1.0,))
    _show("f(2) with f = x**3 + 2x**2 + x:", value)
    _show("f'(2) by forward mode (jvp):", slope)


def reverse_mode():
    _section(4, "Reverse mode: run forward, then propagate derivatives backward")
    _say("""vjp records the linear part of the computation on the way forward and runs it
    backwards. One backward sweep gives the whole gradient of one output, so its cost grows with
    the number of outputs. chainrule derives it from forward mode (linearize, then transpose),
    so the two modes always agree.""")
    x = np.array([0.5, -1.0, 2.0])
    f = lambda x: np.sum(np.sin(x) * x)  # noqa: E731
    _show("x:", x)
    _show("grad of sum(sin(x) * x), reverse:", cr.grad(f)(x))
    _show("closed form sin(x) + x cos(x):", np.sin(x) + x * np.cos(x))


def which_mode():
    _section(5, "Deep learning and mixing modes: which mode for which shape")
    _say("""Backpropagation is reverse mode. Which mode is cheaper depends on the shape of the
    Jacobian; timed here on the spot for a layer tanh(A p) and a read-out B tanh(x):""")
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((2000, 4)), rng.standard_normal((4, 2000))
    tall = lambda p: np.tanh(A @ p)          # noqa: E731  R^4 -> R^2000
    wide = lambda x: B @ np.tanh(x)          # noqa: E731  R^2000 -> R^4
    p, xw = np.array([0.1, -0.2, 0.3, 0.4]), np.linspace(-1.0, 1.0, 2000)
    for name, f, x in [("tall  R^4 -> R^2000", tall, p), ("wide R^2000 -> R^4", wide, xw)]:
        t_fwd = _best_time(lambda: cr.jacfwd(f)(x), 3)
        t_rev = _best_time(lambda: cr.jacrev(f)(x), 3)
        assert np.allclose(cr.jacfwd(f)(x), cr.jacrev(f)(x))
        winner = "forward" if t_fwd < t_rev else "reverse"
        print(f"  {name}:  forward {t_fwd * 1e3:7.2f} ms   reverse {t_rev * 1e3:7.2f} ms"
              f"   -> {winner} wins")
    _, info = cr.jacobian(tall, explain=True)(p)
    _say(f"""cr.jacobian(f) makes this choice for you from the input and output sizes: for the
    tall one it picks '{info['mode']}' ({info['reason']}). Each mode builds the whole Jacobian in
    one vectorized sweep, and a sweep keeps its unit seeds as one-hot terms for as long as the
    program allows (elementwise operations, slicing, sums), so where nothing mixes the elements,
    as in p0 sin(p1 t) + p2 exp(-p3 t), even the other mode is cheap:""")
    t = np.linspace(0.0, 10.0, 2000)
    curve = lambda p: p[0] * np.sin(p[1] * t) + p[2] * np.exp(-p[3] * t)  # noqa: E731
    t_fwd = _best_time(lambda: cr.jacfwd(curve)(p), 3)
    t_rev = _best_time(lambda: cr.jacrev(curve)(p), 3)
    print(f"  curve R^4 -> R^2000:  forward {t_fwd * 1e3:7.2f} ms   reverse {t_rev * 1e3:7.2f} ms")
    _say("""Mixing modes pays off for second derivatives: cr.hessian is forward mode over
    reverse mode.""")
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    f = lambda x: 0.5 * x @ A @ x + np.sum(np.cos(x))  # noqa: E731
    x = np.array([0.3, -0.4])
    _show("Hessian of x.A.x/2 + sum(cos x):", cr.hessian(f)(x))
    _show("closed form A - diag(cos x):", A - np.diag(np.cos(x)))


def applications():
    _section(6, "Applications: optimization and physics simulation")
    _say("""Optimization: hand an exact gradient to SciPy's optimizer. The Rosenbrock function in
    10 dimensions, minimized with BFGS:""")
    from scipy.optimize import minimize

    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    x0 = np.full(10, -1.0)
    res_ad = minimize(rosen, x0, jac=cr.grad(rosen), method="BFGS")
    res_fd = minimize(rosen, x0, method="BFGS")
    print(f"  with chainrule's gradient:   f = {res_ad.fun:.2e} after {res_ad.nfev} "
          "function evaluations")
    print(f"  with finite differences:     f = {res_fd.fun:.2e} after {res_fd.nfev} "
          "function evaluations")
    _say("""Physics: differentiate straight through a simulation. A projectile with air drag is
    stepped 400 times; how does its range change with the launch angle?""")

    def flight_range(angle, speed=30.0, drag=0.02, dt=0.01, steps=400):
        pos = np.zeros(2)
        vel = speed * np.stack([np.cos(angle), np.sin(angle)])
        for _ in range(steps):
            acc = np.array([0.0, -9.81]) - drag * np.sqrt(np.sum(vel**2)) * vel
            vel = vel + dt * acc
            pos = pos + dt * vel
        return pos[0]
    angle = 0.6
    d_ad = cr.grad(flight_range)(angle)
    h = 1e-6
    d_fd = (flight_range(angle + h) - flight_range(angle - h)) / (2 * h)
    _show("range at 0.6 rad (m):", round(float(flight_range(angle)), 6))
    _show("d range / d angle, chainrule:", d_ad)
    _show("d range / d angle, finite differences:", d_fd)
    _say("""Long simulations: the same flight written with chainrule.scan traces one step and
    keeps it a loop under every derivative; with checkpoints= the backward pass holds only a
    few states and recomputes the rest (binomial checkpointing). 5000 finer steps, at most 20
    states held:""")

    def flight_range_scan(angle, speed=30.0, drag=0.02, steps=5000, checkpoints=None):
        dt = 4.0 / steps

        def step(state, _):
            pos, vel = state
            vel = vel + dt * (np.array([0.0, -9.81]) - drag * np.sqrt(np.sum(vel**2)) * vel)
            return (pos + dt * vel, vel), None
        vel0 = speed * np.stack([np.cos(angle), np.sin(angle)])
        (pos, _), _ = cr.scan(step, (np.zeros(2), vel0), None, length=steps,
                              checkpoints=checkpoints)
        return pos[0]
    _show("d range / d angle, scan:", cr.grad(flight_range_scan)(angle))
    _show("d range / d angle, scan, 20 states held:",
          cr.grad(lambda a: flight_range_scan(a, checkpoints=20))(angle))


def code_example():
    _section(7, "The lecture's code: the derivative of x**3 + 2x**2 + x at 2")
    print("  cr.grad(f)(2.0)                        ", cr.grad(poly)(2.0))
    if hasattr(cr, "tensor"):
        x = cr.tensor([2.0], requires_grad=True)
        y = poly(x)
        y.backward()
        print("  PyTorch style: y.backward(); x.grad    ", x.grad)
    _say("""The true value is f'(2) = 3*4 + 4*2 + 1 = 21; the lecture prints 17, an arithmetic
    slip. The derivative can also be compiled into plain NumPy code that a person can read
    (cr.jit, cr.show_code):""")
    source = cr.jit(cr.grad(poly)).source(2.0)
    print(textwrap.indent(source.rstrip(), "  "))


def higher_order():
    _section(8, "Higher-order derivatives: differentiate the derivative")
    print("  cr.grad(cr.grad(f))(2.0)               ", cr.grad(cr.grad(poly))(2.0))
    print("  cr.grad(cr.grad(cr.grad(f)))(2.0)      ", cr.grad(cr.grad(cr.grad(poly)))(2.0))
    if hasattr(cr, "tensor"):
        x = cr.tensor([2.0], requires_grad=True)
        (g,) = cr.autograd.grad(poly(x), x, create_graph=True)
        (g2,) = cr.autograd.grad(g, x)
        print("  PyTorch style: autograd.grad twice     ", g2)
    _say("""f''(2) = 6*2 + 4 = 16 (the lecture prints 11, another slip), f'''= 6. Nesting works to
    any depth and in any mix of modes, with no confusion between the levels. For high orders,
    Taylor mode pushes a truncated Taylor series through the program once, instead of
    differentiating derivatives over and over:""")
    g = lambda x: np.exp(np.sin(x)) / (1 + x**2)  # noqa: E731
    t0 = time.perf_counter()
    ds = cr.derivatives(g, 0.5, 8)
    elapsed = time.perf_counter() - t0
    print(f"  derivatives 0..8 of exp(sin x)/(1+x^2) at 0.5, one Taylor pass "
          f"({elapsed * 1e3:.0f} ms):")
    print("  " + "  ".join(f"{d:.6g}" for d in ds))


def summary():
    _section(9, "Summary")
    _say("""Forward mode for few inputs, reverse mode for few outputs, both for higher orders;
    plain NumPy code differentiated unchanged. Next: help(chainrule), the README, and
    chainrule.testing.check_grads to verify derivatives of your own functions.""")


SECTIONS = (background, concept, forward_mode, reverse_mode, which_mode, applications,
            code_example, higher_order, summary)


def titles():
    """``[(number, title)]`` of the tour's sections, read from their ``_section`` calls."""
    import inspect
    out = []
    for number, part in enumerate(SECTIONS, 1):
        m = re.search(r'_section\(\d+, "([^"]*)"\)', inspect.getsource(part))
        out.append((number, m.group(1) if m else part.__name__))
    return out


def main(sections=None):
    """Run the tour: every section, or only the numbers in ``sections`` (1-based)."""
    print("chainrule: a guided tour of automatic differentiation")
    print("=" * WIDTH)
    for number, part in enumerate(SECTIONS, 1):
        if sections is None or number in sections:
            part()
    print()
