"""Per-element structural zeros of a Tensor backward pass: the tape's form of
interpreters/structural.py.

The backward pass (autograd.py) tracks per cotangent whether it may hold a structural zero
("loose": a seed with zeros, the branch ``np.where`` did not take, an unread element, a 0/1
mask). Where a zero-safe product of a loose cotangent meets a factor that is actually infinite
(``cbrt(x) ** 3`` at 0 reached through ``y[0]``), the zeros of the cotangent are told apart
element by element: ``TapeZeros.mask`` runs the recorded linear maps again, from the seeds to
that point, on the indicator of the elements a non-structural contribution reaches, with the
rule of core.zeros.structural_part. Only the contributions to loose cotangents are noted on the
way (one tuple each); the masks are worked out only at such a point.
"""
import numpy as np

from ..core import structural_part
from .tape import eqn_starts

__all__ = ["TapeZeros"]


class TapeZeros:
    """The structural zeros of one Tensor backward pass's loose cotangents, on demand."""
    __slots__ = ("seeds", "uses", "loose", "maps", "memo")

    def __init__(self, seeds, loose):
        self.seeds = seeds          # key -> the cotangent it was seeded with
        self.uses = {}              # key -> [(node, input number)] that contributed to it
        self.loose = loose          # the backward pass's set of loose keys (shared)
        self.maps = {}              # node -> (eqns, outs, out keys, by_constant), kept alive
        self.memo = {}

    def note_node(self, node, out_keys, cts_out, by_constant):
        """Keep what ``node``'s masks need (its linear map outlives ``node.release()``)."""
        if node not in self.maps:
            shapes = [None if c is None else np.shape(c) for c in cts_out]
            self.maps[node] = (node.eqns, node.outs, node.count, out_keys, shapes, by_constant)

    def record(self, key, node, j):
        """Note that input ``j`` of ``node`` contributed to the cotangent of ``key``."""
        self.uses.setdefault(key, []).append((node, j))

    def mask(self, key, shape):
        """True where the cotangent of ``key`` (of ``shape``) is a structural zero."""
        found = self.memo.get(key)
        if found is not None:
            return found
        if key not in self.loose:
            result = np.zeros(shape, bool)
        else:
            result = None
            seed = self.seeds.get(key)
            if seed is not None:
                result = np.broadcast_to(np.equal(seed, 0), shape)
            for node, j in self.uses.get(key, ()):
                part = self.node_masks(node)[j]
                result = part if result is None else np.logical_and(result, part)
            if result is None:
                result = np.ones(shape, bool)
        self.memo[key] = result
        return result

    def node_masks(self, node):
        """The masks of every linear value of ``node``'s recorded map (its inputs first)."""
        found = self.memo.get(("node", node))
        if found is not None:
            return found
        eqns, outs, count, out_keys, shapes, by_constant = self.maps[node]
        masks = [None] * count
        for i, key, shape in zip(outs, out_keys, shapes):
            if i is not None and shape is not None:
                masks[i] = self.mask(key, shape)
        for k in reversed(eqn_starts(eqns)):
            prim, params, lin, out = eqns[k], eqns[k + 1], eqns[k + 2], eqns[k + 3]
            targs = eqns[k + 4:k + 4 + len(lin)]
            if type(out) is int and masks[out] is None:
                continue                            # no cotangent reached this equation
            for pos, j in enumerate(lin):
                if j is None:
                    continue
                shape = targs[pos].aval.shape
                if type(out) is not int:
                    part = np.zeros(shape, bool)      # several results: none is structural
                else:
                    part = structural_part(prim, params, masks[out], targs[pos].aval.dtype,
                                           targs, pos, by_constant, shape)
                masks[j] = part if masks[j] is None else np.logical_and(masks[j], part)
        self.memo[("node", node)] = masks
        return masks
