"""The entries of a Hessian pattern, gathered from the second-order terms of the sparsity
interpreter's tape (interpreters/sparsity.py, ``hessian_pattern``).

A term ``Ra^T diag(keep) Rb`` couples, for every kept row, each input that row of ``Ra`` reads
with each input that row of ``Rb`` reads: its entries are pairs of column indices, and the
pattern is their union over all terms. The diagonal is kept as one flag per input; the other
entries as keys ``row * n + col``, sorted once at the end (each term hands in a few sorted
runs, which a stable sort merges in linear time).

Dense couplings are the costly case: ``sum(x) ** 2`` is one row reading all n inputs (n^2
pairs), ``tanh(A @ x)`` with a dense A is n such rows (n^3 pairs, n^2 distinct). Four things
keep them cheap and the memory bounded:

* a kept row reading every input makes the pattern full at once (no pairs made at all);
* a large symmetric term keeps only its distinct rows (A @ x: n equal rows, one pairing);
* pairs are made a block of rows at a time (``PAIR_CHUNK`` pairs or so), never all at once;
* once the keys would take more memory than a flag per entry of the n x n matrix, the entries
  are flags (no sort), and a flag matrix that fills up ends the gathering as full.
"""
import numpy as np
import scipy.sparse as sp

from .sparsity import Pattern, key_dtype, pair_entries, split_keys, take_rows

# rows up to this long are paired column by column (w(w-1)/2 array operations over the rows);
# longer ones a block of rows at a time, in O(pairs) array operations
PAIR_LOOP_WIDTH = 8
PAIR_CHUNK = 1 << 22        # pairs made at once: blocks of rows cut where the running count
                            # passes a multiple of it (under twice as many, or a single row)
MERGE_KEYS = 1 << 24        # keys held before they are merged (sorted, repeats dropped)


class PairSet:
    """The entries of an (n, n) pattern as the terms add them; ``csr(graph)`` the result."""

    def __init__(self, n):
        self.n = n
        self.diag = np.zeros(n, bool)
        self.off, self.pending = [], 0
        self.flags = None       # (n*n,) flags off the diagonal, once keys would take more
        self.full = False

    def add(self, Ra, Rb, keep):
        """Add the entries of ``Ra^T diag(keep) Rb`` and of its transpose. -> True once the
        pattern is full (nothing further can change it)."""
        if Ra is Rb and _reads_all(Ra, keep, self.n):
            self.full = True
        else:
            for keys in term_keys(Ra, Rb, keep, self.n, self.diag):
                self._store(keys)
                if self.flags is not None and self.diag.all() and \
                        np.count_nonzero(self.flags) == self.n * (self.n - 1):
                    self.full = True
                    break
        return self.full

    def _store(self, keys):
        n = self.n
        if self.flags is not None:
            for k in keys:
                self.flags[k] = True
            return
        self.off.extend(keys)
        self.pending += sum(k.size for k in keys)
        if self.pending > n * n // 4:       # a dense coupling: flags, no sort
            self.flags = np.zeros(n * n, bool)
            for k in self.off:
                self.flags[k] = True
            self.off, self.pending = [], 0
        elif self.pending > MERGE_KEYS:     # merge now and then: bounded memory
            self.off, self.pending = [_sorted_unique(np.concatenate(self.off))], 0

    def csr(self, graph=False):
        """The pattern as a canonical boolean ``scipy.sparse.csr_array``; with ``graph`` also
        its adjacency graph (the entries off the diagonal): ``(H, G)``."""
        n = self.n
        if self.full:
            return _full_pattern(n, graph)
        diag = self.diag
        d = np.flatnonzero(diag).astype(key_dtype(n, n))
        d *= n + 1
        if self.flags is not None:
            flags, self.flags = self.flags, None
            flags[d] = True
            keys = np.flatnonzero(flags).astype(d.dtype, copy=False)
            del flags, d
        else:
            off, self.off = self.off, []
            off.append(d)
            keys = np.concatenate(off)
            del off[:], d
            keys = _sorted_unique(keys)
        nnz = keys.size
        r, c = split_keys(keys, n, n, inplace=True)
        small = nnz < 1 << 31 and n < 1 << 31       # scipy's own index type then
        itype = np.int32 if small else np.int64
        indptr = np.zeros(n + 1, itype)
        if nnz:                 # rows sorted: each present row starts where the row changes
            first = np.flatnonzero(np.concatenate([[True], r[1:] != r[:-1]]))
            indptr[r[first] + 1] = np.diff(np.append(first, nnz))
            np.cumsum(indptr, out=indptr)
        c = c.astype(itype, copy=False)
        H = sp.csr_array((np.ones(nnz, bool), c, indptr), shape=(n, n))
        if not graph:
            return H
        # the adjacency graph: each row with a diagonal entry loses that one entry
        g_indptr = indptr - np.concatenate([[0], np.cumsum(diag, dtype=itype)])
        g_indices = c[r != c]
        return H, sp.csr_array((np.ones(g_indices.size, bool), g_indices, g_indptr),
                               shape=(n, n))


def term_keys(Ra, Rb, keep, n, diag):
    """The entries of one second-order term ``Ra^T diag(keep) Rb`` (and of its transpose):
    diagonal ones set in ``diag``, the others yielded as lists of key arrays, a block of rows
    at a time. A symmetric term (``Ra is Rb``) of short rows of one length is taken column pair
    by column pair; a large one keeps only its distinct rows first."""
    kd = key_dtype(n, n)
    if Ra is Rb and Ra.width and Ra.width <= PAIR_LOOP_WIDTH:
        A = Ra.grid() if keep.all() else Ra.grid()[keep]
        diag[A.ravel()] = True
        keys = []
        for p in range(A.shape[1]):
            for q in range(p + 1, A.shape[1]):
                a, b = A[:, p].astype(kd), A[:, q].astype(kd)
                keys += [a * n + b, b * n + a]
        yield keys
        return
    if not keep.all():
        rows = np.flatnonzero(keep)
        Ra, Rb = (take_rows(Ra, rows),) * 2 if Ra is Rb else \
            (take_rows(Ra, rows), take_rows(Rb, rows))
    cost = np.diff(Ra.indptr) * np.diff(Rb.indptr)
    if Ra is Rb and cost.sum() > PAIR_CHUNK:
        Ra = Rb = _distinct_rows(Ra)
        cost = np.diff(Ra.indptr) ** 2
    ends = np.cumsum(cost)
    cuts = np.searchsorted(ends, np.arange(PAIR_CHUNK, int(ends[-1]), PAIR_CHUNK))
    bounds = np.unique(np.concatenate([[0], cuts, [Ra.nrows]]))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if hi - lo == Ra.nrows:
            A, B = Ra, Rb
        else:
            A = take_rows(Ra, np.arange(lo, hi))
            B = A if Ra is Rb else take_rows(Rb, np.arange(lo, hi))
        a, b = pair_entries(A, B, np.ones(hi - lo, bool))
        on = a == b
        diag[a[on]] = True
        a, b = a[~on].astype(kd), b[~on].astype(kd)
        yield [a * n + b, b * n + a] if A is not B else [a * n + b]


def _distinct_rows(R):
    """The pattern of the distinct rows of ``R`` (rows of several lengths padded with -1 to
    the longest for the comparison, where that costs no more than the pairs would)."""
    if R.width:
        return Pattern.from_grid(np.unique(R.grid(), axis=0), R.ncols)
    counts = np.diff(R.indptr)
    longest = int(counts.max(initial=0))
    if R.nrows * longest > 2 * int(np.sum(counts.astype(np.int64) ** 2)):
        return R
    grid = np.full((R.nrows, longest), -1, R.indices.dtype)
    grid[np.arange(longest) < counts[:, None]] = R.indices
    grid = np.unique(grid, axis=0)
    valid = grid >= 0
    indptr = np.zeros(grid.shape[0] + 1, np.int64)
    np.cumsum(valid.sum(axis=1), out=indptr[1:])
    return Pattern(indptr, grid[valid], R.ncols)


def _reads_all(R, keep, n):
    """Whether a kept row of pattern ``R`` holds all n columns (rows hold no repeats)."""
    if R.width is not None:
        return R.width == n
    return bool(np.diff(R.indptr)[keep].max(initial=0) == n)


def _full_pattern(n, graph):
    """The dense (n, n) pattern (and its graph) as ``PairSet.csr`` returns it: row i of the
    graph is every j but i."""
    itype = np.int32 if n * n < 1 << 31 else np.int64
    H = sp.csr_array((np.ones(n * n, bool), np.tile(np.arange(n, dtype=itype), n),
                      np.arange(n + 1, dtype=itype) * n), shape=(n, n))
    if not graph:
        return H
    j = np.tile(np.arange(max(n - 1, 0), dtype=itype), n).reshape(n, max(n - 1, 0))
    j += j >= np.arange(n, dtype=itype)[:, None]
    return H, sp.csr_array((np.ones(j.size, bool), j.ravel(),
                            np.arange(n + 1, dtype=itype) * (n - 1)), shape=(n, n))


def _sorted_unique(keys):
    """The distinct values of ``keys`` (an array of one's own, sorted in place), sorted."""
    keys.sort(kind="stable")
    step = keys[1:] != keys[:-1]
    return keys if step.all() else keys[np.concatenate([[True], step])]
