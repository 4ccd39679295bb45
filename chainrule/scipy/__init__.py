"""``chainrule.scipy``: SciPy functions that SciPy does not dispatch to traced arrays, written
with chainrule's operations (``chainrule.scipy.linalg``, ``chainrule.scipy.special``)."""
from . import linalg, special  # noqa: F401
