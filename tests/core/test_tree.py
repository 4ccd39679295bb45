import collections
import dataclasses

import numpy as np
import pytest

from chainrule.core import (ShapeMismatchError, register_dataclass, tree_flatten, tree_map,
                            tree_unflatten)

Point = collections.namedtuple("Point", "x y")


@register_dataclass
@dataclasses.dataclass
class Params:
    w: object
    b: object


@pytest.mark.parametrize("tree", [
    1.0, (1.0, 2.0), [1.0, (2.0, 3.0)], {"b": 1.0, "a": [2.0]}, Point(1.0, (2.0,)),
    Params(w=np.ones(2), b=3.0), None, (None, 1.0), {"k": Point(x=1.0, y=None)},
])
def test_roundtrip(tree):
    leaves, td = tree_flatten(tree)
    back = tree_unflatten(td, leaves)
    assert tree_flatten(back)[1] == td
    assert type(back) is type(tree)


def test_dict_keys_sorted_and_leaf_count():
    leaves, td = tree_flatten({"b": 2.0, "a": 1.0})
    assert leaves == [1.0, 2.0] and td.num_leaves == 2


def test_tree_map_structure_mismatch():
    assert tree_map(lambda a, b: a + b, (1, 2), (3, 4)) == (4, 6)
    with pytest.raises(ShapeMismatchError):
        tree_map(lambda a, b: a + b, (1, 2), [3, 4])
