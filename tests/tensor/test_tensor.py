"""The PyTorch-style Tensor interface: the lecture's snippets, accumulation, higher orders,
no_grad, detach, retained and freed graphs, named errors, version counters, and agreement with
the functional API. Expected values come from closed forms, finite differences or chainrule's
functional API, never from the Tensor code under test."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.core import get_aval
from chainrule.core.errors import (ChainruleError, ConcretizationError, NonDifferentiableInputError,
                                   NonScalarOutputError, ShapeMismatchError,
                                   UnsupportedFunctionError)
from chainrule.tensor import (GraphFreedError, InplaceModificationError, RequiresGradError,
                              UnusedInputError, enable_grad, is_grad_enabled)


def f(x):
    return x**3 + 2*x**2 + x


# f'(x) = 3x^2 + 4x + 1, f''(x) = 6x + 4, f'''(x) = 6
def df(x):
    return 3 * x**2 + 4 * x + 1


# -- the lecture's snippets, written the natural way --------------------------------------------
def test_lecture_first_derivative_prints_21(capsys):
    x = cr.tensor([2.0], requires_grad=True)
    y = f(x)
    y.backward()
    print(x.grad)
    assert capsys.readouterr().out.strip() == "tensor([21.])"


def test_lecture_second_derivative_prints_16(capsys):
    x = cr.tensor([2.0], requires_grad=True)
    y = f(x)
    y.backward(create_graph=True)
    grad_1 = x.grad
    x.grad.zero_()
    grad_1.backward()
    grad_2 = x.grad
    print(grad_2)
    assert capsys.readouterr().out.strip() == "tensor([16.])"
    # the first derivative that grad_1 holds was not destroyed by zero_()
    np.testing.assert_allclose(grad_1.detach().numpy(), [21.0])


def test_clean_pattern_to_third_order():
    for x0 in (-1.5, 0.0, 2.0):
        x = cr.tensor(x0, requires_grad=True)
        g, = cr.autograd.grad(f(x), x, create_graph=True)
        g2, = cr.autograd.grad(g, x, create_graph=True)
        g3, = cr.autograd.grad(g2, x)
        np.testing.assert_allclose(
            [g.item(), g2.item(), g3.item()], [df(x0), 6 * x0 + 4, 6.0], rtol=1e-12)
        assert x.grad is None                   # autograd.grad leaves .grad alone


def test_backward_create_graph_to_third_order_closed_form():
    # d^k/dx^k e^x sin x: e^x (sin + cos), 2 e^x cos, 2 e^x (cos - sin)
    x0 = np.array([-0.7, 0.3, 1.9])
    x = cr.tensor(x0, requires_grad=True)
    (np.exp(x) * np.sin(x)).sum().backward(create_graph=True)
    g1, x.grad = x.grad, None
    g1.sum().backward(create_graph=True)
    g2, x.grad = x.grad, None
    g2.sum().backward()
    e, s, c = np.exp(x0), np.sin(x0), np.cos(x0)
    np.testing.assert_allclose(g1.detach().numpy(), e * (s + c), rtol=1e-12)
    np.testing.assert_allclose(g2.detach().numpy(), 2 * e * c, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 2 * e * (c - s), rtol=1e-12)


def test_third_order_through_indexing_and_matmul_matches_functional():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 4))
    v = rng.normal(size=4)

    def h(x):
        return np.sum(np.tanh(W @ x)[1:] * x[:-1] ** 2)

    x0 = rng.normal(size=4)
    x = cr.tensor(x0, requires_grad=True)
    g, = cr.autograd.grad(h(x), x, create_graph=True)
    hv, = cr.autograd.grad(g, x, grad_outputs=cr.tensor(v), create_graph=True)
    t3, = cr.autograd.grad((hv * v).sum(), x)
    # the same directional derivatives with the functional API
    grad_h = cr.grad(h)
    hvp = lambda y: cr.jvp(grad_h, (y,), (v,))[1]                       # noqa: E731
    np.testing.assert_allclose(g.detach().numpy(), grad_h(x0), rtol=1e-10)
    np.testing.assert_allclose(hv.detach().numpy(), hvp(x0), rtol=1e-10)
    np.testing.assert_allclose(t3.numpy(), cr.grad(lambda y: np.dot(hvp(y), v))(x0),
                               rtol=1e-9, atol=1e-12)


# -- accumulation and aliasing ------------------------------------------------------------------
def test_grad_is_none_before_backward_and_accumulates():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    assert x.grad is None
    (x * x).sum().backward()
    first = x.grad
    np.sin(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.data + np.cos(x.data))
    np.testing.assert_allclose(first.numpy(), 2 * x.data)   # backward made a new Tensor
    x.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    x.grad = None
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_shared_subexpression_and_several_leaves():
    a = cr.tensor(1.5, requires_grad=True)
    b = cr.tensor(-0.5, requires_grad=True)
    c = a * b
    y = c * c + np.exp(c) + a             # y = (ab)^2 + e^(ab) + a
    y.backward()
    ab = 1.5 * -0.5
    np.testing.assert_allclose(a.grad.item(), (2 * ab + np.exp(ab)) * -0.5 + 1)
    np.testing.assert_allclose(b.grad.item(), (2 * ab + np.exp(ab)) * 1.5)
    assert c.grad is None                 # only leaves accumulate


def test_backward_with_gradient_is_a_vjp():
    rng = np.random.default_rng(1)
    A, x0, v = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    x = cr.tensor(x0, requires_grad=True)
    y = np.tanh(A @ x)
    y.backward(cr.tensor(v))
    _, vjp_fn = cr.vjp(lambda z: np.tanh(A @ z), x0)
    np.testing.assert_allclose(x.grad.numpy(), vjp_fn(v)[0], rtol=1e-12)


def test_backward_from_a_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.backward(cr.tensor([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


# -- operations: values and gradients against the functional API ----------------------------
W = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
OPS = [
    ("sin", lambda t: np.sin(t)),
    ("cube", lambda t: t**3),
    ("matmul", lambda t: W @ t),
    ("rmatmul", lambda t: t @ W.T),
    ("slice", lambda t: t[1:]),
    ("fancy index", lambda t: t[[2, 0, 2]]),
    ("sum", lambda t: t.sum()),
    ("mean", lambda t: t.mean()),
    ("reshape T", lambda t: (t.reshape(3, 1) * t).T),
    ("div rsub", lambda t: (1.0 - t) / (2.0 + t**2)),
    ("concatenate", lambda t: np.concatenate([t, 2 * t[:1]])),
    ("where", lambda t: np.where(t > 0, t**2, -t)),
    ("max", lambda t: np.max(t * np.array([1.0, 2.0, 0.5]))),
    ("exp log", lambda t: np.log(1 + np.exp(t))),
    ("methods", lambda t: np.exp(t).sum(axis=0, keepdims=True) * t.mean() * t.max()),
    ("stack", lambda t: np.stack([t, t * t], axis=1)),
    ("maximum", lambda t: np.maximum(t, 0.25)),
    ("pow tensor", lambda t: np.abs(t) ** t),
]


@pytest.mark.parametrize("name,op", OPS, ids=[n for n, _ in OPS])
def test_operation_value_and_gradient(name, op):
    x0 = np.array([0.4, -1.3, 0.9])
    v0 = op(x0)
    x = cr.tensor(x0, requires_grad=True)
    y = op(x)
    assert isinstance(y, cr.Tensor) and y.requires_grad
    np.testing.assert_allclose(y.detach().numpy(), v0, rtol=1e-14)
    ct = np.linspace(0.5, 1.5, np.size(v0)).reshape(np.shape(v0))
    y.backward(cr.tensor(ct))
    expected = cr.grad(lambda z: np.sum(op(z) * ct))(x0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_pytorch_style_methods():
    x0 = np.array([[0.4, -1.3], [0.9, 0.2]])
    x = cr.tensor(x0, requires_grad=True)
    y = x.exp().sum(dim=0, keepdim=True) * x.tanh().mean(dim=1).view(2, 1) + x.relu().sigmoid()
    y.sum().backward()
    fun = lambda z: np.sum(np.exp(z).sum(0, keepdims=True) * np.tanh(z).mean(1).reshape(2, 1)
                           + 1 / (1 + np.exp(-np.maximum(z, 0))))                 # noqa: E731
    np.testing.assert_allclose(y.sum().item(), fun(x0), rtol=1e-13)
    np.testing.assert_allclose(x.grad.numpy(), cr.grad(fun)(x0), rtol=1e-12)
    assert x.unsqueeze(0).shape == (1, 2, 2) and x.numel() == 4 and x.dim() == 2


def test_gradients_agree_with_finite_differences():
    x0 = np.array([0.3, -0.8])
    fun = lambda t: np.sum(np.sin(t[0] * t) / (1 + t**2))             # noqa: E731
    x = cr.tensor(x0, requires_grad=True)
    fun(x).backward()
    eps = 1e-6
    fd = [(fun(x0 + eps * e) - fun(x0 - eps * e)) / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-7)


def _random_function(rng):
    """A random composition of differentiable NumPy operations, R^4 -> R."""
    A = rng.normal(size=(4, 4))
    unary = [np.sin, np.tanh, lambda z: z**2, lambda z: np.exp(-z**2),
             lambda z: np.sqrt(z**2 + 1.0), lambda z: np.log1p(z**2), lambda z: A @ z,
             lambda z: z[::-1] * z, lambda z: z / (1.0 + np.sum(z**2))]
    picks = [unary[i] for i in rng.integers(len(unary), size=5)]
    mix = rng.normal(size=4)

    def fun(z):
        h = z
        for g in picks:
            h = g(h) + 0.5 * h
        return np.sum(h * mix) + np.max(h)
    return fun


@pytest.mark.parametrize("seed", range(8))
def test_autograd_grad_matches_functional_grad_and_hvp(seed):
    rng = np.random.default_rng(seed)
    fun = _random_function(rng)
    x0, v = rng.normal(size=4), rng.normal(size=4)
    x = cr.tensor(x0, requires_grad=True)
    g, = cr.autograd.grad(fun(x), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), cr.grad(fun)(x0), rtol=1e-10, atol=1e-12)
    hv, = cr.autograd.grad(g, x, grad_outputs=cr.tensor(v))
    np.testing.assert_allclose(hv.numpy(), cr.hvp(fun, x0, v), rtol=1e-9, atol=1e-12)


def test_grad_with_respect_to_an_intermediate_and_several_outputs():
    x = cr.tensor([0.5, 1.5], requires_grad=True)
    h = np.sin(x)
    y1, y2 = (h**2).sum(), (h * x).sum()
    gh, gx = cr.autograd.grad([y1, y2], [h, x])
    s, c = np.sin(x.data), np.cos(x.data)
    np.testing.assert_allclose(gh.numpy(), 2 * s + x.data)          # d(y1 + y2)/dh, x held
    np.testing.assert_allclose(gx.numpy(), 2 * s * c + c * x.data + s)


# -- no_grad, detach, attributes ------------------------------------------------------------
def test_no_grad_context_and_decorator():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
        assert not is_grad_enabled()
        with enable_grad():
            z = x * 3
    assert is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y.grad_fn is None
    assert z.requires_grad

    @cr.no_grad()
    def double(t):
        return t * 2
    assert not double(x).requires_grad
    assert (x * 2).requires_grad                 # recording is back on


def test_detach_cuts_the_derivative():
    x = cr.tensor(3.0, requires_grad=True)
    y = x * x.detach()                  # d/dx = x (the detached factor is a constant)
    y.backward()
    assert x.grad.item() == 3.0
    d = x.detach()
    assert d.is_leaf and not d.requires_grad and d.item() == 3.0


def test_attributes():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    assert y.grad_fn.name == "MulBackward" and repr(y.grad_fn) == "<MulBackward>"
    assert (x @ x).grad_fn.name == "DotGeneralBackward"
    assert y.shape == (2, 2) and y.dtype == np.float64 and y.ndim == 2 and y.size == 4
    assert y.sum().item() == 20.0 and float(y[0, 0]) == 2.0
    assert repr(x) == "tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(y)
    assert get_aval(x).shape == (2, 2)
    w = cr.tensor([1.0]).requires_grad_()
    assert w.requires_grad
    assert cr.tensor([1, 2]).dtype == np.int64 and cr.tensor(1.0).dtype == np.float64
    assert cr.tensor([1.0], dtype=np.float32).dtype == np.float32
    assert not (x > 2).requires_grad and (x > 2).dtype == bool


def test_values_are_read_only():
    t = cr.tensor([1.0, 2.0])
    with pytest.raises(ValueError):
        t.numpy()[0] = 5.0
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 7.0                          # tensor() copies
    assert t[0].item() == 1.0


# -- retained and freed graphs -------------------------------------------------------------------
def test_second_backward_through_freed_graph_raises():
    x = cr.tensor(2.0, requires_grad=True)
    y = np.sin(x) * x
    y.backward()
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = cr.tensor(2.0, requires_grad=True)
    y = np.sin(x) * x
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 2 * (np.cos(2.0) * 2 + np.sin(2.0)))


def test_create_graph_retains_by_default():
    x = cr.tensor(2.0, requires_grad=True)
    y = x**3
    y.backward(create_graph=True)
    y.backward()
    assert x.grad.item() == 24.0


# -- errors ------------------------------------------------------------------------------------
def test_non_scalar_backward_needs_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(NonScalarOutputError, match="y.sum"):
        (x * 2).backward()
    with pytest.raises(ShapeMismatchError):
        (x * 2).backward(cr.tensor([1.0, 2.0, 3.0]))


def test_backward_without_requires_grad():
    with pytest.raises(RequiresGradError):
        (cr.tensor([1.0]) * 2).backward()
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
    with pytest.raises(RequiresGradError):
        y.backward()


def test_unused_input():
    x = cr.tensor(1.0, requires_grad=True)
    z = cr.tensor(1.0, requires_grad=True)
    with pytest.raises(UnusedInputError, match="allow_unused"):
        cr.autograd.grad(x * 2, [x, z])
    gx, gz = cr.autograd.grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None


def test_only_floating_tensors_require_grad():
    with pytest.raises(NonDifferentiableInputError):
        cr.tensor([1, 2], requires_grad=True)


def test_numpy_of_tensor_that_requires_grad_is_refused():
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ConcretizationError, match="detach"):
        x.numpy()
    with pytest.raises(ConcretizationError):
        np.asarray(x * 2)


def test_unsupported_function_is_named_when_recorded():
    from chainrule.core import dispatch
    assert np.histogram not in dispatch.functions      # no derivative for a histogram
    call = lambda t: np.histogram(t, bins=2)  # noqa: E731
    x = cr.tensor([1.0, 3.0, 2.0], requires_grad=True)
    with pytest.raises(UnsupportedFunctionError, match="histogram"):
        call(x)
    call(x.detach())                             # fine without a derivative


def test_errors_are_chainrule_errors():
    for cls in (GraphFreedError, InplaceModificationError, RequiresGradError, UnusedInputError):
        assert issubclass(cls, ChainruleError) and issubclass(cls, RuntimeError)


# -- in-place operations and version counters --------------------------------------------------
def test_inplace_change_of_a_saved_constant_is_detected():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    a = cr.tensor([3.0, 4.0])
    y = (x * a).sum()
    v = a._version
    a += 1.0                                  # no history: modified in place, version bumped
    assert a._version == v + 1
    with pytest.raises(InplaceModificationError, match="modified in place"):
        y.backward()


def test_parameter_update_between_forward_and_backward_is_detected():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w**2).sum()
    with cr.no_grad():
        w -= 0.1 * w.detach()
    with pytest.raises(InplaceModificationError):
        loss.backward()
    w2 = cr.tensor([1.0], requires_grad=True)
    loss = (w2 * 3).sum()
    w2.data = np.array([5.0])                 # .data assignment bumps the version too
    with pytest.raises(InplaceModificationError):
        loss.backward()


def test_inplace_on_leaf_that_requires_grad_is_refused():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(InplaceModificationError, match="no_grad"):
        w += 1.0
    with pytest.raises(InplaceModificationError):
        w.mul_(2.0)
    with cr.no_grad():
        w -= 0.5
    assert w.item() == 0.5 and w.is_leaf and w.requires_grad


def test_inplace_on_graph_values():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h_before = h
    h += 1.0                                  # rebinds h to h + 1; the recorded value stays
    assert h is not h_before and h_before.detach().tolist() == [2.0, 4.0]
    with pytest.raises(InplaceModificationError):
        h.mul_(2.0)
    with pytest.raises(InplaceModificationError):
        h[0] = 0.0
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * (2 * x.data + 1))


def test_setitem_and_inplace_without_history():
    a = cr.tensor([1.0, 2.0, 3.0])
    a[1] = 5.0
    a.mul_(2.0).add_(1.0)
    assert a.tolist() == [3.0, 11.0, 7.0] and a._version == 3
    a.zero_()
    assert a.tolist() == [0.0, 0.0, 0.0]


# -- interplay with the functional API ---------------------------------------------------------
def test_tracers_win_over_tensors():
    t = cr.tensor([1.0, 2.0, 3.0])
    x0 = np.array([0.5, 0.1, -0.2])
    g1 = cr.grad(lambda z: np.sum(z * t))(x0)
    g2 = cr.grad(lambda z: np.sum(t * np.sin(z)))(x0)
    np.testing.assert_allclose(np.asarray(g1), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.asarray(g2), [1.0, 2.0, 3.0] * np.cos(x0))


def test_tracers_win_over_tensors_that_require_grad():
    """The operators and ufuncs that record their primitive at once (without the NumPy layer's
    handler) still hand the call to a transformation's tracer among the operands, on either
    side, also when the Tensor requires grad."""
    t = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = t.detach().numpy()
    x0 = np.array([0.5, 0.1, -0.2])
    cases = [(lambda z: np.sum(t * z), c), (lambda z: np.sum(z * t), c),
             (lambda z: np.sum(t - z), -np.ones(3)), (lambda z: np.sum(z + t), np.ones(3)),
             (lambda z: np.sum(t / z), -c / x0**2), (lambda z: np.sum(z / t), 1 / c),
             (lambda z: np.sum(np.arctan2(t, z)), -c / (c**2 + x0**2))]
    for f, want in cases:
        g = cr.grad(f)(x0)          # a Tensor where it depends on t
        g = g.detach().numpy() if isinstance(g, cr.Tensor) else np.asarray(g)
        np.testing.assert_allclose(g, want, rtol=1e-13)


def test_backward_order_with_shared_and_reused_results():
    """Results used several times and in several branches (a diamond, a value reused after
    later operations): the backward visits each operation after all its consumers; the
    gradient equals the closed form."""
    x = cr.tensor(0.7, requires_grad=True)
    a = np.sin(x)
    b = a * a
    c = np.exp(a) + b
    d = c * x + a * b
    d.backward()
    v = 0.7
    s, co = np.sin(v), np.cos(v)
    c_v = np.exp(s) + s * s
    want = (np.exp(s) * co + 2 * s * co) * v + c_v + 3 * s * s * co
    np.testing.assert_allclose(x.grad.item(), want, rtol=1e-14)


def test_long_chain_does_not_recurse():
    x = cr.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(2000):
        y = y * 1.0005
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0005**2000, rtol=1e-10)


def test_autograd_imports_as_a_module():
    """``import chainrule.autograd`` as ``import torch.autograd``, the same module either way."""
    import importlib

    import chainrule
    mod = importlib.import_module("chainrule.autograd")
    assert mod is chainrule.autograd
    from chainrule.autograd import grad
    x = chainrule.tensor(2.0, requires_grad=True)
    (g,) = grad(x ** 3, x)
    assert float(g) == 12.0


def test_loops_and_branches_on_tensors_match_the_functional_gradient():
    """Primitives holding a graph (fori_loop, scan, cond, while_loop, checkpoint) recorded on
    the tape: their linear part is staged by the loop's partial evaluation rule; the gradient
    equals chainrule.grad of the same function on arrays and central differences."""
    def body(i, c):
        return np.sin(c) * c + 0.1
    funs = [
        lambda x: cr.fori_loop(0, 3, body, x).sum(),
        lambda x: sum(cr.scan(lambda c, xi: (c * xi + np.sin(c), c * 2), x[0], x)[1]) * x[1],
        lambda x: cr.cond(x[0] > 0, lambda v: np.exp(v).sum(), lambda v: (v**2).sum(), x),
        lambda x: cr.while_loop(lambda c: c[1] < 3, lambda c: (np.cos(c[0]) * c[0], c[1] + 1),
                                (x, 0))[0].sum(),
        lambda x: cr.checkpoint(lambda v: np.tanh(v) * v)(x).sum(),
    ]
    x0 = np.array([0.3, 0.7, -0.4])
    for f in funs:
        x = cr.tensor(x0, requires_grad=True)
        y = f(x)
        y.backward()
        want = cr.grad(f)(x0)
        np.testing.assert_allclose(x.grad.data, want, rtol=1e-12, atol=1e-14)
        h = 1e-6
        fd = [(f(x0 + h * e) - f(x0 - h * e)) / (2 * h) for e in np.eye(3)]
        np.testing.assert_allclose(x.grad.data, fd, rtol=1e-6, atol=1e-8)


def test_operation_with_identity_linear_map_passes_the_cotangent_through():
    """``x + 0.0`` has the tangent of ``x`` as its own (no recorded equation): the backward
    passes the cotangent through unchanged, alone and inside a chain."""
    x = cr.tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = x + 0.0
    assert y.grad_fn is not None
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, -4.0])
    x = cr.tensor(np.array([1.0, -2.0]), requires_grad=True)
    (x + 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
