"""Linear algebra: dot_general, a two-operand contraction written as an einsum spec.

``spec`` is explicit: ``"ij,jk->ik"``, letters only, no ellipsis and no letter repeated within
one operand (the NumPy layer expands matmul, dot, tensordot, einsum, ... into this form). A
letter in both operands and the output is a batch axis; in both operands but not the output, a
contracted axis; in one operand only and not the output, summed first. The implementation
reshapes to one batched matrix product (BLAS), never an einsum loop.

Rules: ``dot_general_jvp(primals, tangents, *, spec)`` (bilinear: a_dot.b + a.b_dot) and
``dot_general_transpose(ct, a, b, *, spec)`` (the contraction of the cotangent with the other
operand, itself a dot_general).
"""
import numpy as np

from ..core import Primitive, ShapedArray, Zero, bind, get_aval, is_undefined
from . import arithmetic as ar
from . import shape as sh


def parse_spec(spec):
    ins, out = spec.split("->")
    a, b = ins.split(",")
    return a, b, out


def _dot_general_impl(a, b, *, spec):
    a_s, b_s, o_s = parse_spec(spec)
    a_sum = tuple(i for i, c in enumerate(a_s) if c not in b_s and c not in o_s)
    if a_sum:
        a = np.sum(a, axis=a_sum)
        a_s = "".join(c for c in a_s if c in b_s or c in o_s)
    b_sum = tuple(i for i, c in enumerate(b_s) if c not in a_s and c not in o_s)
    if b_sum:
        b = np.sum(b, axis=b_sum)
        b_s = "".join(c for c in b_s if c in a_s or c in o_s)
    batch = [c for c in a_s if c in b_s and c in o_s]
    contract = [c for c in a_s if c in b_s and c not in o_s]
    free_a = [c for c in a_s if c not in b_s]
    free_b = [c for c in b_s if c not in a_s]
    size = dict(zip(a_s, np.shape(a)))
    size.update(zip(b_s, np.shape(b)))
    prod = lambda cs: int(np.prod([size[c] for c in cs], dtype=np.int64))  # noqa: E731
    a2 = np.transpose(a, [a_s.index(c) for c in batch + free_a + contract])
    b2 = np.transpose(b, [b_s.index(c) for c in batch + contract + free_b])
    a2 = np.reshape(a2, (prod(batch), prod(free_a), prod(contract)))
    b2 = np.reshape(b2, (prod(batch), prod(contract), prod(free_b)))
    r = np.matmul(a2, b2)
    r_s = batch + free_a + free_b
    r = np.reshape(r, [size[c] for c in r_s])
    return np.transpose(r, [r_s.index(c) for c in o_s])


def _dot_general_abstract(a, b, *, spec):
    a_s, b_s, o_s = parse_spec(spec)
    size = dict(zip(a_s, a.shape))
    size.update(zip(b_s, b.shape))
    return ShapedArray([size[c] for c in o_s], np.result_type(a.dtype, b.dtype))


dot_general_p = Primitive("dot_general", linear_in=(0, 1))
dot_general_p.impl = _dot_general_impl
dot_general_p.abstract_eval = _dot_general_abstract


def dot_general(a, b, *, spec):
    return bind(dot_general_p, a, b, spec=spec)


def dot_general_jvp(primals, tangents, *, spec):
    (a, b), (a_dot, b_dot) = primals, tangents
    out = dot_general(a, b, spec=spec)
    t = None
    if type(a_dot) is not Zero:
        t = dot_general(a_dot, b, spec=spec)
    if type(b_dot) is not Zero:
        t_b = dot_general(a, b_dot, spec=spec)
        t = t_b if t is None else ar.add(t, t_b)
    return out, t


def _transpose_operand(ct, other, target_aval, ct_s, other_s, target_s, ct_first):
    """Solve for one operand: contract ``ct`` with ``other`` down to ``target_s``; letters of
    the target that appear in neither (summed out of it alone) are broadcast back."""
    present = "".join(c for c in target_s if c in ct_s or c in other_s)
    spec = f"{ct_s},{other_s}->{present}" if ct_first else f"{other_s},{ct_s}->{present}"
    r = dot_general(ct, other, spec=spec) if ct_first else dot_general(other, ct, spec=spec)
    if present != target_s:
        kept = [target_aval.shape[i] if c in present else 1 for i, c in enumerate(target_s)]
        r = sh.broadcast_to(sh.reshape(r, shape=kept), target_aval.shape)
    return r


def dot_general_transpose(ct, a, b, *, spec):
    a_s, b_s, o_s = parse_spec(spec)
    if is_undefined(a):
        return _transpose_operand(ct, b, a.aval, o_s, b_s, a_s, True), None
    return None, _transpose_operand(ct, a, b.aval, o_s, a_s, b_s, False)


dot_general_p.jvp, dot_general_p.transpose = dot_general_jvp, dot_general_transpose
dot_general_p.deriv_class = ("linear", "linear", "cross")
