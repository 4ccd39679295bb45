"""``chainrule.scipy``: SciPy functions that SciPy does not dispatch to traced arrays, written
with chainrule's operations (``chainrule.scipy.linalg``, ``chainrule.scipy.special``,
``chainrule.scipy.stats``, ``chainrule.scipy.optimize``)."""
from . import linalg, special  # noqa: F401
from . import optimize, stats  # noqa: F401
