"""``chainrule.scipy``: SciPy functions that SciPy does not dispatch to traced arrays, written
with chainrule's operations (``chainrule.scipy.linalg``, ``chainrule.scipy.special``,
``chainrule.scipy.stats``, ``chainrule.scipy.optimize``, ``chainrule.scipy.signal``)."""
from . import linalg, special  # noqa: F401
from . import optimize, signal, stats  # noqa: F401
