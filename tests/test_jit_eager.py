"""jit is never slower than eager: the Jacobian kernels of the W10 problems compiled equal the
eager ones (and central differences), and the path chosen per signature (compiled code or
eager evaluation, timed on the first calls) is reported and keeps results unchanged."""
import importlib
import importlib.util
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.interpreters import batching

jit_module = importlib.import_module("chainrule.jit")    # the module (cr.jit is the function)

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b))


def central_jacobian(f, x, eps=1e-6):
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        e = e.reshape(x.shape)
        cols.append(np.ravel((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)))
    return np.stack(cols, axis=-1)


def rk4_residual(steps=12, obs=4):
    """W10d's fit residuals by fixed-step RK4 (a Python loop), in the 4 parameters."""
    lv = example("lotka_volterra")
    data = np.linspace(0.5, 2.0, 2 * obs).reshape(obs, 2)
    return lambda p: lv.rk4_residuals(p, data, steps)


def test_brusselator_jacobian_compiled_equals_eager():
    """k = 12 (n = 288): seeds as one-hot terms at this size, as at n = 2048."""
    bru = example("brusselator")
    f, y0 = bru.make_rhs(12), bru.initial_state(12)
    rhs = lambda y: f(0.0, y)  # noqa: E731
    jf = cr.jit(cr.jacfwd(rhs), eager_fallback=False)
    got = jf(y0)
    want = cr.jacfwd(rhs)(y0)
    assert rel(got, want) <= 1e-14
    assert rel(got, central_jacobian(rhs, y0)) <= 1e-7
    assert jf.cache_info()["sweeps"] == ["Jacobian sweep of 288 unit seeds as one-hot terms"]


def test_lennard_jones_hessian_compiled_equals_eager():
    lj = example("lennard_jones")
    x0 = lj.fcc_start(8)
    jh = cr.jit(cr.hessian(lj.energy), eager_fallback=False)
    got = jh(x0)
    assert rel(got, cr.hessian(lj.energy)(x0)) <= 1e-14
    grad = cr.grad(lj.energy)
    assert rel(got.reshape(24, 24), central_jacobian(grad, x0)) <= 1e-6
    assert np.allclose(got.reshape(24, 24), got.reshape(24, 24).T, rtol=1e-12, atol=1e-12)


def test_rk4_residual_jacobian_compiled_equals_eager():
    r = rk4_residual()
    p0 = np.array([0.8, 0.4, 1.0, 0.3])
    jr = cr.jit(r, eager_fallback=False)
    assert rel(jr(p0), r(p0)) <= 1e-14
    jj = cr.jit(cr.jacfwd(r), eager_fallback=False)
    got = jj(p0)
    assert rel(got, cr.jacfwd(r)(p0)) <= 1e-14
    assert rel(got, cr.jit(cr.jacrev(r))(p0)) <= 1e-13
    assert rel(got, central_jacobian(r, p0)) <= 1e-7


class FakeClock:
    """perf_counter for jit's timing: every reading advances 5 ms, so each timed call
    seems to take 5 ms plus what the function adds by ``spend``."""
    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 0.005
        return self.now

    def spend(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(jit_module, "time", c)
    return c


def counted(clock, extra_s):
    """A function whose eager runs are counted and take 5 ms + ``extra_s`` on the fake
    clock; its compiled code takes 5 ms."""
    runs = []

    def f(x):
        if type(x) is np.ndarray:       # run eagerly (tracing passes a tracer)
            runs.append(1)
            clock.spend(extra_s)
        return np.sin(x) * np.exp(-x) + np.sum(x ** 2)
    return f, runs


def test_eager_is_kept_where_it_wins(clock, capsys):
    f, runs = counted(clock, -0.004)            # eager 1 ms against compiled 5 ms
    jf = cr.jit(f)
    x = np.linspace(0.1, 1.0, 7)
    want = np.sin(x) * np.exp(-x) + np.sum(x ** 2)
    outs = [jf(x) for _ in range(9)]
    info = jf.cache_info()
    assert info["paths"] == {"compiled": 0, "eager": 1, "timing": 0}
    assert info["path_reason"].startswith("eager: eager 1 ms per call against compiled 5 ms")
    # the trace; 3 compiled calls timed, then 3 eager ones; 2 calls answered eagerly
    assert len(runs) == 3 + 2
    for out in outs:
        assert rel(out, want) <= 1e-14
    assert info["hits"] == 8 and info["traces"] == 1
    cr.show_code(jf, x)
    assert "answered eagerly" in capsys.readouterr().out


@pytest.mark.parametrize("extra_s, eager_calls", [(0.006, 1), (-0.0004, 3)])
def test_compiled_is_kept_where_eager_loses(clock, extra_s, eager_calls):
    """Eager 11 ms against compiled 5 ms: one eager call settles it; eager 4.6 ms: three
    (a 8% lead is within the noise margin, so the compiled code stays)."""
    f, runs = counted(clock, extra_s)
    jf = cr.jit(f)
    x = np.linspace(0.1, 1.0, 7)
    for _ in range(8):
        jf(x)
    info = jf.cache_info()
    assert info["paths"] == {"compiled": 1, "eager": 0, "timing": 0}
    assert info["path_reason"].startswith(
        f"compiled: compiled 5 ms per call against eager {5 + extra_s * 1e3:.3g} ms")
    assert len(runs) == eager_calls
    g = cr.jit(f, eager_fallback=False)
    for _ in range(4):
        g(x)
    assert len(runs) == eager_calls
    assert g.cache_info()["paths"] == {"compiled": 0, "eager": 0, "timing": 0}


def test_cheap_programs_are_not_timed(monkeypatch):
    monkeypatch.setattr(jit_module, "CHECK_ABOVE_S", 1.0)     # no call of this test is slower
    runs = []

    def f(x):
        if type(x) is np.ndarray:
            runs.append(1)
        return np.tanh(x) * 2.0
    jf = cr.jit(f)
    x = np.ones(3)
    for _ in range(5):
        jf(x)
    assert runs == [] and jf.cache_info()["paths"]["compiled"] == 1
    assert "(under 1000 ms: not compared with eager)" in jf.cache_info()["path_reason"]


def test_each_signature_has_its_path(clock):
    f, runs = counted(clock, -0.004)
    jf = cr.jit(f)
    for _ in range(8):
        jf(np.ones(4))
    jf(np.ones(5))
    info = jf.cache_info()
    assert info["signatures"] == 2
    assert info["paths"] == {"compiled": 0, "eager": 1, "timing": 1}
    jf.clear_cache()
    assert jf.cache_info()["paths"] == {"compiled": 0, "eager": 0, "timing": 0}


def test_seeds_start_dense_only_for_small_sweeps():
    """The size rule of the seeds is the same under jit as eagerly."""
    x = np.linspace(0.1, 1.0, batching.MIN_SEED_BATCH - 1)
    jf = cr.jit(cr.jacfwd(lambda x: np.cumsum(np.sin(x))))
    jf(x)
    assert jf.cache_info()["sweeps"][0].endswith("as a dense batch")


@pytest.mark.parametrize("i, j, form", [
    (np.array([0, 2, 2, 4, 1, 2]), np.array([3, 0, 4, 4, 2, 2]), "np.bincount("),
    (np.array([0, 2, 2]), np.array([3, 0, 4]), ".reshape(-1)")])
def test_scatter_with_index_tuples_runs_flat(capsys, i, j, form):
    """The adjoint of x[:, i] - x[:, j] (repeated indices) scatters through a tuple index: the
    compiled code adds at constant flat places, by one bincount where the updates outnumber the
    places, else by np.add.at on the flat array (NumPy's fast path), with the same values as
    eager and central differences."""
    def f(x):
        d = x[:, i] - x[:, j]
        return np.sum(np.sin(d) ** 2 * x[:, i])
    x = np.linspace(0.1, 1.5, 15).reshape(3, 5)
    g = cr.jit(cr.grad(f), eager_fallback=False)
    got = g(x)
    assert rel(got, cr.grad(f)(x)) <= 1e-14
    assert rel(got.ravel(), central_jacobian(f, x)[0]) <= 1e-8
    cr.show_code(g, x)
    src = capsys.readouterr().out
    assert form in src and "np.add.at(h, (slice" not in src
    h = cr.jit(cr.hessian(f), eager_fallback=False)(x)
    assert rel(h, cr.hessian(f)(x)) <= 1e-14


def test_stacks_of_scalars_are_one_call(capsys):
    """np.stack of scalars stages a reshape per scalar and a concatenate; the generated code
    writes them as one np.array call (the RK4 right-hand side builds one per stage)."""
    r = rk4_residual(steps=12, obs=2)
    p0 = np.array([0.8, 0.4, 1.0, 0.3])
    cr.show_code(r, p0)
    src = capsys.readouterr().out
    assert src.count("np.array([") == 12 * 4     # 12 steps of 4 stages
    assert src.count("concatenate(") == 1        # the stack of the 2 observed states
    assert rel(cr.jit(r, eager_fallback=False)(p0), r(p0)) <= 1e-14
    mixed = cr.jit(lambda x: np.stack([x[0], np.int64(3), x[1] * 2]) * np.stack([x[1], x[0]])[0])
    x = np.array([1.5, -0.25])
    assert np.array_equal(mixed(x), np.stack([x[0], 3.0, x[1] * 2]) * x[1])


def test_commuted_products_are_computed_once(capsys):
    """a * b and b * a (and a * 4.0, 4.0 * a) are one common subexpression: the forward-mode
    rule of x * x writes both orders, so Hessians of products compute half of their sweeps'
    products (the LJ Hessian: its (192, 2016, 3) products and sums)."""
    def f(x):
        s = np.sin(x)
        return s * x + x * s + 4.0 * np.cos(x) - np.cos(x) * 4.0
    x = np.linspace(0.1, 2.0, 5)
    cr.show_code(f, x)
    src = capsys.readouterr().out
    assert src.count(" * ") == 2          # s * x and 4.0 * cos(x), once each
    assert rel(cr.jit(f)(x), f(x)) <= 1e-15
    g = lambda x: np.sum(np.sin(x) * x)  # noqa: E731
    h = cr.jit(cr.hessian(g), eager_fallback=False)(x)
    assert rel(h, cr.hessian(g)(x)) <= 1e-14
    assert rel(h, central_jacobian(cr.grad(g), x)) <= 1e-8
