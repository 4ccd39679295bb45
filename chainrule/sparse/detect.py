"""Sparsity patterns of Jacobians and Hessians, from the sparsity interpreter.

Inputs and outputs may be arrays of any shape or pytrees of them: rows and columns number their
elements in C order, leaf after leaf (the order of ``chainrule.tree_flatten``).
"""
import numbers

import numpy as np

from ..core.arrays import is_dask
from ..core.errors import LazyComputeError
from ..core import (InvalidArgumentError, NonDifferentiableInputError, get_aval,
                    is_differentiable_dtype, tree_flatten, tree_unflatten)
from ..interpreters.sparsity import sparsity_flat

MODES = ("global", "local")


def as_inputs(x, fname):
    """Flatten the pytree ``x`` into float leaves (Python numbers become float64 arrays)."""
    leaves, treedef = tree_flatten(x)
    out = []
    for leaf in leaves:
        if isinstance(leaf, bool):
            raise NonDifferentiableInputError(f"{fname}: a bool is not differentiable")
        if isinstance(leaf, numbers.Number) and not hasattr(leaf, "dtype"):
            leaf = np.float64(leaf)
        if is_dask(leaf):
            raise LazyComputeError(
                f"{fname}: sparse Jacobians and Hessians are scipy.sparse matrices of values, and "
                "local sparsity detection reads values, so a Dask array would be computed "
                "here; pass x.compute() to work in memory, or a NumPy array of the same shape "
                "for the global pattern (it depends on shapes only), and use chainrule.jvp / "
                "vjp / hvp for lazy products with Dask arrays")
        leaf = np.asarray(leaf) if not hasattr(leaf, "dtype") else leaf
        if not is_differentiable_dtype(get_aval(leaf).dtype):
            raise NonDifferentiableInputError(
                f"{fname}: inputs must be floating point, got dtype {get_aval(leaf).dtype}; "
                "convert with x.astype(float)")
        out.append(leaf)
    return out, treedef


def flat_function(f, treedef, box=None):
    """``f`` of a pytree as a function of a flat list of leaves returning a flat list."""
    def flat(ins):
        out_leaves, out_def = tree_flatten(f(tree_unflatten(treedef, ins)))
        if box is not None:
            box[:] = [out_def, [get_aval(o) for o in out_leaves]]
        return out_leaves
    return flat


def _check_mode(fname, mode):
    if mode not in MODES:
        raise InvalidArgumentError(f"{fname}: mode must be 'global' or 'local', got {mode!r}")
    return mode == "local"


def jacobian_sparsity(f, x, mode="global", return_info=False):
    """The sparsity pattern of the Jacobian of ``f`` at ``x``: a boolean
    ``scipy.sparse.csr_array`` of shape ``(m, n)``, m the number of output elements and n the
    number of input elements; entry (i, j) is True if output i may depend on input j.

    ``mode="global"`` (default): a pattern valid for every x (only shapes are used; Python
    control flow on traced values raises ConcretizationError). ``mode="local"``: the pattern at
    this x, following its control flow and refining where values decide (``np.where``).
    With ``return_info=True`` also returns a dict; ``info["fallbacks"]`` names the primitives
    that had no sparsity rule and were taken as dense (every output reading every input)."""
    local = _check_mode("jacobian_sparsity", mode)
    leaves, treedef = as_inputs(x, "jacobian_sparsity")
    J, _, fallbacks = sparsity_flat(flat_function(f, treedef), leaves, local=local)
    return (J, {"fallbacks": sorted(fallbacks)}) if return_info else J


def hessian_sparsity(f, x, mode="global", return_info=False):
    """The sparsity pattern of the Hessian of scalar ``f`` at ``x``: a symmetric boolean
    ``scipy.sparse.csr_array`` of shape ``(n, n)``; entry (i, j) is True if the second
    derivative with respect to inputs i and j may be nonzero. Each primitive's derivative class
    (zero, linear, nonlinear, cross) decides which pairs it couples, counted only where its
    result reaches the output through nonzero derivatives. ``mode`` and ``return_info`` as in
    ``jacobian_sparsity``. For a non-scalar ``f`` the union over its elements."""
    local = _check_mode("hessian_sparsity", mode)
    leaves, treedef = as_inputs(x, "hessian_sparsity")
    _, H, fallbacks = sparsity_flat(flat_function(f, treedef), leaves, local=local,
                                    hessian=True)
    return (H, {"fallbacks": sorted(fallbacks)}) if return_info else H
