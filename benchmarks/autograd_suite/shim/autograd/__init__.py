"""A thin name-mapping layer: autograd's public names on top of chainrule, so that autograd's
own test suite runs against chainrule (benchmarks/autograd_suite). No derivative rule lives
here; every function is a chainrule transformation with autograd's calling convention
(``argnum``, curried ``make_vjp(f)(x)``). ``autograd.numpy``, ``autograd.scipy.*`` and the
other submodules resolve to chainrule's modules first, then to NumPy's/SciPy's (see
``_finder``)."""
import builtins
import functools

import numpy as _np

import chainrule as _cr

from . import _finder  # noqa: F401  (installs the submodule mapping)


def _argnums(argnum):
    return tuple(argnum) if isinstance(argnum, (builtins.list, builtins.tuple)) else argnum


def _unary(make):
    """autograd's unary_to_nary: ``op(fun, argnum=0)(*args, **kwargs)``, ``make(f1, x)``
    differentiating ``f1`` of the one argument at ``x``."""
    def op(fun, argnum=0, *a, **kw):
        @functools.wraps(fun)
        def nary(*args, **kwargs):
            idx = _argnums(argnum)

            def unary(x):
                new = builtins.list(args)
                if isinstance(idx, builtins.tuple):
                    for i, xi in zip(idx, x):
                        new[i] = xi
                else:
                    new[idx] = x
                return fun(*new, **kwargs)
            x = builtins.tuple(args[i] for i in idx) if isinstance(idx, builtins.tuple) \
                else args[idx]
            return make(unary, x, *a, **kw)
        nary.__name__ = f"{make.__name__}_of_{getattr(fun, '__name__', 'fun')}"
        return nary
    op.__name__, op.__doc__ = make.__name__, make.__doc__
    return op


@_unary
def grad(f, x):
    return _cr.grad(f)(x)


@_unary
def holomorphic_grad(f, x):
    return _cr.grad(f, holomorphic=True)(x)


@_unary
def value_and_grad(f, x):
    return _cr.value_and_grad(f)(x)


@_unary
def grad_and_aux(f, x):
    g, aux = _cr.grad(f, has_aux=True)(x)
    return g, aux


@_unary
def jacobian(f, x):
    return _cr.jacobian(f)(x)


@_unary
def hessian(f, x):
    return _cr.hessian(f)(x)


@_unary
def elementwise_grad(f, x):
    out, pullback = _cr.vjp(f, x)
    return pullback(_np.ones_like(out))[0]


@_unary
def deriv(f, x):
    return _cr.jvp(f, (x,), (_np.ones_like(x),))[1]


@_unary
def make_vjp(f, x):
    out, pullback = _cr.vjp(f, x)
    return (lambda g: pullback(g)[0]), out


@_unary
def make_jvp(f, x):
    return lambda v: _cr.jvp(f, (x,), (v,))


def tensor_jacobian_product(fun, argnum=0):
    """``(*args, v) -> v . J``: the Jacobian contracted with ``v`` over the output axes."""
    def dot(*args, **kwargs):
        args, v = args[:-1], args[-1]
        return _np.tensordot(v, fun(*args, **kwargs), axes=_np.ndim(v))
    return jacobian(dot, argnum)


vector_jacobian_product = tensor_jacobian_product


def hessian_tensor_product(fun, argnum=0):
    """``(*args, v) -> H . v``."""
    g = grad(fun, argnum)

    def dot(*args, **kwargs):
        args, v = args[:-1], args[-1]
        return _np.tensordot(g(*args, **kwargs), v, _np.ndim(v))
    return grad(dot, argnum)


hessian_vector_product = hessian_tensor_product


@_unary
def make_hvp(f, x):
    return (lambda v: _cr.hvp(f, x, v)), f(x)


def make_ggnvp(f, g=lambda y: 0.5 * _np.sum(y ** 2), f_argnum=0):
    """``make_ggnvp(f, g)(*args)(v)``: J^T H_g J v, the generalized Gauss-Newton product."""
    def at(*args, **kwargs):
        def f1(x):
            new = builtins.list(args)
            new[f_argnum] = x
            return f(*new, **kwargs)
        x = args[f_argnum]

        def ggnvp(v):
            fx, f_dot = _cr.jvp(f1, (x,), (v,))
            return _cr.vjp(f1, x)[1](_cr.hvp(g, fx, f_dot))[0]
        return ggnvp
    return at


def multigrad_dict(fun):
    import inspect
    names = builtins.list(inspect.signature(fun).parameters)

    def gradfun(*args, **kwargs):
        bound = dict(zip(names, args), **kwargs)
        keys = builtins.list(bound)
        g = _cr.grad(lambda *vals: fun(**dict(zip(keys, vals))),
                     argnums=builtins.tuple(range(len(keys))))(*bound.values())
        return dict(zip(keys, g))
    return gradfun


checkpoint = _cr.checkpoint
isinstance = builtins.isinstance
list, tuple, dict = builtins.list, builtins.tuple, builtins.dict
