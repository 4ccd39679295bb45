"""chainrule.nn and chainrule.optim: layers, losses against closed forms and the functional
API, optimizer steps against their formulas, and a tiny MLP whose training reduces the loss."""
import importlib.util
import pathlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.core.errors import InvalidArgumentError, ShapeMismatchError


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- layers -------------------------------------------------------------------------------------
def test_linear_shapes_and_parameters():
    layer = nn.Linear(5, 3, rng=0)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert np.all(np.abs(layer.weight.data) <= 1 / np.sqrt(5))
    x = cr.tensor(np.ones((4, 5)))
    y = layer(x)
    assert y.shape == (4, 3)
    np.testing.assert_allclose(y.data, np.ones((4, 5)) @ layer.weight.data.T + layer.bias.data)
    assert nn.Linear(5, 3, bias=False).bias is None
    model = nn.Sequential(nn.Linear(5, 4, rng=1), nn.Tanh(), nn.Linear(4, 2, rng=2))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]     # PyTorch's names
    assert sum(p.size for p in model.parameters()) == 5 * 4 + 4 + 4 * 2 + 2
    assert "Linear(in_features=5" in repr(model)


def test_linear_gradients_closed_form():
    layer = nn.Linear(3, 2, rng=0)
    x0 = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]])
    layer(cr.tensor(x0)).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.tile(x0.sum(axis=0), (2, 1)))
    np.testing.assert_allclose(layer.bias.grad.numpy(), [2.0, 2.0])


def test_activations_closed_form():
    x0 = np.array([-1.5, 0.0, 0.7])
    for fun, deriv in [(nn.relu, lambda z: (z > 0).astype(float)),        # 0 at 0
                       (nn.tanh, lambda z: 1 - np.tanh(z)**2),
                       (nn.sigmoid, lambda z: np.exp(-z) / (1 + np.exp(-z))**2)]:
        x = cr.tensor(x0, requires_grad=True)
        fun(x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), deriv(x0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(nn.Sigmoid()(cr.tensor(x0)).numpy(), 1 / (1 + np.exp(-x0)))
    np.testing.assert_array_equal(nn.ReLU()(cr.tensor(x0)).numpy(), [0.0, 0.0, 0.7])


# -- losses -------------------------------------------------------------------------------------
def test_cross_entropy_value_and_gradient_closed_form():
    rng = np.random.default_rng(0)
    z0 = rng.normal(size=(5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    p = _softmax(z0)
    z = cr.tensor(z0, requires_grad=True)
    loss = nn.cross_entropy(z, labels)
    np.testing.assert_allclose(loss.item(), -np.mean(np.log(p[np.arange(5), labels])))
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy(), (p - np.eye(4)[labels]) / 5, rtol=1e-12)
    np.testing.assert_allclose(nn.CrossEntropyLoss(reduction="sum")(cr.tensor(z0), labels)
                               .item(), 5 * loss.item())
    assert nn.cross_entropy(cr.tensor(z0), cr.tensor(labels), reduction="none").shape == (5,)


def test_cross_entropy_is_stable_for_large_logits():
    z = cr.tensor([[1000.0, 0.0], [0.0, -1000.0]], requires_grad=True)
    loss = nn.cross_entropy(z, np.array([0, 0]))
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() < 1e-300 + 1e-12
    assert np.all(np.isfinite(z.grad.numpy()))
    np.testing.assert_allclose(nn.softmax(cr.tensor([[1000.0, 1000.0]])).numpy(), [[0.5, 0.5]])


def test_losses_serve_both_interfaces():
    # the same loss function differentiated through Tensors and through chainrule.grad
    rng = np.random.default_rng(3)
    z0, labels = rng.normal(size=(6, 3)), rng.integers(3, size=6)
    z = cr.tensor(z0, requires_grad=True)
    nn.cross_entropy(z, labels).backward()
    np.testing.assert_allclose(z.grad.numpy(), cr.grad(lambda a: nn.cross_entropy(a, labels))(z0),
                               rtol=1e-12)
    y0 = rng.normal(size=(6, 3))
    z.grad = None
    nn.MSELoss()(z, y0).backward()
    np.testing.assert_allclose(z.grad.numpy(), 2 * (z0 - y0) / z0.size, rtol=1e-12)


def test_loss_argument_errors():
    with pytest.raises(ShapeMismatchError, match="probabilities"):   # float targets: probabilities
        nn.cross_entropy(cr.tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))
    with pytest.raises(InvalidArgumentError, match="integer class indices"):
        nn.functional.nll_loss(cr.tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))
    with pytest.raises(ShapeMismatchError):
        nn.cross_entropy(cr.tensor(np.zeros((2, 3))), np.array([0, 1, 2]))
    with pytest.raises(InvalidArgumentError):
        nn.mse_loss(cr.tensor(1.0), 0.0, reduction="max")


def test_hessian_of_a_network_loss_matches_functional_hessian():
    # second derivatives through Linear, tanh, log_softmax and indexing, via create_graph
    rng = np.random.default_rng(4)
    x0, labels = rng.normal(size=(3, 2)), np.array([0, 1, 1])
    W2 = rng.normal(size=(2, 2))

    def loss_of(w, W1):
        return nn.cross_entropy(nn.tanh(x0 @ w.reshape(2, 2).T) @ W1, labels)

    w0 = rng.normal(size=4)
    w = cr.tensor(w0, requires_grad=True)
    g, = cr.autograd.grad(loss_of(w, W2), w, create_graph=True)
    rows = [cr.autograd.grad(g[i], w, retain_graph=True)[0].numpy() for i in range(4)]
    np.testing.assert_allclose(np.array(rows), cr.hessian(lambda a: loss_of(a, W2))(w0),
                               rtol=1e-9, atol=1e-12)


# -- optimizers ---------------------------------------------------------------------------------
def _param_with_grad(value, grad):
    p = cr.tensor(value, requires_grad=True)
    p.grad = cr.tensor(grad)
    return p


def test_sgd_step_formula():
    p = _param_with_grad([1.0, -2.0], [0.5, 0.25])
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [1.0 - 0.05, -2.0 - 0.025])
    assert p.is_leaf and p.requires_grad


def test_sgd_momentum_and_weight_decay_formula():
    p = _param_with_grad([1.0], [0.5])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    g1 = 0.5 + 0.01 * 1.0
    opt.step()
    p1 = 1.0 - 0.1 * g1
    np.testing.assert_allclose(p.data, [p1])
    p.grad = cr.tensor([0.2])
    g2 = 0.2 + 0.01 * p1
    opt.step()
    np.testing.assert_allclose(p.data, [p1 - 0.1 * (0.9 * g1 + g2)])


def test_adam_steps_formula():
    p = _param_with_grad([1.0, 2.0], [0.5, -4.0])
    opt = optim.Adam([p], lr=0.01)
    opt.step()                      # first step: m_hat / sqrt(v_hat) = sign(g)
    np.testing.assert_allclose(p.data, [1.0 - 0.01, 2.0 + 0.01], rtol=1e-7)
    p.grad = cr.tensor([1.0, 1.0])
    opt.step()
    g1, g2 = np.array([0.5, -4.0]), np.array([1.0, 1.0])
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    step = 0.01 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    p1 = np.array([1.0, 2.0]) - 0.01 * g1 / (np.abs(g1) + 1e-8)
    np.testing.assert_allclose(p.data, p1 - step, rtol=1e-12)


def test_zero_grad_and_parameters_without_grad():
    a = _param_with_grad([1.0], [3.0])
    b = cr.tensor([2.0], requires_grad=True)           # no gradient yet: left alone
    opt = optim.SGD([a, b], lr=1.0)
    opt.step()
    assert a.item() == -2.0 and b.item() == 2.0
    opt.zero_grad(set_to_none=False)
    assert a.grad.item() == 0.0 and b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_optimizer_argument_errors():
    with pytest.raises(InvalidArgumentError):
        optim.SGD([], lr=0.1)
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(InvalidArgumentError):
        optim.Adam([x * 2])
    with pytest.raises(InvalidArgumentError):
        optim.SGD([x], lr=0.0)


def test_tiny_mlp_training_reduces_the_loss():
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(32, 4))
    labels = (x0[:, 0] * x0[:, 1] > 0).astype(int)            # XOR-like: needs the hidden layer
    model = nn.Sequential(nn.Linear(4, 16, rng=rng), nn.ReLU(), nn.Linear(16, 2, rng=rng))
    for opt in (optim.SGD(model.parameters(), lr=0.2, momentum=0.9),
                optim.Adam(model.parameters(), lr=0.02)):
        losses = []
        for _ in range(40):
            loss = nn.cross_entropy(model(cr.tensor(x0)), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.6 * losses[0]
    with cr.no_grad():
        accuracy = np.mean(model(cr.tensor(x0)).numpy().argmax(axis=1) == labels)
    assert accuracy > 0.9


def test_one_training_step_matches_functional_gradient():
    rng = np.random.default_rng(5)
    x0, labels = rng.normal(size=(8, 3)), rng.integers(2, size=8)
    layer = nn.Linear(3, 2, rng=rng)
    w0, b0 = layer.weight.data.copy(), layer.bias.data.copy()
    nn.cross_entropy(layer(cr.tensor(x0)), labels).backward()
    gw, gb = cr.grad(lambda w, b: nn.cross_entropy(x0 @ w.T + b, labels), argnums=(0, 1))(w0, b0)
    optim.SGD(layer.parameters(), lr=0.5).step()
    np.testing.assert_allclose(layer.weight.data, w0 - 0.5 * gw, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.data, b0 - 0.5 * gb, rtol=1e-12)


# -- the example ------------------------------------------------------------------------------
def test_mlp_digits_example_runs_briefly():
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "mlp_digits.py"
    spec = importlib.util.spec_from_file_location("mlp_digits", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    _, acc, history = example.train(epochs=2, verbose=False)
    assert acc > 0.85 and history[1] < history[0]


def test_cnn_digits_example_runs_briefly():
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "cnn_digits.py"
    spec = importlib.util.spec_from_file_location("cnn_digits", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    _, acc, history = example.train(epochs=2, verbose=False)
    assert acc > 0.9 and history[1] < history[0]
