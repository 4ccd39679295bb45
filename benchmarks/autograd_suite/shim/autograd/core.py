from .extend import defvjp, primitive, primitive_vjps  # noqa: F401
from . import make_vjp  # noqa: F401
