"""``chainrule.scipy``: SciPy functions that SciPy does not dispatch to traced arrays, written
with chainrule's operations (``chainrule.scipy.linalg``)."""
from . import linalg  # noqa: F401
