"""Seed batches: Jacobian sweeps keep their unit seeds as one-hot terms (interpreters/batching.py).

Every Jacobian here is checked against one built column by column from single jvps (no vmap,
no seed batch), in both modes, with and without chunking, and nested; the structure tests check
that a sweep in the mode that does not suit the function never materializes batch x size.
"""
import numpy as np
import pytest

import chainrule as cr
from chainrule.interpreters import batching

RNG = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def seed_terms_at_any_size(monkeypatch):
    """Small sweeps normally start dense; here every sweep of 2 or more starts as terms."""
    monkeypatch.setattr(batching, "DENSE_SEEDS_BELOW", 0)
    monkeypatch.setattr(batching, "MIN_SEED_BATCH", 2)
M = RNG.standard_normal((3, 6))


def columns(f, x):
    """The Jacobian from one jvp per input element."""
    x = np.asarray(x)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size, x.dtype)
        e[k] = 1
        cols.append(np.asarray(cr.jvp(f, (x,), (e.reshape(x.shape),))[1]))
    out_shape = cols[0].shape
    return np.stack([c.ravel() for c in cols], axis=-1).reshape(out_shape + x.shape)


def shifted(x):
    return np.stack([np.sum(np.sin(x)), np.sum(x**2), np.sum(np.exp(-x)), np.sum(x[:-1] * x[1:])])


def assign(x):
    y = np.zeros(8) + x[0]
    y[2:5] = x[1:4] ** 2
    y[-1] = x[5] * x[0]
    return y * 1.5


def gather_dupes(x):
    idx = np.array([0, 3, 3, 5, 0, 1])
    return np.sin(x[idx]) * x[idx[::-1]]


def complex_parts(x):
    z = x * np.exp(1j * x[::-1])
    return np.concatenate([np.real(z), np.imag(z) ** 2])


CASES = {
    "elementwise": (lambda x: np.exp(np.sin(x)) / (1 + x**2), (6,)),
    "shifted products": (shifted, (6,)),
    "slices and concatenate": (lambda x: np.concatenate([x[1:] - x[:-1], 2 * x[::2]]), (6,)),
    "where": (lambda x: np.where(x > 0, np.sqrt(np.abs(x)), x**3), (6,)),
    "cumsum": (lambda x: np.cumsum(x * np.cos(x)), (6,)),
    "item assignment": (assign, (6,)),
    "gather with duplicates": (gather_dupes, (6,)),
    "2-D sum over one axis": (lambda x: np.sum(np.tanh(x), axis=0) * x[0], (3, 4)),
    "reshape and transpose": (lambda x: (x.reshape(3, 2).T ** 2).ravel()[::-1], (6,)),
    "outer product": (lambda x: (x[:, None] * np.cos(x)[None, :]).ravel(), (4,)),
    "matrix (densified)": (lambda x: np.tanh(M @ x) * x[:3], (6,)),
    "fft (densified)": (lambda x: np.abs(np.fft.rfft(x * x)), (6,)),
    "complex parts": (complex_parts, (6,)),
    "mean and var": (lambda x: np.stack([np.mean(x**3), np.var(x)]), (6,)),
    "broadcast scalar": (lambda x: x[2] * np.linspace(0.0, 1.0, 9) + np.sum(x), (6,)),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("mode", ["fwd", "rev"])
@pytest.mark.parametrize("chunk_size", [None, 4])
def test_jacobian_matches_columns_of_jvps(name, mode, chunk_size):
    f, shape = CASES[name]
    x = RNG.uniform(0.2, 1.5, shape) * RNG.choice([-1.0, 1.0], shape)
    want = columns(f, x)
    got = cr.jacobian(f, mode=mode, chunk_size=chunk_size)(x)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32():
    x = np.linspace(0.1, 1.0, 5, dtype=np.float32)
    for mode in ("fwd", "rev"):
        jac = cr.jacobian(lambda x: np.cumsum(np.sin(x)) * x, mode=mode)(x)
        assert jac.dtype == np.float32
        assert np.allclose(jac, columns(lambda x: np.cumsum(np.sin(x)) * x, x), rtol=1e-5)


@pytest.mark.parametrize("name", ["elementwise", "shifted products", "item assignment",
                                  "gather with duplicates", "matrix (densified)"])
def test_nested_sweeps_and_hessians(name):
    f, shape = CASES[name]
    x = RNG.uniform(0.2, 1.5, shape)
    scalar = lambda x: np.sum(f(x) ** 2)  # noqa: E731
    h = cr.hessian(scalar)(x)
    assert np.allclose(h, cr.jacrev(cr.jacrev(scalar))(x), rtol=1e-10, atol=1e-10)
    assert np.allclose(h, columns(cr.grad(scalar), x), rtol=1e-10, atol=1e-10)
    # a derivative of the Jacobian with respect to a parameter the function closes over: the
    # sweep's primals are concrete, its terms carry values traced by the outer derivative
    def total(w):
        return np.sum(cr.jacrev(lambda x: f(x) * w)(x) ** 2)
    eps = 1e-6
    fd = (total(1.5 + eps) - total(1.5 - eps)) / (2 * eps)
    assert np.isclose(cr.grad(total)(1.5), fd, rtol=1e-6)
    assert np.isclose(cr.grad(total)(1.5), 2 * 1.5 * np.sum(cr.jacrev(f)(x) ** 2), rtol=1e-12)


def test_jit_of_wrong_mode_jacobian():
    f, _ = CASES["shifted products"]
    x = RNG.standard_normal(7)
    assert np.allclose(cr.jit(cr.jacfwd(f))(x), columns(f, x), rtol=1e-12)


@pytest.fixture
def densified(monkeypatch):
    """Record the number of elements of every seed batch made dense."""
    sizes = []
    dense = batching.SeedBatch.dense

    def spy(self, size):
        sizes.append(size * self.aval.size)
        return dense(self, size)
    monkeypatch.setattr(batching.SeedBatch, "dense", spy)
    return sizes


def test_wrong_mode_sweeps_stay_one_hot(densified):
    """W3/W4-like functions in the mode that does not suit them: nothing larger than the
    Jacobian itself is ever made dense (a dense sweep would hold size x size elements)."""
    m = 3000
    t = np.linspace(0.0, 10.0, m)
    tall = lambda p: p[0] * np.sin(p[1] * t) + p[2] * np.exp(-p[3] * t)  # noqa: E731
    p = np.array([1.0, 2.0, 0.5, 0.3])
    jac = cr.jacrev(tall)(p)
    assert np.allclose(jac, cr.jacfwd(tall)(p), rtol=1e-12)
    x = RNG.standard_normal(m)
    jac = cr.jacfwd(shifted)(x)
    assert np.allclose(jac, cr.jacrev(shifted)(x), rtol=1e-12)
    assert max(densified, default=0) <= 4 * m


def test_mixing_operation_falls_back_to_dense(densified):
    x = RNG.standard_normal(6)
    jac = cr.jacfwd(lambda x: M @ np.sin(x))(x)
    assert np.allclose(jac, M * np.cos(x))
    assert densified == [6 * 6]       # the seeds reach the matrix product as one term


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_empty_inputs_and_outputs(mode):
    x = np.arange(3.0)
    assert cr.jacobian(lambda x: np.diff(x, n=3), mode=mode)(x).shape == (0, 3)
    assert cr.jacobian(lambda x: 2 * x, mode=mode)(np.zeros(0)).shape == (0, 0)
    assert cr.jacobian(lambda x: np.sum(x) + np.ones(2), mode=mode)(np.zeros((0, 4))).shape \
        == (2, 0, 4)
    assert cr.hessian(lambda x: np.sum(x ** 2))(np.zeros(0)).shape == (0, 0)


def _close(got, want, rtol):
    scale = max(np.max(np.abs(want)), 1.0) if np.size(want) else 1.0
    return np.allclose(got, want, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_jit_stages_the_seed_terms(name, mode):
    """Under jit the seeds of a sweep at traced primals stay one-hot terms, staged as they are
    (sums over examples and the final dense batch become scatter-adds at constant places):
    the same Jacobian as the eager sweep to 1e-14, and cache_info says how the seeds went."""
    f, shape = CASES[name]
    x = RNG.uniform(0.2, 1.5, shape) * RNG.choice([-1.0, 1.0], shape)
    jf = cr.jit(cr.jacobian(f, mode=mode))
    got = jf(x)
    assert _close(got, cr.jacobian(f, mode=mode)(x), 1e-14)
    assert _close(got, columns(f, x), 1e-12)
    sweeps = jf.cache_info()["sweeps"]       # none: a linear f's Jacobian is a constant
    assert len(sweeps) <= 1 and all(s.endswith("unit seeds as one-hot terms") for s in sweeps)


def test_jit_sweep_path_is_reported(monkeypatch, capsys):
    f, _ = CASES["shifted products"]
    x = RNG.standard_normal(9)
    jf = cr.jit(cr.jacfwd(f))
    jf(x)
    assert jf.cache_info()["sweeps"] == ["Jacobian sweep of 9 unit seeds as one-hot terms"]
    cr.show_code(jf, x)
    src = capsys.readouterr().out
    assert "# Jacobian sweep of 9 unit seeds as one-hot terms" in src and "np.add.at" in src
    monkeypatch.setattr(batching, "MIN_SEED_BATCH", 100)       # small sweeps start dense
    jd = cr.jit(cr.jacfwd(f))
    assert _close(jd(x), jf(x), 1e-14)
    assert jd.cache_info()["sweeps"] == ["Jacobian sweep of 9 unit seeds as a dense batch"]
    jg = cr.jit(cr.grad(lambda x: np.sum(f(x))))
    jg(x)
    assert jg.cache_info()["sweeps"] == []


def _largest_constant(jitted):
    """The most elements of any constant the compiled code of ``jitted`` holds."""
    (variants,) = jitted.jitted._cache.values()
    cells = variants[0].fn.__closure__ or ()
    return max((np.size(c.cell_contents) for c in cells
                if isinstance(c.cell_contents, np.ndarray)), default=0)


@pytest.mark.parametrize("name", ["elementwise", "shifted products", "item assignment",
                                  "gather with duplicates", "matrix (densified)", "cumsum"])
def test_jit_nested_sweeps_and_hessians(name):
    """Hessians under jit (the inner sweep's terms traced by both the staging and the forward
    interpreter) and a derivative of a staged sweep with respect to a closed-over parameter
    equal the eager ones and central differences."""
    f, shape = CASES[name]
    x = RNG.uniform(0.2, 1.5, shape)
    scalar = lambda x: np.sum(f(x) ** 2)  # noqa: E731
    h = cr.jit(cr.hessian(scalar))(x)
    assert _close(h, cr.hessian(scalar)(x), 1e-13)
    assert _close(h, cr.jit(cr.jacrev(cr.jacrev(scalar)))(x), 1e-12)
    assert _close(h, columns(cr.grad(scalar), x), 1e-10)
    eps = 1e-6

    def total(w):
        return np.sum(cr.jit(cr.jacfwd(lambda x: f(x) * w))(x) ** 2)
    fd = (total(1.5 + eps) - total(1.5 - eps)) / (2 * eps)
    g = cr.jit(cr.grad(total))(1.5)
    assert np.isclose(g, fd, rtol=1e-6)
    assert np.isclose(g, cr.grad(total)(1.5), rtol=1e-13)


def test_jit_wrong_mode_holds_no_dense_seeds(monkeypatch):
    """A wide function's forward Jacobian under jit at a size where seeds start as terms (as
    outside tests): no constant of the compiled code is as large as batch x size, and the
    result equals the eager sweep and the reverse one."""
    monkeypatch.setattr(batching, "DENSE_SEEDS_BELOW", 2**16)
    monkeypatch.setattr(batching, "MIN_SEED_BATCH", 16)
    x = RNG.standard_normal(300)
    jf = cr.jit(cr.jacfwd(shifted))
    got = jf(x)
    assert _close(got, cr.jacfwd(shifted)(x), 1e-14)
    assert _close(got, cr.jacrev(shifted)(x), 1e-12)
    assert _largest_constant(jf) <= 4 * x.size
