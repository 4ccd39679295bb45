"""Sparse Jacobians and Hessians: pattern detection, coloring, compressed sweeps.

    import chainrule as cr
    H = cr.sparse_hessian(f, x)               # scipy.sparse.csr_array, n x n
    prep = cr.prepare_sparse_hessian(f, x0)   # pattern + coloring once ...
    H = prep(x)                               # ... then prep.ncolors sweeps per point

``jacobian_sparsity``/``hessian_sparsity`` give the boolean patterns (global by default: valid
for every x); ``coloring`` holds the column, row, star and acyclic colorings.
"""
from .coloring import (Coloring, acyclic_coloring, column_coloring, is_acyclic_coloring,
                       is_column_coloring, is_star_coloring, row_coloring, star_coloring,
                       symmetric_column_coloring)
from .detect import hessian_sparsity, jacobian_sparsity
from .jacobian import (DensePatternWarning, SparseHessian, SparseJacobian, prepare_sparse_hessian,
                       prepare_sparse_jacobian, sparse_hessian, sparse_jacobian)

__all__ = ["jacobian_sparsity", "hessian_sparsity", "sparse_jacobian", "sparse_hessian",
           "prepare_sparse_jacobian", "prepare_sparse_hessian", "SparseJacobian",
           "SparseHessian", "Coloring", "column_coloring", "row_coloring", "star_coloring",
           "acyclic_coloring", "symmetric_column_coloring", "is_column_coloring",
           "is_star_coloring", "is_acyclic_coloring", "DensePatternWarning"]
