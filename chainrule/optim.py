"""Optimizers for chainrule Tensors: ``SGD`` (with momentum) and ``Adam``.

    opt = chainrule.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        loss = chainrule.nn.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

``step()`` reads each parameter's ``.grad`` and updates the parameter in place under
``no_grad()`` (bumping its version counter, so a graph recorded before the update cannot be
differentiated silently at the new values). The optimizer state is plain NumPy arrays.
"""
import numpy as np

from .core.errors import InvalidArgumentError
from .tensor import Tensor, no_grad

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """Base class: holds the parameters (leaf Tensors that require grad) and a learning rate."""

    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise InvalidArgumentError("the optimizer got an empty list of parameters")
        for p in self.params:
            if not isinstance(p, Tensor) or not p.is_leaf or not p.requires_grad:
                raise InvalidArgumentError("optimizers take leaf Tensors that require grad, "
                                           "e.g. model.parameters()")
        if lr <= 0:
            raise InvalidArgumentError(f"the learning rate must be positive, got {lr}")
        self.lr = lr

    def zero_grad(self, set_to_none=True):
        """Forget the parameters' gradients: ``p.grad = None`` (default) or zero them."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.zero_()

    def step(self):
        """Update every parameter that has a gradient, in place."""
        with no_grad():
            for i, p in enumerate(self.params):
                if p.grad is not None:
                    p.sub_(self._update(i, p.data, p.grad.data))

    def _update(self, i, p, g):
        """The step to subtract from parameter ``i`` (value ``p``, gradient ``g``, arrays)."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay:
    ``g <- grad + weight_decay * p``, ``v <- momentum * v + g``, ``p <- p - lr * v`` (or
    ``p - lr * (g + momentum * v)`` with ``nesterov=True``)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise InvalidArgumentError("momentum and weight_decay must be non-negative")
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.velocity = [None] * len(self.params)

    def _update(self, i, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            v = g if self.velocity[i] is None else self.momentum * self.velocity[i] + g
            self.velocity[i] = v
            g = g + self.momentum * v if self.nesterov else v
        return self.lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba): moment estimates ``m <- b1 m + (1 - b1) g``,
    ``v <- b2 v + (1 - b2) g**2``, bias-corrected, and ``p <- p - lr m_hat / (sqrt(v_hat) +
    eps)``; ``weight_decay`` adds ``weight_decay * p`` to the gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise InvalidArgumentError(f"betas must lie in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = (b1, b2), eps, weight_decay
        self.m = [np.zeros(p.shape) for p in self.params]
        self.v = [np.zeros(p.shape) for p in self.params]
        self.steps = [0] * len(self.params)

    def _update(self, i, p, g):
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p
        self.steps[i] += 1
        t = self.steps[i]
        self.m[i] = b1 * self.m[i] + (1 - b1) * g
        self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
        m_hat = self.m[i] / (1 - b1 ** t)
        v_hat = self.v[i] / (1 - b2 ** t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
