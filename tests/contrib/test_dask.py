"""Derivatives of functions of Dask arrays: lazy Dask results equal to the NumPy ones.

Every transformation is run on Dask arrays while a dask callback counts the computations that
start (there must be none before ``.compute()``), then its results are computed and compared
with the same transformation on the NumPy arrays (relative 1e-12). The last tests run the
gradients on a ``dask.distributed`` LocalCluster with two worker processes.
"""
import os

import dask
import dask.array as da
import distributed
import numpy as np
import pytest
from dask.callbacks import Callback

import chainrule as cr
from chainrule import ChunkMismatchError, LazyArrayError, LazyComputeError, UnknownChunksError

RNG = np.random.default_rng(19)
XN = RNG.standard_normal((60, 4))
YN = (RNG.random(60) < 0.5).astype(float)
WN = RNG.standard_normal(4)
VN = RNG.standard_normal(12)
MN = RNG.standard_normal((6, 5))
X = da.from_array(XN, chunks=(15, 4))
Y = da.from_array(YN, chunks=15)
V = da.from_array(VN, chunks=5)
M = da.from_array(MN, chunks=(3, 2))


class Counter(Callback):
    """Counts computations started (``start``) and tasks run (``pretask``) by local schedulers."""

    def __init__(self):
        super().__init__()
        self.computes = self.tasks = 0

    def _start(self, dsk):
        self.computes += 1

    def _pretask(self, key, dsk, state):
        self.tasks += 1


def lazily(build):
    """Run ``build()`` counting computations: none may start."""
    with Counter() as c:
        out = build()
    assert c.computes == 0, "a computation ran before .compute()"
    return out


def assert_dask_equal(got, want, rtol=1e-12):
    got_leaves, got_def = cr.tree_flatten(got)
    want_leaves, want_def = cr.tree_flatten(want)
    assert got_def == want_def
    for g, w in zip(got_leaves, want_leaves):
        assert isinstance(g, da.Array), f"a result is a {type(g).__name__}, not a Dask array"
        gv = g.compute()
        assert gv.shape == np.shape(w)
        scale = max(np.max(np.abs(w)), 1e-300)
        np.testing.assert_allclose(gv, w, rtol=0, atol=rtol * scale)


# -- the functions --------------------------------------------------------------------------------
def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0, z) - y * z)


def least_squares(w, X, y):
    r = X @ w - y
    return 0.5 * np.sum(r ** 2)


def chain(x):
    return np.sum(np.tanh(np.exp(np.sin(x)) * x) / (1 + x ** 2))


def reductions(m):
    return (np.sum(np.max(m, axis=0) * np.sum(m ** 2, axis=1)[:5])
            + np.prod(np.mean(m, axis=1)) + np.sum(np.cumsum(m, axis=1)[:, -1] ** 2))


def matmul_numpy_weight(x):
    return np.sum(np.cos(x @ WN))


def mixed_tree(p):
    return np.sum(p["a"] ** 2 * 3) + np.sum(np.sin(p["b"][0]) * p["b"][1] * p["b"][0])


SCALARS = [  # (name, f, dask args, numpy args)
    ("logistic", lambda X: logistic(WN, X, Y), (X,), (XN,)),
    ("logistic_w", lambda w: logistic(w, X, Y), (WN,), (WN,)),
    ("least_squares", lambda X: least_squares(WN, X, Y), (X,), (XN,)),
    ("chain", chain, (V,), (VN,)),
    ("reductions", reductions, (M,), (MN,)),
    ("matmul_numpy_weight", matmul_numpy_weight, (X,), (XN,)),
]


def _numpy_twin(f, name):
    """The same function on the NumPy data (the closures above read the Dask X and Y)."""
    if name == "logistic":
        return lambda X: logistic(WN, X, YN)
    if name == "logistic_w":
        return lambda w: logistic(w, XN, YN)
    if name == "least_squares":
        return lambda X: least_squares(WN, X, YN)
    return f


@pytest.mark.parametrize("name,f,args,nargs", SCALARS, ids=[s[0] for s in SCALARS])
def test_grad_value_and_grad(name, f, args, nargs):
    fn = _numpy_twin(f, name)
    value, g = lazily(lambda: cr.value_and_grad(f)(*args))
    want_value, want_g = cr.value_and_grad(fn)(*nargs)
    assert_dask_equal((value, g), (want_value, want_g))
    assert_dask_equal(lazily(lambda: cr.grad(f)(*args)), want_g)
    if isinstance(args[0], da.Array):     # the gradient is chunked as its input
        assert g.chunks == args[0].chunks


@pytest.mark.parametrize("name,f,args,nargs", SCALARS, ids=[s[0] for s in SCALARS])
def test_jvp_and_hvp(name, f, args, nargs):
    fn = _numpy_twin(f, name)
    x, xn = args[0], nargs[0]
    tn = np.cos(np.arange(xn.size, dtype=float)).reshape(xn.shape)
    t = da.from_array(tn, chunks=x.chunks) if isinstance(x, da.Array) else tn
    out, tangent = lazily(lambda: cr.jvp(f, (x,), (t,)))
    assert_dask_equal((out, tangent), cr.jvp(fn, (xn,), (tn,)))
    # forward against reverse: J t == grad . t
    np.testing.assert_allclose(tangent.compute(), np.sum(cr.grad(fn)(xn) * tn), rtol=1e-12)
    h = lazily(lambda: cr.hvp(f, x, t))
    assert_dask_equal(h, cr.hvp(fn, xn, tn))


def test_vjp_of_vector_output_with_dask_cotangent():
    f = lambda m: np.tanh(m) * np.sum(m ** 2, axis=0)       # noqa: E731
    out, pullback = lazily(lambda: cr.vjp(f, M))
    ct = da.from_array(np.ones(MN.shape) / 3, chunks=M.chunks)
    (g,) = lazily(lambda: pullback(ct))
    want_out, want_pullback = cr.vjp(f, MN)
    assert_dask_equal((out, g), (want_out, want_pullback(np.ones(MN.shape) / 3)[0]))


def test_pytree_mixing_dask_and_numpy_leaves():
    p = {"a": V, "b": (VN, V * 0.5)}
    pn = {"a": VN, "b": (VN, VN * 0.5)}
    g = lazily(lambda: cr.grad(mixed_tree)(p))
    want = cr.grad(mixed_tree)(pn)
    # a Dask leaf gets a Dask gradient; the NumPy leaf's gradient reads Dask data: Dask too
    assert_dask_equal(g, want)


def test_jacobians_of_small_outputs_and_vmap():
    f = lambda x: np.stack([np.sum(x ** 2), np.sum(np.sin(x)), np.max(x)])   # noqa: E731
    for jac in (cr.jacrev, cr.jacfwd, cr.jacobian):
        J = lazily(lambda: jac(f)(V))
        assert_dask_equal(J, cr.jacrev(f)(VN))
        assert J.chunks[1] == V.chunks[0]     # the input's axis keeps its chunks
    per_row = lazily(lambda: cr.vmap(cr.grad(lambda r: np.sum(np.sin(r) * r)))(M))
    assert_dask_equal(per_row, cr.vmap(cr.grad(lambda r: np.sum(np.sin(r) * r)))(MN))
    H = lazily(lambda: cr.hessian(chain)(V))
    assert_dask_equal(H, cr.hessian(chain)(VN))


def test_linearize_and_taylor_mode():
    out, f_jvp = lazily(lambda: cr.linearize(chain, V))
    t = lazily(lambda: f_jvp(V * 0.5))
    want_out, want_jvp = cr.linearize(chain, VN)
    assert_dask_equal((out, t), (want_out, want_jvp(VN * 0.5)))
    d3 = lazily(lambda: cr.derivative(np.tanh, 3)(V))
    assert_dask_equal(d3, cr.derivative(np.tanh, 3)(VN))
    # the third derivative of tanh in closed form: 2 sech^2 (3 tanh^2 - 1)
    s2, t = 1 - np.tanh(VN) ** 2, np.tanh(VN)
    np.testing.assert_allclose(d3.compute(), 2 * s2 * (3 * t ** 2 - 1), rtol=1e-12)


def test_jit_stages_dask_inputs_by_shape_and_dtype():
    vg = cr.jit(cr.value_and_grad(logistic))
    first = lazily(lambda: vg(WN, X, Y))
    again = lazily(lambda: vg(WN, X, Y))      # the same signature: no new trace
    assert vg.cache_info()["traces"] == 1
    want = cr.value_and_grad(logistic)(WN, XN, YN)
    assert_dask_equal(first, want)
    assert_dask_equal(again, want)


def test_value_and_grad_share_the_forward_pass():
    v, g = cr.value_and_grad(logistic)(WN, X, Y)
    with Counter() as apart:
        v.compute()
        g.compute()
    with Counter() as together:
        value, grad = dask.compute(v, g)
    assert together.computes == 1
    assert together.tasks < apart.tasks      # X @ w and its chunks are computed once
    want_v, want_g = cr.value_and_grad(logistic)(WN, XN, YN)
    np.testing.assert_allclose(value, want_v, rtol=1e-12)
    np.testing.assert_allclose(grad, want_g, rtol=1e-12)


# -- bad input ------------------------------------------------------------------------------------
def test_unknown_chunk_sizes_are_refused():
    with pytest.raises(UnknownChunksError, match="compute_chunk_sizes"):
        cr.grad(lambda x: np.sum(x ** 2))(V[V > 0])


def test_mismatched_chunks_are_refused():
    with pytest.raises(ChunkMismatchError, match="rechunk"):
        cr.jvp(np.sin, (V,), (V.rechunk(6),))
    _, pullback = cr.vjp(np.sin, V)
    with pytest.raises(ChunkMismatchError, match="cotangent"):
        pullback(V.rechunk(4))
    # a NumPy tangent is chunked by Dask to fit: allowed
    assert_dask_equal(cr.jvp(np.sin, (V,), (VN,))[1], np.cos(VN) * VN)


def test_operations_that_cannot_stay_lazy_are_refused():
    # a Python `if` on a value of the Dask argument would compute it
    def branchy(w, X):
        return np.sum(X @ w) if np.sum(X) > 0 else 0.0
    with pytest.raises(LazyComputeError, match="compute"):
        cr.grad(branchy)(WN, X)
    # while_loop's trip count needs values
    with pytest.raises(LazyComputeError, match="while_loop"):
        cr.grad(lambda x: np.sum(cr.while_loop(lambda c: np.sum(c) < 100, lambda c: c * 2,
                                               x)))(V + 2)
    # an int beside an index array: the derivative would assign at pairs of indices
    with pytest.raises(LazyArrayError, match="one 1-d integer array"):
        cr.grad(lambda m: np.sum(m[1, np.array([0, 0, 2])] ** 2))(M)
    # sparse Jacobians are matrices of values
    with pytest.raises(LazyComputeError, match="sparse"):
        cr.sparse_jacobian(np.sin, V)



@pytest.mark.parametrize("idx", [np.array([0, 7, 3]), np.array([0, 0, 3, -12, 5, 0, 11]),
                                 np.array([], dtype=int)])
def test_integer_indices_with_repeats_accumulate(idx):
    """The transpose of x[idx] adds at repeated indices, in layers of distinct ones."""
    def f(m):
        return (np.sum(np.sin(m[:, idx % 5]) * np.arange(idx.size)) + np.sum(m[idx % 6] ** 2)
                + np.sum(m[None, 1:3, np.newaxis] ** 3))
    g = lazily(lambda: cr.grad(f)(M))
    assert_dask_equal(g, cr.grad(f)(MN))


def test_numpy_inputs_are_unchanged():
    g = cr.grad(chain)(VN)
    assert type(g) is np.ndarray
    assert type(cr.grad(lambda x: x ** 2)(1.5)) is float


# -- a dask.distributed cluster with two worker processes -----------------------------------------
@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def test_gradients_on_a_local_cluster(client):
    assert len(client.scheduler_info()["workers"]) == 2
    value, g = lazily(lambda: cr.value_and_grad(logistic)(WN, X, Y))
    h = cr.hvp(lambda w: logistic(w, X, Y), WN, np.ones(4))
    with distributed.get_task_stream(client) as stream:
        got = client.gather(client.compute([value, g, h]))
    want_v, want_g = cr.value_and_grad(logistic)(WN, XN, YN)
    np.testing.assert_allclose(got[0], want_v, rtol=1e-12)
    np.testing.assert_allclose(got[1], want_g, rtol=1e-12)
    np.testing.assert_allclose(got[2], cr.hvp(lambda w: logistic(w, XN, YN), WN, np.ones(4)),
                               rtol=1e-12)
    # the tasks ran in the two worker processes, not in this one
    ran_on = {t["worker"] for t in stream.data}
    assert stream.data and ran_on <= set(client.scheduler_info()["workers"])
    assert os.getpid() not in client.run(os.getpid).values()
    gX = cr.grad(logistic, 1)(WN, X, Y)
    np.testing.assert_allclose(gX.compute(), cr.grad(logistic, 1)(WN, XN, YN), rtol=1e-12)


def test_the_guard_holds_under_a_client(client):
    def branchy(w, X):
        return np.sum(X @ w) if np.sum(X) > 0 else 0.0
    with pytest.raises(LazyComputeError):
        cr.grad(branchy)(WN, X)


def test_graphs_hold_no_large_numpy_constants():
    """The cotangent of a sum is broadcast in Dask (zeros plus a scalar, chunked as the data):
    the graph of value and gradient for 1e6 rows is small, not 8 MB of a NumPy constant."""
    import cloudpickle
    rng = da.random.default_rng(0)
    Xb = rng.standard_normal((10 ** 6, 2), chunks=(250_000, 2))
    yb = (rng.random(10 ** 6, chunks=250_000) < 0.5).astype(float)
    for f in (cr.value_and_grad(logistic), cr.jit(cr.value_and_grad(logistic))):
        v, g = lazily(lambda: f(np.ones(2), Xb, yb))
        graph = dict(v.__dask_graph__()) | dict(g.__dask_graph__())
        assert len(cloudpickle.dumps(graph)) < 200_000


def test_writing_into_buffers_made_like_the_input():
    def f(x):
        y = np.zeros_like(x)
        y[2] = x[0] * x[1]
        y[4:6] = x[:2] ** 2
        return np.sum(y * x)
    assert_dask_equal(lazily(lambda: cr.grad(f)(V)), cr.grad(f)(VN))
    assert_dask_equal(lazily(lambda: cr.jvp(f, (V,), (V,))), cr.jvp(f, (VN,), (VN,)))
