"""Numerical checking of derivatives, for chainrule's own tests and for users' rules."""
from .check import check_grads, check_jvp, check_vjp, numerical_jvp  # noqa: F401
from .primitives import check_primitive, missing_rules  # noqa: F401
