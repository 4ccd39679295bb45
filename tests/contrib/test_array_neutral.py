"""The door to GPU arrays: chainrule's rules are neutral in the array library.

``Duck`` is an array library that is not NumPy, as CuPy is: it speaks NumPy's protocols
(``__array_ufunc__``, ``__array_function__``), defers to other libraries' arrays, and refuses
to be converted to a NumPy array (CuPy raises TypeError there too). Derivatives of functions of
Duck arrays must come out as Duck arrays equal to the NumPy results, so nothing in the rules
forces an array into NumPy. The last test runs the same on CuPy where a GPU is present.
"""
import numpy as np
import pytest

import chainrule as cr


class Duck(np.lib.mixins.NDArrayOperatorsMixin):
    def __init__(self, a):
        self.a = np.asarray(a)

    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    ndim = property(lambda self: self.a.ndim)
    size = property(lambda self: self.a.size)
    T = property(lambda self: Duck(self.a.T))

    def __array__(self, *args, **kwargs):
        raise TypeError("a Duck array was converted to a NumPy array")

    def __getitem__(self, idx):
        return Duck(self.a[idx])

    def __setitem__(self, idx, value):
        self.a[idx] = value.a if isinstance(value, Duck) else value

    def __len__(self):
        return len(self.a)

    def copy(self):
        return Duck(self.a.copy())

    def astype(self, dtype, **kwargs):
        return Duck(self.a.astype(dtype, **kwargs))

    def reshape(self, *shape, **kwargs):
        return Duck(self.a.reshape(*shape, **kwargs))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs or any(hasattr(i, "__array_ufunc__") and not isinstance(
                i, (Duck, np.ndarray, np.generic)) for i in inputs):
            return NotImplemented          # a tracer among the inputs handles the call
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (Duck, np.ndarray)) for t in types):
            return NotImplemented
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))


def _unwrap(x):
    if isinstance(x, Duck):
        return x.a
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(i) for i in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    if isinstance(x, (np.ndarray, np.generic)):
        return Duck(x)
    if isinstance(x, tuple):
        return tuple(_wrap(i) for i in x)
    return x


XN = np.linspace(-1, 1, 8)
AN = np.arange(24.0).reshape(6, 4) / 10
WN = np.array([0.3, -0.2, 0.5, 0.1])


def chain(x):
    return np.sum(np.tanh(np.exp(np.sin(x)) * x) / (1 + x ** 2))


def logistic(w, a):
    z = a @ w
    return np.mean(np.logaddexp(0, z) - 0.5 * z)


def stacked(x):
    return np.stack([np.sum(x ** 2), np.sum(x[:3]), np.max(x)])


def transformations(x, a):
    """The same transformations of functions of ``x`` (1-d) and ``a`` (6 x 4)."""
    t = x * 0 + 1
    return {
        "grad": cr.grad(chain)(x),
        "jvp": cr.jvp(chain, (x,), (t,)),
        "hvp": cr.hvp(chain, x, t),
        "grad_a": cr.grad(logistic, 1)(WN, a),
        "grad_w": cr.grad(logistic)(WN, a),
        "jacrev": cr.jacrev(stacked)(x),
        "vmap": cr.vmap(cr.grad(lambda r: np.sum(r ** 3)))(a),
    }


def test_rules_keep_the_array_library():
    got = transformations(Duck(XN), Duck(AN))
    want = transformations(XN, AN)
    for name in want:
        g_leaves = cr.tree_flatten(got[name])[0]
        w_leaves = cr.tree_flatten(want[name])[0]
        for g, w in zip(g_leaves, w_leaves):
            assert isinstance(g, Duck), f"{name}: a {type(g).__name__} came out"
            np.testing.assert_allclose(g.a, w, rtol=1e-12, atol=1e-15)


@pytest.mark.gpu
def test_cupy_arrays_on_a_gpu():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed (no GPU here)")
    if cupy.cuda.runtime.getDeviceCount() == 0:
        pytest.skip("no GPU present")
    got = transformations(cupy.asarray(XN), cupy.asarray(AN))
    want = transformations(XN, AN)
    for name in want:
        for g, w in zip(cr.tree_flatten(got[name])[0], cr.tree_flatten(want[name])[0]):
            assert isinstance(g, cupy.ndarray), f"{name}: a {type(g).__name__} came out"
            np.testing.assert_allclose(cupy.asnumpy(g), w, rtol=1e-12, atol=1e-15)
