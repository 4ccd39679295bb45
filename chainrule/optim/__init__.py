"""``chainrule.optim``: PyTorch's optimizers (``SGD``, ``Adam``, ``AdamW``, ``RMSprop``,
``Adagrad``, ``LBFGS``) and ``lr_scheduler``, with PyTorch's update formulas."""
from . import lr_scheduler
from .lbfgs import LBFGS
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS", "lr_scheduler"]
