"""The sweeps of a prepared sparse Jacobian or Hessian as one traceable program.

``prep(x)`` (jacobian.py) linearizes once and evaluates the linear graph per batch of seeds, in
NumPy, returning a ``scipy.sparse`` matrix: fast eagerly, but opaque to transformations.
``prep.compressed(x, *args)`` computes the same compressed matrix B (one row per color) with
chainrule's own transformations (a vmap of JVPs over the seeds, or of the pullback for row
colors, or of Hessian-vector products), so it can be traced: ``cr.jit(prep.compressed)``
stages all the sweeps as one program, and it can be differentiated with respect to ``x`` or
the extra arguments. ``prep.recover(B)`` turns B into the sparse matrix (NumPy, outside the
trace):

    prep = cr.prepare_sparse_jacobian(f, x0, args=(p0,))
    sweeps = cr.jit(prep.compressed)        # one compiled program for all colors
    J = prep.recover(sweeps(x, p))          # scipy.sparse.csr_array (m, n)
"""
from .. import api
from ..core import tree_flatten, tree_unflatten
from ..numpy import concatenate, ravel


def _flat(tree):
    """The leaves of a pytree (traced or not) as one 1-D vector."""
    leaves = tree_flatten(tree)[0]
    return ravel(leaves[0]) if len(leaves) == 1 else concatenate([ravel(v) for v in leaves])


class StagedSweeps:
    """Mixed into SparseJacobian and SparseHessian (which set f, args, treedef, in_avals,
    mode, coloring, _seed_matrix and _recover)."""

    @property
    def _seeds(self):
        """The seeds as a float array (ncolors, N), made at the first sweep (a dense fallback
        sweeps the identity without them) and kept: prepared objects sweep often."""
        if self._seed_matrix is None:
            self._seed_matrix = self.coloring.seeds()
        return self._seed_matrix

    def _bind(self, args):
        """``f`` with its extra arguments bound: a function of x alone."""
        f = self.f
        return f if not args else (lambda x: f(x, *args))

    def _seed_tree(self):
        """The seeds (ncolors, n) as the input pytree with a leading color axis."""
        leaves, start = [], 0
        for a in self.in_avals:
            leaves.append(self._seeds[:, start:start + a.size].reshape((-1,) + a.shape))
            start += a.size
        return tree_unflatten(self.treedef, leaves)

    def compressed(self, x, *args):
        """The compressed matrix at ``x`` (the prepared input structure) for ``f(x, *args)``
        (the prepared args when none are given): shape (ncolors, m) with rows ``J s_c`` for
        forward (column) colors, (ncolors, n) with rows ``s_c^T J`` for reverse (row) colors,
        (ncolors, n) with rows ``H s_c`` for a Hessian. Traceable: compose with ``jit``,
        ``grad``, ``vmap``. ``recover`` turns it into the sparse matrix."""
        g = self._bind(args or self.args)
        if self.mode == "rev":
            _, pullback = api.vjp(lambda u: _flat(g(u)), x)
            return api.vmap(lambda c: _flat(pullback(c)[0]))(self._seeds)
        inner = api.grad(g) if self.mode == "hessian" else g
        return api.vmap(lambda s: _flat(api.jvp(inner, (x,), (s,))[1]))(self._seed_tree())

    def recover(self, B):
        """The sparse matrix (``scipy.sparse.csr_array``) from a compressed matrix ``B`` as
        ``compressed`` returns it (a NumPy array: call it outside any trace)."""
        return self._recover(B)
