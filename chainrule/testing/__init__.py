"""Numerical checking of derivatives, for chainrule's own tests and for users' rules."""
from .check import check_grads, check_jvp, check_vjp, numerical_jvp  # noqa: F401
