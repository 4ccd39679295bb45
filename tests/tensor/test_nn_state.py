"""chainrule.nn beyond parity: state dicts and save/load, modes, dtype conversion, apply, init,
constructors and seeding, in-place version checks, and convolutions under every mode of the
functional core."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.core.errors import InvalidArgumentError, ShapeMismatchError
from chainrule.tensor import InplaceModificationError


def _model():
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(8, 3))


def test_state_dict_save_load_roundtrip(tmp_path):
    cr.manual_seed(0)
    a, b = _model(), _model()
    x = cr.randn(5, 1, 4, 4)
    a(x)                                   # training mode: updates the running statistics
    keys = list(a.state_dict())
    assert keys == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                    "1.running_var", "1.num_batches_tracked", "6.weight", "6.bias"]
    cr.save(a.state_dict(), tmp_path / "m.pt")
    b.load_state_dict(cr.load(tmp_path / "m.pt"))
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert int(b.state_dict()["1.num_batches_tracked"].item()) == 1
    with pytest.raises(InvalidArgumentError, match="missing keys"):
        b.load_state_dict({"0.weight": a.state_dict()["0.weight"]})
    with pytest.raises(ShapeMismatchError):
        b.load_state_dict({**a.state_dict(), "6.bias": np.zeros(4)})


def test_load_refuses_arbitrary_objects_by_default(tmp_path):
    cr.save({"f": np.sin}, tmp_path / "bad.pt")
    import pickle
    with pytest.raises(pickle.UnpicklingError, match="weights_only"):
        cr.load(tmp_path / "bad.pt")
    assert cr.load(tmp_path / "bad.pt", weights_only=False)["f"] is np.sin
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    cr.save([t, (t * 2,)], tmp_path / "t.pt")
    u, (v,) = cr.load(tmp_path / "t.pt")
    assert u.requires_grad and v.is_leaf and not v.requires_grad
    np.testing.assert_array_equal(v.data, [2.0, 4.0])


def test_train_eval_to_apply_and_parameters():
    m = _model()
    assert m.training and all(c.training for c in m.modules())
    m.eval()
    assert not any(c.training for c in m.modules())
    x = cr.randn(2, 1, 4, 4)
    np.testing.assert_array_equal(m(x).data, m(x).data)       # no dropout in eval mode
    m.to(np.float32)
    assert all(p.dtype == np.float32 for p in m.parameters())
    assert m.state_dict()["1.running_var"].dtype == np.float32
    m.double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Sequential" and seen[0] == "Conv2d"
    m.apply(lambda mod: nn.init.zeros_(mod.bias) if isinstance(mod, nn.Linear) else None)
    assert np.all(m[6].bias.data == 0)
    assert isinstance(m[0].weight, nn.Parameter) and m[0].weight.is_leaf
    lst = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 1)])
    assert [n for n, _ in lst.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                      "1.bias"]


def test_init_functions_follow_their_formulas():
    cr.manual_seed(3)
    w = nn.Parameter(np.zeros((300, 200)))
    nn.init.xavier_uniform_(w)
    bound = np.sqrt(6 / 500)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.95 * bound
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.data.std() - np.sqrt(2 / 200)) < 0.01 * np.sqrt(2 / 200) * 5
    nn.init.constant_(w, 0.5)
    assert np.all(w.data == 0.5) and w.grad is None


def test_constructors_and_seed():
    cr.manual_seed(7)
    a = cr.randn(3, 2)
    cr.manual_seed(7)
    np.testing.assert_array_equal(cr.randn((3, 2)).data, a.data)
    assert cr.zeros(2, 3).shape == (2, 3) and cr.ones(4).data.sum() == 4
    assert cr.full((2,), 3.5).data.tolist() == [3.5, 3.5]
    assert cr.arange(5).dtype == np.int64 and cr.arange(0.0, 1.0, 0.25).shape == (4,)
    np.testing.assert_allclose(cr.linspace(0, 1, 5).data, [0, 0.25, 0.5, 0.75, 1])
    r = cr.randint(0, 4, (100,))
    assert r.dtype == np.int64 and r.data.min() >= 0 and r.data.max() < 4
    u = cr.rand(1000)
    assert 0 <= u.data.min() and u.data.max() < 1
    x = cr.zeros(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf


def test_inplace_methods_check_versions():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    with pytest.raises(InplaceModificationError):
        x.clamp_(0, 1)
    z = cr.tensor([1.0, 2.0])
    w = x * z
    with cr.no_grad():
        z.exp_()
    with pytest.raises(InplaceModificationError, match="modified in place"):
        w.sum().backward()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


@pytest.mark.parametrize("layer", ["conv2d", "max_pool2d", "avg_pool2d", "conv1d"])
def test_layers_differentiate_in_every_mode(layer):
    rng = np.random.default_rng(0)
    F = nn.functional
    if layer == "conv1d":
        w0 = rng.standard_normal((2, 2, 3))
        x0 = rng.standard_normal((1, 2, 7))

        def f(x):
            return np.sum(np.tanh(F.conv1d(x, w0, stride=2, padding=1)))
    else:
        w0 = rng.standard_normal((2, 2, 2, 2))
        x0 = rng.standard_normal((1, 2, 5, 4))

        def f(x):
            y = F.conv2d(x, w0, padding=1) if layer == "conv2d" else getattr(F, layer)(
                x, 2, stride=1)
            return np.sum(np.tanh(y))
    g_rev = cr.grad(f)(x0)
    v = rng.standard_normal(x0.shape)
    _, t = cr.jvp(f, (x0,), (v,))
    np.testing.assert_allclose(np.sum(g_rev * v), t, rtol=1e-10)
    eps = 1e-6
    fd = (f(x0 + eps * v) - f(x0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(t, fd, rtol=1e-5)
    x = cr.tensor(x0, requires_grad=True)
    f(x).backward()
    np.testing.assert_allclose(x.grad.data, g_rev, rtol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x0), g_rev, rtol=1e-12)
