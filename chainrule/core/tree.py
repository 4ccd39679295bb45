"""Pytrees: nested containers of arrays at the edge of every transformation.

Transformations accept and return nested tuples, lists, dicts, namedtuples, None and registered
classes (``register_pytree_node``, ``register_dataclass``). They flatten them to a list of leaves
plus a ``TreeDef`` that can rebuild the structure; the core only ever sees the flat list.
Dict keys are sorted, so two dicts with the same keys flatten the same way.
"""
import dataclasses

from .errors import ShapeMismatchError

# type -> (flatten(x) -> (children, aux), unflatten(aux, children) -> x)
_registry = {}


def register_pytree_node(cls, flatten, unflatten):
    """Register ``cls`` as a container: ``flatten(x) -> (children, aux)``,
    ``unflatten(aux, children) -> x``. ``aux`` must be hashable and comparable."""
    _registry[cls] = (flatten, unflatten)


def register_dataclass(cls):
    """Register a dataclass whose fields are all children (usable as a decorator)."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    register_pytree_node(
        cls,
        lambda x: ([getattr(x, n) for n in names], None),
        lambda _, children: cls(**dict(zip(names, children))))
    return cls


register_pytree_node(tuple, lambda x: (list(x), None), lambda _, c: tuple(c))
register_pytree_node(list, lambda x: (list(x), None), lambda _, c: list(c))
register_pytree_node(type(None), lambda x: ([], None), lambda _, c: None)


def _dict_flatten(x):
    keys = sorted(x)
    return [x[k] for k in keys], tuple(keys)


register_pytree_node(dict, _dict_flatten, lambda keys, c: dict(zip(keys, c)))


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


class TreeDef:
    """The structure of a pytree: a node type, its aux data and child TreeDefs (None: a leaf)."""
    __slots__ = ("node_type", "aux", "children", "num_leaves")

    def __init__(self, node_type, aux, children):
        self.node_type = node_type
        self.aux = aux
        self.children = children
        self.num_leaves = (1 if node_type is None
                           else sum(c.num_leaves for c in children))

    def __eq__(self, other):
        return (isinstance(other, TreeDef) and self.node_type == other.node_type
                and self.aux == other.aux and self.children == other.children)

    def __hash__(self):
        return hash((self.node_type, self.aux, tuple(self.children)))

    def __repr__(self):
        if self.node_type is None:
            return "*"
        inner = ", ".join(map(repr, self.children))
        return f"{self.node_type.__name__}({inner})"


LEAF = TreeDef(None, None, ())


def tree_flatten(tree, is_leaf=None):
    """``tree -> (leaves, treedef)``. ``is_leaf(x)`` may stop the descent at ``x``."""
    leaves = []
    treedef = _flatten(tree, leaves, is_leaf)
    return leaves, treedef


def _flatten(x, leaves, is_leaf):
    cls = type(x)
    entry = _registry.get(cls)
    if is_leaf is not None and is_leaf(x):
        entry = None
    elif entry is None and _is_namedtuple(x):
        children = [_flatten(c, leaves, is_leaf) for c in x]
        return TreeDef(cls, None, tuple(children))
    if entry is None:
        leaves.append(x)
        return LEAF
    kids, aux = entry[0](x)
    return TreeDef(cls, aux, tuple(_flatten(c, leaves, is_leaf) for c in kids))


def broadcast_prefix(prefix, tree, is_leaf=None):
    """The leaves of ``prefix``, a tree whose structure is a prefix of ``tree``'s, repeated so
    that there is one per leaf of ``tree`` (as for JAX's ``in_axes``). Raises
    ShapeMismatchError when ``prefix`` is not a prefix of ``tree``."""
    p_leaves, p_def = tree_flatten(prefix, is_leaf)
    _, t_def = tree_flatten(tree)
    out, it = [], iter(p_leaves)

    def expand(p, t):
        if p.node_type is None:
            out.extend([next(it)] * t.num_leaves)
        elif p.node_type != t.node_type or p.aux != t.aux or len(p.children) != len(t.children):
            raise ShapeMismatchError(f"{p_def} is not a prefix of the structure {t_def}")
        else:
            for pc, tc in zip(p.children, t.children):
                expand(pc, tc)
    expand(p_def, t_def)
    return out


def tree_unflatten(treedef, leaves):
    """Inverse of ``tree_flatten``."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    return out


def _unflatten(td, it):
    if td.node_type is None:
        return next(it)
    children = [_unflatten(c, it) for c in td.children]
    entry = _registry.get(td.node_type)
    if entry is None:  # namedtuple
        return td.node_type(*children)
    return entry[1](td.aux, children)


def tree_leaves(tree):
    return tree_flatten(tree)[0]


def tree_map(f, tree, *rest):
    """Apply ``f`` leafwise to ``tree`` and trees of the same structure ``rest``."""
    leaves, td = tree_flatten(tree)
    others = [tree_flatten(r) for r in rest]
    for ls, t in others:
        if t != td:
            raise ShapeMismatchError(f"tree structures differ: {td} vs {t}")
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *[ls for ls, _ in others])])
