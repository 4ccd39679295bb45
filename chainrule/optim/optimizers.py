"""Optimizers for chainrule Tensors, with PyTorch's update formulas: ``SGD``, ``Adam``,
``AdamW``, ``RMSprop``, ``Adagrad`` (``LBFGS`` is in lbfgs.py).

    opt = chainrule.optim.AdamW(model.parameters(), lr=1e-3)
    for x, y in batches:
        loss = chainrule.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

``step()`` reads each parameter's ``.grad`` and updates the parameter in place under
``no_grad()`` (bumping its version counter, so a graph recorded before the update cannot be
differentiated silently at the new values). Hyperparameters live in ``param_groups`` (a list
of dicts, one per group of parameters, as in PyTorch, so schedulers can change ``"lr"``); the
per-parameter state is plain NumPy arrays in ``state``.
"""
import numpy as np

from ..core.errors import InvalidArgumentError
from ..tensor import Tensor, no_grad

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


class Optimizer:
    """Base class: ``params`` is an iterable of leaf Tensors that require grad, or of dicts
    ``{"params": [...], "lr": ...}`` (parameter groups with their own hyperparameters);
    ``defaults`` fills what a group does not set."""

    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise InvalidArgumentError("the optimizer got an empty list of parameters")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group):
        group = dict(group)
        group["params"] = list(group["params"])
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.is_leaf or not p.requires_grad:
                raise InvalidArgumentError("optimizers take leaf Tensors that require grad, "
                                           "e.g. model.parameters()")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        if group["lr"] <= 0:
            raise InvalidArgumentError(f"the learning rate must be positive, got {group['lr']}")
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group):
        """Validate a group's hyperparameters (subclasses)."""

    @property
    def params(self):
        return [p for g in self.param_groups for p in g["params"]]

    @property
    def lr(self):
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        for g in self.param_groups:
            g["lr"] = value

    def zero_grad(self, set_to_none=True):
        """Forget the parameters' gradients: ``p.grad = None`` (default) or zero them."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros(p.shape, p.dtype))

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place. ``closure`` (optional)
        re-evaluates the loss with gradients first; its value is returned."""
        loss = None
        if closure is not None:
            from ..tensor import enable_grad
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        state = self.state.setdefault(id(p), {})
                        p.data = self._update(group, state, p.data, p.grad.data)
        return loss

    def _update(self, group, state, p, g):
        """The new value of a parameter (value ``p``, gradient ``g``, arrays)."""
        raise NotImplementedError

    def state_dict(self):
        """The hyperparameters per group and the state per parameter (by position)."""
        index = {id(p): i for i, p in enumerate(self.params)}
        return {"state": {index[k]: dict(v) for k, v in self.state.items() if k in index},
                "param_groups": [{k: v for k, v in g.items() if k != "params"}
                                 for g in self.param_groups]}

    def load_state_dict(self, state_dict):
        params = self.params
        for g, saved in zip(self.param_groups, state_dict["param_groups"]):
            g.update(saved)
        self.state = {id(params[i]): dict(v) for i, v in state_dict["state"].items()}


class SGD(Optimizer):
    """Stochastic gradient descent: ``g <- grad + weight_decay p``; with momentum
    ``b <- momentum b + (1 - dampening) g`` (``b = g`` at the first step) and ``g <- b`` (or
    ``g + momentum b`` with ``nesterov``); ``p <- p - lr g``."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check(self, group):
        if group["momentum"] < 0 or group["weight_decay"] < 0:
            raise InvalidArgumentError("momentum and weight_decay must be non-negative")

    def _update(self, group, state, p, g):
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        mu = group["momentum"]
        if mu:
            b = state.get("momentum_buffer")
            b = g if b is None else mu * b + (1 - group["dampening"]) * g
            state["momentum_buffer"] = b
            g = g + mu * b if group["nesterov"] else b
        return p - group["lr"] * g


def _betas(group):
    b1, b2 = group["betas"]
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise InvalidArgumentError(f"betas must lie in [0, 1), got {group['betas']}")


class Adam(Optimizer):
    """Adam (Kingma and Ba): ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g**2``,
    ``p <- p - lr m_hat / (sqrt(v_hat) + eps)`` with the bias corrections ``m_hat = m /
    (1 - b1**t)``, ``v_hat = v / (1 - b2**t)``; ``weight_decay`` adds ``weight_decay p`` to the
    gradient (L2); ``amsgrad`` uses the running maximum of ``v_hat``."""
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    _check = staticmethod(_betas)

    def _update(self, group, state, p, g):
        b1, b2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd and self._decoupled:
            p = p * (1 - lr * wd)
        elif wd:
            g = g + wd * p
        t = state["step"] = state.get("step", 0) + 1
        m = state["exp_avg"] = b1 * state.get("exp_avg", 0.0) + (1 - b1) * g
        v = state["exp_avg_sq"] = b2 * state.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
        if group["amsgrad"]:
            v = state["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", v), v)
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + group["eps"]
        return p - (lr / (1 - b1 ** t)) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): ``p <- p (1 - lr
    weight_decay)`` before the Adam step, which sees the plain gradient."""
    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Optimizer):
    """RMSprop: ``s <- alpha s + (1 - alpha) g**2``, ``p <- p - lr g / (sqrt(s) + eps)``;
    ``centered`` subtracts the square of the running mean of ``g`` inside the root;
    ``momentum`` keeps ``b <- momentum b + g / (...)`` and steps by ``lr b``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check(self, group):
        if not 0 <= group["alpha"] <= 1:
            raise InvalidArgumentError(f"alpha must lie in [0, 1], got {group['alpha']}")

    def _update(self, group, state, p, g):
        a = group["alpha"]
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        s = state["square_avg"] = a * state.get("square_avg", 0.0) + (1 - a) * g * g
        if group["centered"]:
            ga = state["grad_avg"] = a * state.get("grad_avg", 0.0) + (1 - a) * g
            avg = np.sqrt(s - ga * ga) + group["eps"]
        else:
            avg = np.sqrt(s) + group["eps"]
        if group["momentum"] > 0:
            b = state["momentum_buffer"] = group["momentum"] * state.get(
                "momentum_buffer", 0.0) + g / avg
            return p - group["lr"] * b
        return p - group["lr"] * g / avg


class Adagrad(Optimizer):
    """Adagrad: ``s <- s + g**2``, ``p <- p - lr_t g / (sqrt(s) + eps)`` with
    ``lr_t = lr / (1 + (t - 1) lr_decay)``."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _update(self, group, state, p, g):
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        t = state["step"] = state.get("step", 0) + 1
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        s = state["sum"] = state.get("sum", group["initial_accumulator_value"]) + g * g
        return p - clr * g / (np.sqrt(s) + group["eps"])
