"""The layers built on ops/nn.py's primitives and the lean paths of nn.functional (convolution,
batch and layer norm, max pooling over tiling windows, relu): the same values and derivatives in
every mode (Tensor backward, grad, jvp, jit, central differences), second derivatives through
the Tensor API (create_graph=True) against torch's, and torch's tie-breaking in max pooling."""
import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

F = nn.functional
rng = np.random.default_rng(3)

LAYERS = {
    "conv2d": (lambda x: F.conv2d(x, W2, B2, stride=(1, 2), padding=1),
               lambda t: torch.nn.functional.conv2d(t, torch.tensor(W2), torch.tensor(B2),
                                                    stride=(1, 2), padding=1), (2, 2, 5, 4)),
    "batch_norm": (lambda x: F.batch_norm(x, None, None, G, B, training=True),
                   lambda t: torch.nn.functional.batch_norm(t, None, None, torch.tensor(G),
                                                            torch.tensor(B), training=True),
                   (4, 2, 3, 2)),
    "layer_norm": (lambda x: F.layer_norm(x, (3, 2)),
                   lambda t: torch.nn.functional.layer_norm(t, (3, 2)), (4, 2, 3, 2)),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2),
                   lambda t: torch.nn.functional.max_pool2d(t, 2), (2, 2, 4, 6)),
    "max_pool1d": (lambda x: F.max_pool1d(x, 3),
                   lambda t: torch.nn.functional.max_pool1d(t, 3), (2, 3, 6)),
    "relu": (F.relu, torch.relu, (3, 4)),
}
W2, B2 = rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
G, B = rng.standard_normal(2), rng.standard_normal(2)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_in_every_mode_and_against_torch(name):
    ours, theirs, shape = LAYERS[name]
    x0 = rng.standard_normal(shape)
    v = rng.standard_normal(np.shape(ours(x0)))

    def f(x):
        return np.sum(np.tanh(ours(x)) * v)
    g = cr.grad(f)(x0)
    d = rng.standard_normal(shape)
    _, t = cr.jvp(f, (x0,), (d,))
    np.testing.assert_allclose(np.sum(g * d), t, rtol=1e-10)
    eps = 1e-6
    np.testing.assert_allclose(t, (f(x0 + eps * d) - f(x0 - eps * d)) / (2 * eps), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x0), g, rtol=1e-12, atol=1e-14)
    x = cr.tensor(x0, requires_grad=True)
    f(x).backward()
    np.testing.assert_allclose(x.grad.data, g, rtol=1e-12, atol=1e-14)
    tx = torch.tensor(x0, requires_grad=True)
    out = torch.sum(torch.tanh(theirs(tx)) * torch.tensor(v))
    out.backward()
    np.testing.assert_allclose(f(x0), out.item(), rtol=1e-12)
    np.testing.assert_allclose(g, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["conv2d", "batch_norm", "layer_norm", "max_pool2d"])
def test_second_derivative_through_the_tensor_api_matches_torch(name):
    ours, theirs, shape = LAYERS[name]
    x0 = rng.standard_normal(shape)
    d = rng.standard_normal(shape)
    x = cr.tensor(x0, requires_grad=True)
    (g,) = cr.autograd.grad((ours(x).tanh() ** 2).sum(), [x], create_graph=True)
    (g * cr.tensor(d)).sum().backward()
    tx = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.sum(torch.tanh(theirs(tx)) ** 2), [tx], create_graph=True)
    torch.sum(tg * torch.tensor(d)).backward()
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_max_pool_ties_go_to_the_first_maximum_as_in_torch():
    """Ties, -inf windows and NaN (which counts as the maximum) as torch."""
    x0 = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 5.0, 5.0]],
                    [[-np.inf, -np.inf, 2.0, np.nan], [-np.inf, -np.inf, np.nan, 2.0]]]])
    x = cr.tensor(x0, requires_grad=True)
    y = F.max_pool2d(x, 2)
    y.sum().backward()
    tx = torch.tensor(x0, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 2)
    ty.sum().backward()
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    np.testing.assert_array_equal(F.max_pool2d(x0, 2), ty.detach().numpy())     # traced path


def test_cross_entropy_common_case_matches_torch_to_second_order():
    z0 = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    v = rng.standard_normal(z0.shape)

    def ours(z):
        return F.cross_entropy(z, labels)
    # the general path (class weights of one) gives the same
    np.testing.assert_allclose(ours(z0), F.cross_entropy(z0, labels, weight=np.ones(4)),
                               rtol=1e-14)
    z = cr.tensor(z0, requires_grad=True)
    (g,) = cr.autograd.grad(ours(z), [z], create_graph=True)
    (g * cr.tensor(v)).sum().backward()
    tz = torch.tensor(z0, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tz, torch.tensor(labels))
    (tg,) = torch.autograd.grad(tl, [tz], create_graph=True)
    (tg * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(ours(z0), tl.item(), rtol=1e-14)
    np.testing.assert_allclose(g.data, tg.detach().numpy(), atol=1e-15)
    np.testing.assert_allclose(z.grad.data, tz.grad.numpy(), atol=1e-14)
    np.testing.assert_allclose(cr.grad(ours)(z0), tg.detach().numpy(), atol=1e-15)


def test_linear_shape_mismatch_is_named():
    with pytest.raises(cr.ShapeMismatchError, match="linear"):
        F.linear(np.ones((2, 3)), np.ones((4, 5)))


def test_max_pool_many_ties_and_nans_match_torch():
    x0 = rng.integers(0, 3, (2, 3, 6, 6)).astype(float)
    x0[rng.random(x0.shape) < 0.1] = np.nan
    for k in (2, 3):
        weights = np.arange(2 * 3 * (6 // k) ** 2).reshape(2, 3, 6 // k, 6 // k) + 1.0
        x = cr.tensor(x0, requires_grad=True)
        (F.max_pool2d(x, k) * cr.tensor(weights)).sum().backward()
        tx = torch.tensor(x0, requires_grad=True)
        (torch.nn.functional.max_pool2d(tx, k) * torch.tensor(weights)).sum().backward()
        np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
