"""Control of differentiation: stop_gradient.

``stop_gradient(x)`` is the identity on values with a Zero tangent, so nothing flows through it
in any mode.
"""
from ..core import Primitive, Zero, bind, get_aval, tangent_aval
from ._define import zero_taylor

stop_gradient_p = Primitive("stop_gradient")
stop_gradient_p.impl = lambda x: x
stop_gradient_p.abstract_eval = lambda x: x


def stop_gradient(x):
    """``x`` with its derivative cut: forward and reverse mode see a constant."""
    return bind(stop_gradient_p, x)


def stop_gradient_jvp(primals, tangents):
    (x,), _ = primals, tangents
    return stop_gradient(x), Zero(tangent_aval(get_aval(x)))


stop_gradient_p.jvp = stop_gradient_jvp
stop_gradient_p.batch = lambda vals, dims: (stop_gradient(vals[0]), dims[0])
stop_gradient_p.deriv_class = ("zero",)
stop_gradient_p.taylor = zero_taylor(stop_gradient_p)
