"""autograd.test_util's checkers, calling chainrule.testing.check_grads (central differences,
forward and reverse mode, recursively to ``order``)."""
from itertools import product

import numpy as np

from chainrule.testing import check_grads as _check_grads

TOL = 1e-6
RTOL = 1e-6


def scalar_close(a, b):
    return abs(a - b) < TOL or abs(a - b) / abs(a + b) < RTOL


def check_equivalent(x, y):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-6)


def check_grads(fun, argnum=0, modes=("fwd", "rev"), order=2):
    def check(*args, **kwargs):
        idx = tuple(argnum) if isinstance(argnum, (list, tuple)) else (argnum,)

        def f(*xs):
            new = list(args)
            for i, x in zip(idx, xs):
                new[i] = x
            return fun(*new, **kwargs)
        _check_grads(f, tuple(args[i] for i in idx), order=order, modes=tuple(modes))
    return check


def combo_check(fun, *args, **kwargs):
    def _combo_check(*cargs, **ckwargs):
        kwarg_key_vals = [[(k, x) for x in xs] for k, xs in ckwargs.items()]
        for _args in product(*cargs):
            for _kwargs in product(*kwarg_key_vals):
                check_grads(fun, *args, **kwargs)(*_args, **dict(_kwargs))
    return _combo_check
